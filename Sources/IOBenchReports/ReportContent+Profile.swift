import Foundation
import IOBenchResults

/// `--profile` in the reports: per case, how much was sampled and where the CPU went.
extension ReportContent {
    public static func profileLines(_ cases: [CaseResult], top: Int = 6) -> [String] {
        var lines: [String] = []
        for c in cases {
            if let note = c.profileNote { lines.append("profile: \(c.label): not profiled: \(note)") }
            guard let p = c.profile else { continue }
            var head = "profile: \(c.label): \(p.samples) samples (\(p.event) at \(p.frequencyHz) Hz, \(p.threads) thread\(p.threads == 1 ? "" : "s"), \(p.lost) lost)"
            if let s = p.sampledCPUNs, let r = p.rusageCPUNs {
                head += String(format: "; sampled CPU %.1f ms, getrusage of the job threads %.1f ms", Double(s) / 1e6, Double(r) / 1e6)
            }
            lines.append(head)
            let fns = p.functions.prefix(top).map { f -> String in
                var t = String(format: "%@ %.1f%%", f.function, f.selfShare * 100)
                if let ns = f.selfNsPerRead { t += String(format: " (%.0f ns/read)", ns) }
                return t
            }
            lines.append("  by self: " + fns.joined(separator: ", "))
        }
        return lines
    }
}

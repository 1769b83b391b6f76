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
            let layers = p.layers.filter { $0.share >= 0.005 }.sorted { $0.share > $1.share }.map { l -> String in
                String(format: "%@ %.1f%%", l.layer, l.share * 100) + (l.nsPerRead.map { String(format: " (%.0f ns)", $0) } ?? "")
            }
            lines.append("  by layer: " + layers.joined(separator: ", "))
        }
        return lines
    }
}

extension ReportContent {
    /// One line per path-class comparison whose two cases were both profiled: where the
    /// class's CPU per read differs from its reference's, by kernel function (self time,
    /// the largest differences first) and by layer. Shares are turned into ns per read
    /// with each case's own CPU per read, so the differences add up to the change in CPU
    /// per read (up to the functions outside each profile's top list).
    public static func profileDifferences(_ r: RunResult, top: Int = 6) -> [String] {
        let byIdentity = Dictionary(r.cases.map { ($0.identity, $0) }, uniquingKeysWith: { a, _ in a })
        var lines: [String] = []
        for cmp in r.classComparisons ?? [] {
            guard let refID = cmp.referenceIdentity, let c = byIdentity[cmp.caseIdentity], let ref = byIdentity[refID],
                  let p = c.profile, let q = ref.profile else { continue }
            func perRead(_ s: ProfileSummary) -> [String: Double] {
                Dictionary(s.functions.compactMap { f in f.selfNsPerRead.map { (f.function, $0) } }, uniquingKeysWith: +)
            }
            let a = perRead(p), b = perRead(q)
            let deltas = Set(a.keys).union(b.keys).map { ($0, (a[$0] ?? 0) - (b[$0] ?? 0)) }
                .sorted { abs($0.1) != abs($1.1) ? abs($0.1) > abs($1.1) : $0.0 < $1.0 }
            let layerB = Dictionary(q.layers.map { ($0.layer, $0.nsPerRead ?? 0) }, uniquingKeysWith: +)
            let layerDeltas = p.layers.map { ($0.layer, ($0.nsPerRead ?? 0) - (layerB[$0.layer] ?? 0)) }
                .filter { abs($0.1) >= 1 }.sorted { abs($0.1) > abs($1.1) }
            func fmt(_ ns: Double) -> String { String(format: "%+.2f µs", ns / 1000) }
            lines.append("profile Δ \(c.label) vs \(ref.label) (CPU per read \(fmt((p.layers.compactMap(\.nsPerRead).reduce(0, +)) - (q.layers.compactMap(\.nsPerRead).reduce(0, +))))): "
                         + deltas.prefix(top).map { "\(fmt($0.1)) in \($0.0)" }.joined(separator: ", "))
            lines.append("  by layer: " + layerDeltas.prefix(top).map { "\($0.0) \(fmt($0.1))" }.joined(separator: ", "))
        }
        return lines
    }
}

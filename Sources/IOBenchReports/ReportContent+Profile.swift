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
            var cpu: [String] = []
            if let s = p.samplePeriodNs { cpu.append(String(format: "samples × period %.1f ms", Double(s) / 1e6)) }
            if let t = p.threadsCPUNs {
                cpu.append(String(format: "the sampled threads ran %.1f ms", Double(t) / 1e6)
                           + (p.samplePeriodNs.map { $0 > 0 ? String(format: " (%+.1f%%)", (Double(t) / Double($0) - 1) * 100) : "" } ?? ""))
            }
            if let r = p.rusageCPUNs { cpu.append(String(format: "getrusage of the job threads %.1f ms", Double(r) / 1e6)) }
            if !cpu.isEmpty { head += "; " + cpu.joined(separator: ", ") }
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
    /// The difference table's columns: a layer or function, how it was counted (layer;
    /// self; incl. = inclusive), both cases' ns per read, the difference and its 95%
    /// sampling interval.
    public static let profileDifferenceHeaders = ["where", "by", "class ns/read", "ref ns/read", "Δ ns/read", "95% ±"]

    public static let profileDifferenceLegend = "profile Δ: ns per read = share of the case's samples × its CPU per read; ± is the 95% interval of the sampling alone (binomial), not of run-to-run variation (the class table's ΔCPU µs/IO has that for the total, with --repeat 3 or more; the rounds' samples are added here); ~ marks a difference inside it; functions are ranked by |Δ| over ±, the most certain first, and frames with the same samples (a call chain) are listed once"

    /// One table per pair of profiled classes (`ProfileDifference.pairs`): a headline and
    /// rows for every layer either case spent time in, then the functions that differ
    /// most by self time and by inclusive time.
    public static func profileDifferenceTables(_ r: RunResult, selfTop: Int = 6, inclusiveTop: Int = 6) -> [(title: String, rows: [[String]])] {
        ProfileDifference.pairs(r).map { d in
            func cells(_ row: ProfileDifference.Row, _ by: String) -> [String] {
                [row.name, by, String(format: "%.0f", row.nsPerRead), String(format: "%.0f", row.referenceNsPerRead),
                 String(format: "%+.0f", row.delta) + (row.resolved ? "" : " ~"), String(format: "%.0f", row.halfWidth)]
            }
            var rows = d.layers.filter { $0.nsPerRead >= 1 || $0.referenceNsPerRead >= 1 }.map { cells($0, "layer") }
            rows += d.selfFunctions.prefix(selfTop).map { cells($0, "self") }
            rows += d.inclusiveFunctions.prefix(inclusiveTop).map { cells($0, "incl.") }
            return (profileHeadline(d), rows)
        }
    }

    /// "profile Δ A vs B (like for like; CPU per read 8.28 vs 6.20 µs, +2.08 µs): +0.90 µs
    /// in iomap_iter, ...": the most certain differences (self or inclusive), resolved ones only.
    public static func profileHeadline(_ d: ProfileDifference, top: Int = 4) -> String {
        func us(_ ns: Double) -> String { String(format: "%.2f", ns / 1000) }
        let pairing = d.likeForLike ? "like for like" : "against the simple class of the same engine setting"
        let named = (d.selfFunctions + d.inclusiveFunctions).filter(\.resolved).sorted { $0.certainty > $1.certainty }
        var seen = Set<String>()
        let top = named.filter { seen.insert($0.name).inserted }.prefix(top)
            .map { String(format: "%+.2f µs in %@", $0.delta / 1000, $0.name) }
        return "profile Δ \(d.caseLabel) vs \(d.referenceLabel) (\(pairing); CPU per read \(us(d.cpuNsPerRead)) vs \(us(d.referenceCPUNsPerRead)) µs, "
            + String(format: "%+.2f µs", (d.cpuNsPerRead - d.referenceCPUNsPerRead) / 1000) + ")"
            + (top.isEmpty ? ": no function differs beyond the sampling interval" : ": " + top.joined(separator: ", "))
    }
}

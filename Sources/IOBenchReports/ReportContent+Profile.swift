import Foundation
import IOBenchResults

/// `--profile` in the reports: per case, how much was sampled and where the CPU went.
extension ReportContent {
    public static func profileLines(_ cases: [CaseResult], top: Int = 6) -> [String] {
        var lines: [String] = []
        for c in cases {
            if let note = c.profileNote { lines.append("profile: \(c.label): " + (c.profile == nil ? "not profiled: " : "note: ") + note) }
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
            if let n = p.unsampledThreads, n > 0 {
                head += "; \(n) thread\(n == 1 ? "" : "s") NOT sampled (their CPU time is missing): \(p.unsampledReason ?? "unknown")"
            }
            lines.append(head)
            let fns = p.functions.prefix(top).map { f -> String in
                var t = String(format: "%@ %.1f%%", f.function, f.selfShare * 100)
                if let ns = f.selfNsPerRead { t += String(format: " (%.0f ns/read)", ns) }
                return t
            }
            guard p.samples > 0 else {
                lines.append("  no samples: the case ran too little CPU time at \(p.frequencyHz) Hz (raise --runtime or --profile-freq)")
                continue
            }
            lines.append("  by self: " + fns.joined(separator: ", "))
            let layers = p.layers.filter { $0.share >= 0.005 }.sorted { $0.share > $1.share }.map { l -> String in
                String(format: "%@ %.1f%%", l.layer, l.share * 100) + (l.nsPerRead.map { String(format: " (%.0f ns)", $0) } ?? "")
            }
            lines.append("  by layer: " + layers.joined(separator: ", "))
        }
        if cases.contains(where: { $0.profile?.event == "cpu-clock" }) { lines.append(cpuClockCaveat) }
        return lines
    }

    /// Said wherever cpu-clock profiles are shown: what a timer-driven sample cannot see.
    public static let cpuClockCaveat = "profile: cpu-clock (no PMU here) samples from a timer interrupt, which cannot fire while interrupts are off: interrupt and softirq time is under-counted, and time spent with interrupts off shows where they come back on (finish_task_switch, _raw_spin_unlock_irq*)"
}

extension ReportContent {
    /// The difference table's columns: a layer or function, how it was counted (layer;
    /// self; incl. = inclusive), both cases' ns per read, the difference and the
    /// half-width of its 95% interval over paired rounds.
    public static let profileDifferenceHeaders = ["where", "by", "class ns/read", "ref ns/read", "Δ ns/read", "95% ±"]

    public static let profileDifferenceLegend = "profile Δ: ns per read = share of a round's samples × its CPU per read, averaged over the rounds; Δ = mean of the per-round differences (rounds paired as in the class table), ± = half-width of its 95% t interval, which needs --repeat 2 or more (3 or more for a useful one): with one round there is none and a Δ is an observation, not a finding; ~ marks a difference the interval does not resolve; functions beyond 2× their ± come first, largest first (a function row under 2× its ± may be chance among hundreds of functions), then the rest by |Δ| over ± (by |Δ| with one round); frames with the same figures within 3% (a call chain) are listed once"

    /// One table per pair of profiled classes (`ProfileDifference.pairs`): a headline and
    /// rows for every layer either case spent time in, then the functions that differ
    /// most certainly by self time and by inclusive time.
    public static func profileDifferenceTables(_ r: RunResult) -> [(title: String, rows: [[String]])] {
        ProfileDifference.pairs(r).map { d in
            func cells(_ row: ProfileDifference.Row, _ by: String) -> [String] {
                [row.name, by, String(format: "%.0f", row.nsPerRead), String(format: "%.0f", row.referenceNsPerRead),
                 String(format: "%+.0f", row.delta) + (row.halfWidth != nil && !row.resolved ? " ~" : ""),
                 row.halfWidth.map { String(format: "%.0f", $0) } ?? "(n=1)"]
            }
            var rows = d.layers.filter { $0.nsPerRead >= 1 || $0.referenceNsPerRead >= 1 }.map { cells($0, "layer") }
            rows += d.selfFunctions.map { cells($0, "self") }
            rows += d.inclusiveFunctions.map { cells($0, "incl.") }
            return (profileHeadline(d), rows)
        }
    }

    /// "profile Δ A vs B (like for like; 3 rounds; CPU per read 8.28 vs 6.20 µs, +2.08 µs):
    /// +0.90 µs in iomap_iter, ...": the largest differences beyond twice their interval
    /// (else the most certain resolved ones); with one round, the largest, marked as
    /// unresolved.
    public static func profileHeadline(_ d: ProfileDifference, top: Int = 4) -> String {
        func us(_ ns: Double) -> String { String(format: "%.2f", ns / 1000) }
        let pairing = d.likeForLike ? "like for like" : "against the simple class of the same engine setting"
        let rounds = d.rounds == 1 ? "1 round, no interval" : "\(d.rounds) rounds"
        let all = d.selfFunctions + d.inclusiveFunctions
        let firm = all.filter(\.firm)
        let pool = d.rounds == 1 ? all.sorted { abs($0.delta) > abs($1.delta) }
            : !firm.isEmpty ? firm.sorted { abs($0.delta) > abs($1.delta) } : all.filter(\.resolved).sorted { $0.certainty > $1.certainty }
        var seen = Set<String>()
        let named = pool.filter { seen.insert($0.name).inserted }.prefix(top)
            .map { String(format: "%+.2f µs in %@", $0.delta / 1000, $0.name) }
        let head = "profile Δ \(d.caseLabel) vs \(d.referenceLabel) (\(pairing); \(rounds); CPU per read \(us(d.cpuNsPerRead)) vs \(us(d.referenceCPUNsPerRead)) µs, "
            + String(format: "%+.2f µs", d.cpuNsPerRead - d.referenceCPUNsPerRead == 0 ? 0 : (d.cpuNsPerRead - d.referenceCPUNsPerRead) / 1000) + ")"
        if named.isEmpty { return head + ": no function differs beyond its interval" }
        return head + (d.rounds == 1 ? ": largest (unresolved, --repeat 3 for intervals) " : ": ") + named.joined(separator: ", ")
    }
}

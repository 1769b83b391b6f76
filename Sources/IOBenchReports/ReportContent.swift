import Foundation
import IOBenchEngines
import IOBenchResults
import IOBenchWorkload

/// What every run report shows, worked out once: the results row of a case, the
/// path-class comparison, and the problems grouped by reason. Text, Markdown and HTML
/// only lay these out.
public enum ReportContent {
    /// The standard table: p50 to p99.99. A result of `--percentiles` has its own columns.
    public static let resultHeaders = resultHeaders(ReportedPercentiles.standardColumns)

    public static func resultHeaders(_ columns: [Double]) -> [String] {
        ["case", "IOPS", "MiB/s", "mean"] + columns.map { "p" + RepeatSpread.key($0) } + ["max", "CPU µs/IO"]
    }

    /// The measured cells of a case's results row, after its label; nil when the case
    /// measured nothing. Latency cells are "-" when no read was timed (--no-latency).
    public static func resultCells(_ c: CaseResult, iops: String? = nil,
                                   columns: [Double] = ReportedPercentiles.standardColumns) -> [String]? {
        guard let l = c.latency, let cpu = c.cpu, c.ios > 0 else { return nil }
        let head = [iops ?? Fmt.count(c.iops), String(format: "%.1f", c.bytesPerSecond / 1_048_576)]
        let tail = [String(format: "%.2f", cpu.perIONs / 1000)]
        guard l.count > 0 else { return head + Array(repeating: "-", count: columns.count + 2) + tail }
        return head + [Fmt.latency(l.meanNs)]
            + columns.map { p in l.value(at: p).map(Fmt.latency) ?? "-" }
            + [Fmt.latency(l.maxNs)] + tail
    }

    /// What a table shows in place of a case's numbers when it has none: `failed`, or, for a
    /// case a signal stopped before its measured phase began, `interrupted` (it did not
    /// fail: it has no reads to report).
    public static func noResultWord(_ c: CaseResult) -> String {
        c.status != .failed && c.interrupted && c.ios == 0 ? "interrupted before measuring" : "failed"
    }

    /// Whether the case measured iobench itself: an engine that reads no storage (null,
    /// io_uring-nop), reported on the tool-overhead line rather than among the engines.
    public static func isToolOverhead(_ c: CaseResult) -> Bool {
        c.config.engine.descriptor?.measuresStorage == false
    }

    /// The cases of the results table: the storage engines' cases, or every case when
    /// the run has no storage case that ran (a run of `--engine null` alone).
    public static func storageCases(_ cases: [CaseResult]) -> [CaseResult] {
        let storage = cases.filter { !isToolOverhead($0) }
        return storage.contains { $0.status != .skipped } ? storage : cases
    }

    /// iobench's own cost per I/O, from the cases of the engines that do no storage I/O:
    /// their rate, the wall time per operation of one job (jobs / IOPS) and the CPU time
    /// per operation. Nil when no such case measured anything.
    public static func toolOverheadLine(_ cases: [CaseResult]) -> String? {
        let parts = cases.filter { isToolOverhead($0) && $0.status == .ok && $0.ios > 0 && $0.iops > 0 }.map { c in
            let nsPerOp = 1e9 * Double(c.config.jobs) / c.iops
            var part = "\(c.label) \(Fmt.count(c.iops)) ops/s (\(String(format: "%.0f", nsPerOp)) ns/op"
            if let cpu = c.cpu { part += String(format: ", CPU %.0f ns/op", cpu.perIONs) }
            return part + ")"
        }
        guard !parts.isEmpty else { return nil }
        return "tool overhead (iobench's own cost per I/O, no storage read): " + parts.joined(separator: ", ")
    }

    public static let repeatHeaders = ["case", "repeats", "IOPS min / median / max", "mean min–max", "p99 min–max", "CPU µs/IO min–max"]

    /// One row per case with repeats (or merged sources): how many, and the spread of
    /// IOPS, mean, p99 and CPU per read across them.
    public static func repeatRows(_ cases: [CaseResult]) -> [[String]] {
        cases.compactMap { c in
            guard c.status != .skipped, let s = c.spread, s.count > 1 else { return nil }
            func range(_ sp: Spread?, _ f: (Double) -> String) -> String { sp.map { "\(f($0.min))–\(f($0.max))" } ?? "" }
            let cpu: (Double) -> String = { String(format: "%.2f", $0 / 1000) }
            return [c.label, "\(s.count)", "\(Fmt.count(s.iops.min)) / \(Fmt.count(s.iops.median)) / \(Fmt.count(s.iops.max))",
                    range(s.meanNs) { Fmt.latency($0) }, range(s.percentilesNs["99"]) { Fmt.latency($0) }, range(s.cpuPerIONs, cpu)]
        }
    }

    public static let classHeaders = ["engine", "class", "bs", "positions", "vs (reference)", "p50", "Δp50", "p99", "Δp99", "CPU µs/IO", "ΔCPU µs/IO", "IOPS", "IOPS ×", "mappings/read"]

    /// The cases with a path class that measured something, in report order.
    public static func classedCases(_ cases: [CaseResult]) -> [CaseResult] {
        cases.filter { $0.config.pathClass != nil && $0.status != .skipped && $0.ios > 0 }
    }

    /// One row per classed case, grouped by target and engine setting (everything but
    /// class and bs), each with its paired Δs against its like-for-like reference
    /// (`ClassComparison`): the reference is named in the "vs" column.
    public static func classRows(_ classed: [CaseResult]) -> [[String]] {
        var order: [String] = []
        var groups: [String: [CaseResult]] = [:]
        for c in classed {
            let k = c.classGroup
            if groups[k] == nil { order.append(k) }
            groups[k, default: []].append(c)
        }
        let comparisons = Dictionary(ClassComparison.compute(classed).map { ($0.caseIdentity, $0) }, uniquingKeysWith: { a, _ in a })
        var rows: [[String]] = []
        for k in order {
            // Within a setting: classes in their canonical order, then by block size.
            let g = groups[k]!.sorted {
                let a = PathClass.allCases.firstIndex(of: $0.config.pathClass!)!, b = PathClass.allCases.firstIndex(of: $1.config.pathClass!)!
                return a != b ? a < b : $0.config.blockSize < $1.config.blockSize
            }
            for c in g {
                guard let l = c.latency, let cpu = c.cpu else { continue }
                let p50 = Double(l.value(at: 50) ?? 0), p99 = Double(l.value(at: 99) ?? 0)
                var vs = "", d50 = "", d99 = "", dcpu = "", diops = ""
                if let cmp = comparisons[c.identity] {
                    vs = cmp.referenceName
                    if cmp.missingReference != nil {
                        vs += " (not run)"
                    } else {
                        d50 = cmp.delta(.p50).map { deltaText($0) { Fmt.latency($0) } } ?? ""
                        d99 = cmp.delta(.p99).map { deltaText($0) { Fmt.latency($0) } } ?? ""
                        dcpu = cmp.delta(.cpuPerIO).map { deltaText($0) { String(format: "%.2f", $0 / 1000) } } ?? ""
                        diops = cmp.delta(.iops).map { ratioText($0) } ?? ""
                    }
                }
                var setting = c.config.settingLabel
                if let key = c.targetKey, !key.isEmpty { setting = key + ": " + setting }
                let latencyTimed = l.count > 0
                rows.append([setting, c.config.pathClass!.rawValue, Units.formatSize(UInt64(c.config.blockSize)),
                             c.plan.map { "\($0.positions)" } ?? "", vs,
                             latencyTimed ? Fmt.latency(p50) : "-", d50, latencyTimed ? Fmt.latency(p99) : "-", d99,
                             String(format: "%.2f", cpu.perIONs / 1000), dcpu, Fmt.count(c.iops), diops, TextReport.mappingsText(c)])
            }
        }
        return rows
    }

    /// A paired difference as the class table shows it: "+12.3µs ±4.1µs" when the 95%
    /// interval excludes 0; "n.d. (<5.2µs)" (no difference detected, |Δ| below the
    /// interval's bound) when it includes 0; "+12.3µs (n=1)" with one round.
    public static func deltaText(_ d: PairedDelta, _ f: (Double) -> String) -> String {
        func signed(_ v: Double) -> String { (v >= 0 ? "+" : "−") + f(abs(v)) }
        switch d.finding {
        case .noInterval: return signed(d.estimate) + " (n=1)"
        case .noDifference: return "n.d. (<" + f(d.bound ?? 0) + ")"
        case .higher, .lower:
            let half = ((d.high ?? d.estimate) - (d.low ?? d.estimate)) / 2
            return signed(d.estimate) + " ±" + f(half)
        }
    }

    /// An IOPS ratio: "×0.82 [0.78–0.86]", "n.d. [0.95–1.04]", "×0.82 (n=1)".
    public static func ratioText(_ d: PairedDelta) -> String {
        let r: (Double) -> String = { String(format: $0 >= 10 ? "%.1f" : "%.2f", $0) }
        switch d.finding {
        case .noInterval: return "×" + r(d.estimate) + " (n=1)"
        case .noDifference: return "n.d. [" + r(d.low ?? 0) + "–" + r(d.high ?? 0) + "]"
        case .higher, .lower: return "×" + r(d.estimate) + " [" + r(d.low ?? 0) + "–" + r(d.high ?? 0) + "]"
        }
    }

    /// The lines under the class table that say how to read its Δs.
    public static func classLegend(_ cases: [CaseResult]) -> [String] {
        let all = ClassComparison.compute(cases)
        let comparisons = all.filter { $0.missingReference == nil }
        var out: [String] = []
        if !comparisons.isEmpty {
            let rounds = comparisons.flatMap(\.deltas).map(\.rounds)
            let lo = rounds.min() ?? 0, hi = rounds.max() ?? 0
            out.append("Δ = this row − its reference (vs), paired round by round on the same target and engine setting: mean of \(lo == hi ? "\(lo)" : "\(lo)–\(hi)") round\(hi == 1 ? "" : "s") ± the 95% t interval's half-width; IOPS × = this row / reference [95% interval].")
            out.append("n.d. = no difference detected: the interval includes 0 (×1); (<x) is the largest |Δ| the interval allows.")
            if lo < 2 { out.append("(n=1): one round, so no interval: run with --repeat 3 or more to pair rounds.") }
        }
        var seen = Set<String>()
        for c in all where c.missingReference != nil && seen.insert(c.referenceName).inserted {
            let skipped = cases.contains { $0.status == .skipped && $0.config.pathClass == c.referenceClass && $0.config.blockSize == c.referenceBlockSize }
            var line = "no Δ against \(c.referenceName): " + (skipped ? "it was skipped (the reason is listed below)" : "it was not run (add it to --class)")
            if skipped && c.referenceClass == .raw { line += "; 'sudo iobench lab' builds loop devices on which raw runs" }
            out.append(line)
        }
        return out
    }

    /// The notes under the class table: few-positions warnings (with the case), the
    /// simple-read-path verdict, and each distinct path-trace note.
    public static func classNotes(_ classed: [CaseResult]) -> (warnings: [(CaseResult, String)], verdict: String?, traceNotes: [String]) {
        let warnings = classed.compactMap { c in c.plan?.warning.map { (c, $0) } }
        var seen = Set<String>()
        var trace: [String] = []
        for c in classed {
            if let n = c.pathVerification?.note, seen.insert(n).inserted, c.config.pathClass != .raw { trace.append(n) }
        }
        return (warnings, TextReport.simplePathVerdict(classed), trace)
    }

    /// Skipped and failed cases grouped by status and reason, in first-seen order: one
    /// line each in every report, naming every case it applies to.
    public static func problemGroups(_ cases: [CaseResult]) -> [(status: CaseResult.Status, reason: String, cases: [CaseResult])] {
        var order: [String] = []
        var groups: [String: (status: CaseResult.Status, reason: String, cases: [CaseResult])] = [:]
        for c in cases where c.status != .ok {
            let reason = c.reason ?? "no reason recorded"
            let key = c.status.rawValue + "\u{0}" + reason
            if groups[key] == nil { order.append(key); groups[key] = (c.status, reason, []) }
            groups[key]!.cases.append(c)
        }
        return order.map { groups[$0]! }
    }
}

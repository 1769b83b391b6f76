import Foundation

/// What every run report shows, worked out once: the results row of a case, the
/// path-class comparison, and the problems grouped by reason. Text, Markdown and HTML
/// only lay these out.
public enum ReportContent {
    public static let resultHeaders = ["case", "IOPS", "MiB/s", "mean", "p50", "p90", "p99", "p99.9", "p99.99", "max", "CPU µs/IO"]

    /// The measured cells of a case's results row, after its label; nil when the case
    /// measured nothing. Latency cells are "-" when no read was timed (--no-latency).
    public static func resultCells(_ c: CaseResult, iops: String? = nil) -> [String]? {
        guard let l = c.latency, let cpu = c.cpu, c.ios > 0 else { return nil }
        let head = [iops ?? Fmt.count(c.iops), String(format: "%.1f", c.bytesPerSecond / 1_048_576)]
        let tail = [String(format: "%.2f", cpu.perIONs / 1000)]
        guard l.count > 0 else { return head + Array(repeating: "-", count: 7) + tail }
        return head + [Fmt.latency(l.meanNs)]
            + [50, 90, 99, 99.9, 99.99].map { Fmt.latency(l.value(at: $0) ?? 0) }
            + [Fmt.latency(l.maxNs)] + tail
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

    public static let classHeaders = ["engine", "class", "bs", "positions", "p50", "Δp50", "p99", "Δp99", "CPU µs/IO", "ΔCPU µs/IO", "mappings/read"]

    /// The cases with a path class that measured something, in report order.
    public static func classedCases(_ cases: [CaseResult]) -> [CaseResult] {
        cases.filter { $0.config.pathClass != nil && $0.status != .skipped && $0.ios > 0 }
    }

    /// One row per classed case, grouped by engine setting (everything but class and bs),
    /// each with its difference from the simple class of its group.
    public static func classRows(_ classed: [CaseResult]) -> [[String]] {
        func groupKey(_ c: CaseResult) -> String {
            var s = c.config
            s.pathClass = nil
            s.blockSize = 0
            return CaseResult.makeID(s)
        }
        var order: [String] = []
        var groups: [String: [CaseResult]] = [:]
        for c in classed {
            let k = groupKey(c)
            if groups[k] == nil { order.append(k) }
            groups[k, default: []].append(c)
        }
        func signed(_ v: Double, _ f: (Double) -> String) -> String { (v >= 0 ? "+" : "−") + f(abs(v)) }
        var rows: [[String]] = []
        for k in order {
            let g = groups[k]!
            let base = g.first { $0.config.pathClass == .simple }
            for c in g {
                guard let l = c.latency, let cpu = c.cpu else { continue }
                let p50 = Double(l.value(at: 50) ?? 0), p99 = Double(l.value(at: 99) ?? 0)
                var d50 = "", d99 = "", dcpu = ""
                if let b = base, c.config.pathClass != .simple, let bl = b.latency, let bc = b.cpu {
                    d50 = signed(p50 - Double(bl.value(at: 50) ?? 0)) { Fmt.latency($0) }
                    d99 = signed(p99 - Double(bl.value(at: 99) ?? 0)) { Fmt.latency($0) }
                    dcpu = signed((cpu.perIONs - bc.perIONs) / 1000) { String(format: "%.2f", $0) }
                }
                let setting = "\(c.config.engine.rawValue) QD\(c.config.queueDepth)" + (c.config.jobs > 1 ? " x\(c.config.jobs)" : "")
                rows.append([setting, c.config.pathClass!.rawValue, Units.formatSize(UInt64(c.config.blockSize)),
                             c.plan.map { "\($0.positions)" } ?? "", Fmt.latency(p50), d50, Fmt.latency(p99), d99,
                             String(format: "%.2f", cpu.perIONs / 1000), dcpu, TextReport.mappingsText(c)])
            }
        }
        return rows
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

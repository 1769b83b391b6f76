import Foundation
import IOBenchResults
import IOBenchWorkload
import IOBenchHistogram

/// The report for people: one row per case, then a compact latency histogram per case
/// on a shared log axis, then what was skipped or failed and why.
public enum TextReport {
    /// `classesFirst`: the path-class comparison leads, before the per-case tables (the
    /// lab, whose point it is).
    public static func render(_ r: RunResult, classesFirst: Bool = false) -> String {
        var out = ""
        out += "iobench \(r.tool.version)\(r.tool.commit.map { " (\($0))" } ?? "") · Linux \(r.environment.kernel) · \(r.environment.onlineCPUs) CPUs\n"
        for t in r.targets ?? (r.target.map { [$0] } ?? []) {
            out += "target " + (t.key.map { "\($0): " } ?? "") + describe(t) + "\n"
        }
        out += "\n"
        if classesFirst {
            let classSection = classComparison(r.cases)
            if !classSection.isEmpty { out += classSection + "\nevery case\n" }
        }
        out += body(r, classes: !classesFirst)
        return out
    }

    static func describe(_ t: TargetInfo) -> String {
        var where_ = "\(t.path)"
        var details: [String] = []
        if let fs = t.filesystem { details.append(fs) }
        if let q = t.queue {
            details.append("on \(q.device)")
            if let s = q.scheduler { details.append("scheduler \(s)") }
            if let p = q.ioPoll { details.append("io_poll=\(p ? 1 : 0)") }
        } else if t.kind == .file {
            details.append("no block device")
        }
        if !details.isEmpty { where_ += " (" + details.joined(separator: ", ") + ")" }
        return where_ + ", region \(Units.formatSize(t.regionBytes))"
    }

    static func body(_ r: RunResult, classes: Bool = true) -> String {
        var out = ""

        let headers = ReportContent.resultHeaders(r.percentileColumns)
        var rows: [[String]] = []
        // The engines that read no storage (null, io_uring-nop) measure iobench itself:
        // their own line below the table, not a row among the storage engines.
        let tableCases = ReportContent.storageCases(r.cases)
        for c in tableCases where c.status != .skipped {
            guard let cells = ReportContent.resultCells(c, columns: r.percentileColumns) else {
                rows.append([c.label, ReportContent.noResultWord(c)] + Array(repeating: "", count: headers.count - 2))
                continue
            }
            rows.append([c.label + (c.status == .failed ? " (!)" : "")] + cells)
        }
        out += table(headers: headers, rows: rows)
        if let overhead = ReportContent.toolOverheadLine(r.cases) { out += overhead + "\n" }
        if let t = ReportContent.targetTable(r) {
            out += "\n" + ReportContent.targetsTitle(t.keys) + "\n" + table(headers: t.headers, rows: t.rows)
        }

        let openRows = ReportContent.openLoopRows(r.cases)
        if !openRows.isEmpty {
            out += "\nlatency at a given rate (open loop)\n"
            out += table(headers: ReportContent.openLoopHeaders, rows: openRows)
            for line in ReportContent.saturationNotes(r.cases) { out += line + "\n" }
            out += ReportContent.openLoopLegend + "\n"
            let chart = ReportContent.curveChart(r.cases)
            if !chart.isEmpty { out += "\n" + chart.joined(separator: "\n") + "\n" }
        }

        let repeatRows = ReportContent.repeatRows(r.cases)
        if !repeatRows.isEmpty {
            out += "\nspread across repeats (the rows above are over all repeats: mean IOPS, merged histogram)\n"
            out += table(headers: ReportContent.repeatHeaders, rows: repeatRows)
        }

        let classSection = classes ? classComparison(r.cases) : ""
        if !classSection.isEmpty { out += "\n" + classSection }
        let profileTables = ReportContent.profileDifferenceTables(r)
        for t in profileTables {
            out += "\n" + t.title + "\n" + table(headers: ReportContent.profileDifferenceHeaders, rows: t.rows)
        }
        if !profileTables.isEmpty { out += ReportContent.profileDifferenceLegend + "\n" }

        let ran = tableCases.filter { $0.status != .skipped && $0.ios > 0 && ($0.latency?.count ?? 0) > 0 }
        if !ran.isEmpty {
            out += "\n" + histograms(ran)
        }
        let problems = ReportContent.problemGroups(r.cases)
        if !problems.isEmpty {
            out += "\n"
            for g in problems {
                out += "\(g.status == .skipped ? "skipped" : "FAILED "): \(g.cases.map(\.label).joined(separator: ", ")): \(g.reason)\n"
            }
        }
        for c in r.cases where c.latency.map({ $0.outOfRange > 0 }) ?? false {
            out += "note: \(c.label): \(c.latency!.outOfRange) latencies above 60 s were counted but are not in the percentiles\n"
        }
        for c in r.cases where c.status == .ok && (c.errors.ioErrors > 0 || c.errors.shortReads > 0) {
            out += "errors: \(c.label): \(c.errors.ioErrors) I/O errors, \(c.errors.shortReads) short reads, counted and run past (--continue-on-error); first: \(c.errors.firstError ?? "?")\n"
        }
        for c in r.cases where c.errors.verifiedReads > 0 && c.errors.verifyMismatches == 0 {
            out += "verified: \(c.label): \(c.errors.verifiedReads) reads held exactly the data written at their offsets\n"
        }
        for line in ringNotes(r.cases) { out += line + "\n" }
        for line in ReportContent.profileLines(r.cases) { out += line + "\n" }
        if let clock = clockNote(r) { out += clock + "\n" }
        if r.interrupted { out += "\ninterrupted: results cover the time until the signal\n" }
        return out
    }

    /// The clock that stamped the reads and what a read of it costs, with the fallback or
    /// why the TSC was not used; nil for a result without a clock (older files, merges).
    static func clockNote(_ r: RunResult) -> String? {
        guard let c = r.clock else { return nil }
        func ns(_ v: Double) -> String { String(format: "%.1f ns", v) }
        var line: String
        switch c.source {
        case .tsc:
            line = "clock: tsc (rdtscp"
            if let hz = c.tscHz { line += String(format: ", %.4f GHz", hz / 1e9) }
            if let w = c.calibrationNs { line += String(format: ", calibrated over %.0f ms", Double(w) / 1e6) }
            line += "), \(ns(c.readCostNs)) a read"
            if let m = c.monotonicReadCostNs { line += " (CLOCK_MONOTONIC \(ns(m)))" }
            if let d = c.maxDriftPPM { line += String(format: "; drift from CLOCK_MONOTONIC at most %.1f ppm", d) }
            if let f = c.fallback {
                let later = r.cases.filter { $0.clock?.source == "monotonic" || $0.clock?.source == "mixed" }.map(\.label)
                line += "; FELL BACK to CLOCK_MONOTONIC: \(f)" + (later.isEmpty ? "" : " (cases timed with it: \(later.joined(separator: ", ")))")
            }
        case .monotonic:
            line = "clock: CLOCK_MONOTONIC, \(ns(c.readCostNs)) a read"
            if let why = c.tscUnusable { line += "; TSC not used: \(why)" }
            if let f = c.fallback { line += "; \(f)" }
        }
        return line
    }

    /// What each io_uring ring ran with, one line per distinct configuration.
    static func ringNotes(_ cases: [CaseResult]) -> [String] {
        var order: [String] = []
        var labels: [String: [String]] = [:]
        for c in cases {
            guard let s = c.ring?.summary else { continue }
            if labels[s] == nil { order.append(s) }
            labels[s, default: []].append(c.label)
        }
        return order.map { "io_uring ring: \(labels[$0]!.joined(separator: ", ")): \($0)" }
    }

    /// Path classes side by side per engine setting, with the difference from the simple
    /// class: what each kernel path costs per read in latency and in CPU time.
    static func classComparison(_ cases: [CaseResult]) -> String {
        let classed = ReportContent.classedCases(cases)
        guard !classed.isEmpty else { return "" }
        var out = "path classes, each against its like-for-like reference (vs) on the same target, engine setting and bs: multi-extent vs single-extent, simple and single-extent vs raw, unwritten vs written\n"
        out += table(headers: ReportContent.classHeaders, rows: ReportContent.classRows(classed))
        for line in ReportContent.classLegend(cases) { out += line + "\n" }
        let notes = ReportContent.classNotes(classed)
        for (c, w) in notes.warnings { out += "note: \(c.label): \(w)\n" }
        if let verdict = notes.verdict { out += verdict + "\n" }
        for n in notes.traceNotes { out += "path trace: \(n)\n" }
        return out
    }

    /// The kernel's count next to the promise (with --verify-path), else the promise.
    static func mappingsText(_ c: CaseResult) -> String {
        guard let plan = c.plan else { return "" }
        if let v = c.pathVerification, let m = v.counts.mappingsPerRead {
            let bios = v.counts.biosPerRead.map { String(format: ", %.2f bios", $0) } ?? ""
            let verdict = v.holds == true ? "ok" : (v.holds == false ? "NOT MET" : "?")
            return String(format: "kernel %.2f%@ (promised %@, %@)", m, bios, plan.promisedMappingsPerRead, verdict)
        }
        return "promised \(plan.promisedMappingsPerRead)"
    }

    /// Whether the kernel's simple read path served the simple-class reads: one line per
    /// target (prefixed with its key) when the run read several labelled targets.
    package static func simplePathVerdict(_ cases: [CaseResult], keyed: Bool = true) -> String? {
        var keys: [String] = []
        for c in cases where !keys.contains(c.targetKey ?? "") { keys.append(c.targetKey ?? "") }
        let lines = keys.compactMap { key -> String? in
            guard let v = cases.first(where: { ($0.targetKey ?? "") == key && $0.config.pathClass == .simple && $0.pathVerification?.counts.reads ?? 0 > 0 })?.pathVerification
            else { return nil }
            let prefix = key.isEmpty || !keyed ? "" : key + ": "
            switch v.counts.simpleReadPathActive {
            case true?: return prefix + "simple read path active: yes (simple-class reads ran no iomap_iter)"
            case false?: return prefix + String(format: "simple read path active: no (simple-class reads ran the general path: %.2f iomap_iter per read)", Double(v.counts.iomapIter) / Double(max(v.counts.reads, 1)))
            case nil: return prefix + "simple read path active: unknown (\(v.note ?? "no trace"))"
            }
        }
        return lines.isEmpty ? nil : lines.joined(separator: "\n")
    }

    public static func table(headers: [String], rows: [[String]]) -> String {
        var widths = headers.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in Fmt.pad(c, widths[i], right: i != 0) }.joined(separator: "  ") + "\n"
        }
        return line(headers) + rows.map(line).joined()
    }

    /// One sparkline per case over log2 latency buckets from 1 µs, sharing one axis so
    /// that cases can be compared by eye.
    static func histograms(_ cases: [CaseResult]) -> String {
        let blocks: [Character] = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
        let decoded: [(String, LatencyHistogram)] = cases.compactMap { c in c.histogram.map { (c.label, $0.live) } }
        guard !decoded.isEmpty else { return "" }
        // Buckets: [0,1µs), [1,2µs), [2,4µs), ... up to the largest max over cases, taken
        // as its bucket's upper edge, which a live histogram and one read from a file share.
        let maxNs = decoded.map { $0.1.histogram.max }.max() ?? 1
        var edges: [UInt64] = [1000]
        while edges.last! <= maxNs && edges.count < 40 { edges.append(edges.last! * 2) }
        let labelWidth = decoded.map { $0.0.count }.max() ?? 4
        var out = "latency distribution (log2 buckets; each bar is that bucket's share of the case's reads)\n"
        for (label, h) in decoded {
            var line = Fmt.pad(label, labelWidth, right: false) + " │"
            var lower: UInt64 = 0
            var shares: [Double] = []
            for e in edges {
                let n = e > lower ? h.histogram.count(within: lower ... (e - 1)) : 0
                shares.append(Double(n) / Double(max(h.count, 1)))
                lower = e
            }
            let peak = shares.max() ?? 1
            for s in shares {
                let level = s == 0 ? 0 : max(1, Int((s / peak * 8).rounded()))
                line.append(blocks[level])
            }
            out += line + "│\n"
        }
        // Axis: the upper edge of every fourth bucket, under that bucket's column.
        var axis = String(repeating: " ", count: labelWidth + 2)
        var column = 0
        for (idx, e) in edges.enumerated() where idx % 4 == 0 {
            let text = Fmt.shortLatency(e)
            if column > idx { continue }
            axis += String(repeating: " ", count: idx - column) + text
            column = idx + text.count + 1
            axis += " "
        }
        out += axis + "\n"
        return out
    }
}

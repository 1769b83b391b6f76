import Foundation
import IOBenchResults
import IOBenchWorkload

/// One self-contained HTML page: for every run result its environment, targets,
/// configuration, results table (the text report's columns), path-class table and what
/// was skipped or failed; for every comparison its table with regressions and
/// improvements marked; and the plots of all runs, as inline SVG. Inline CSS, no script,
/// no external asset: the file can be mailed, attached to a CI job or opened offline.
public enum HTMLReport {
    public static func render(_ inputs: [ReportInput]) -> String {
        let runs: [(name: String, result: RunResult)] = inputs.compactMap {
            if case .run(let n, let r) = $0 { return (n, r) } else { return nil }
        }
        let comparisons: [(name: String, result: RunComparison)] = inputs.compactMap {
            if case .comparison(let n, let r) = $0 { return (n, r) } else { return nil }
        }
        var h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        h += "<meta name=\"generator\" content=\"iobench \(e(IOBenchVersion.string))\"/>\n"
        h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        h += "<title>\(e(title(runs: runs, comparisons: comparisons)))</title>\n<style>\n\(css)</style>\n</head>\n<body>\n"
        h += "<header>\n<h1>\(e(title(runs: runs, comparisons: comparisons)))</h1>\n"
        h += "<p class=\"sub\">iobench \(e(IOBenchVersion.string)) report of " + inputs.map { "<code>\(e($0.name))</code>" }.joined(separator: ", ") + "</p>\n"
        var toc: [(String, String)] = []
        for i in comparisons.indices { toc.append(("compare-\(i + 1)", "Comparison" + (comparisons.count > 1 ? " \(i + 1)" : ""))) }
        for (i, r) in runs.enumerated() { toc.append(("run-\(i + 1)", runs.count > 1 ? "Run \(i + 1): \(r.result.environment.hostname)" : "Run")) }
        if !runs.isEmpty { toc.append(("plots", "Plots")) }
        if toc.count > 1 {
            h += "<nav>" + toc.map { "<a href=\"#\($0.0)\">\(e($0.1))</a>" }.joined(separator: " · ") + "</nav>\n"
        }
        h += "</header>\n<main>\n"
        for (i, c) in comparisons.enumerated() { h += comparison(c.result, name: c.name, anchor: "compare-\(i + 1)") }
        for (i, r) in runs.enumerated() { h += run(r.result, name: r.name, anchor: "run-\(i + 1)", numbered: runs.count > 1 ? i + 1 : nil) }
        if !runs.isEmpty { h += plots(runs) }
        h += "</main>\n</body>\n</html>\n"
        return h
    }

    static func title(runs: [(name: String, result: RunResult)], comparisons: [(name: String, result: RunComparison)]) -> String {
        if runs.isEmpty, let c = comparisons.first {
            return "iobench compare: " + (c.result.regressions > 0 ? "regression in \(c.result.regressions) case\(c.result.regressions == 1 ? "" : "s")" : "no regression")
        }
        if runs.count == 1, let r = runs.first?.result {
            return "iobench · \(r.environment.hostname) · Linux \(r.environment.kernel)"
        }
        return "iobench · \(runs.count) runs"
    }

    /// HTML text and attribute escaping (the SVG writer's: also drops characters XML forbids).
    static func e(_ s: String) -> String { SVGCanvas.escape(s) }

    static func table(_ headers: [String], _ rows: [[String]], numeric: Set<Int> = [], rowClasses: [String?] = [], rowIDs: [String] = [], escaped: Bool = false) -> String {
        var t = "<div class=\"scroll\"><table>\n<thead><tr>"
        for (i, hd) in headers.enumerated() { t += numeric.contains(i) ? "<th class=\"num\">\(e(hd))</th>" : "<th>\(e(hd))</th>" }
        t += "</tr></thead>\n<tbody>\n"
        for (ri, row) in rows.enumerated() {
            let cls = ri < rowClasses.count ? rowClasses[ri] : nil
            var tr = "<tr"
            if let cls { tr += " class=\"\(cls)\"" }
            // The case id, for finding the case in the JSON (shown on hover).
            if ri < rowIDs.count { tr += " title=\"\(e(rowIDs[ri]))\" data-case=\"\(e(rowIDs[ri]))\"" }
            t += tr + ">"
            for (i, cell) in row.enumerated() {
                let text = escaped ? cell : e(cell)
                t += numeric.contains(i) ? "<td class=\"num\">\(text)</td>" : "<td>\(text)</td>"
            }
            t += "</tr>\n"
        }
        return t + "</tbody>\n</table></div>\n"
    }

    static func keyValues(_ pairs: [(String, String)]) -> String {
        var t = "<table class=\"kv\">\n"
        for (k, v) in pairs { t += "<tr><th>\(e(k))</th><td>\(e(v))</td></tr>\n" }
        return t + "</table>\n"
    }

    // MARK: a run

    static func run(_ r: RunResult, name: String, anchor: String, numbered: Int?) -> String {
        var h = "<section id=\"\(anchor)\">\n<h2>\(numbered.map { "Run \($0)" } ?? "Run") <span class=\"file\">\(e(name))</span></h2>\n"
        h += "<div class=\"cols\">\n<div>\n<h3>Environment</h3>\n"
        var env: [(String, String)] = [
            ("host", r.environment.hostname), ("kernel", "Linux " + r.environment.kernel),
            ("CPU", (r.environment.cpuModel ?? "unknown") + " · \(r.environment.onlineCPUs) online CPUs"),
            ("started", r.startedAt), ("iobench", r.tool.version + (r.tool.commit.map { " (commit \($0))" } ?? "")),
        ]
        if let n = r.repeatCount, n > 1 { env.append(("repeats", "\(n) per case, in rounds")) }
        if let m = r.mergedFrom, !m.isEmpty { env.append(("merged from", m.map { "\($0.file) (\($0.host), Linux \($0.kernel))" }.joined(separator: "; "))) }
        if r.interrupted { env.append(("interrupted", "yes: the results cover the time until the signal")) }
        h += keyValues(env)
        h += "</div>\n<div>\n<h3>Configuration</h3>\n"
        h += "<pre class=\"cmd\">\(e(commandLine(r.arguments)))</pre>\n"
        h += keyValues(settings(r.cases))
        h += "</div>\n</div>\n"

        let targets = r.targets ?? (r.target.map { [$0] } ?? [])
        if !targets.isEmpty {
            h += "<h3>Targets</h3>\n"
            var headers = ["path", "kind", "filesystem", "mount", "device", "model", "scheduler", "io_poll", "nr_requests",
                           "block (logical / physical)", "rotational", "region", "data"]
            var rows = targets.map { t -> [String] in
                let q = t.queue
                return [t.path, t.kind.rawValue, t.filesystem ?? "—", t.mountPoint ?? "—", q.map { $0.device + ($0.partition.map { " (\($0))" } ?? "") } ?? "—",
                        q?.model ?? "—", q?.scheduler ?? "—", q?.ioPoll.map { $0 ? "1" : "0" } ?? "—", q?.nrRequests.map(String.init) ?? "—",
                        "\(t.logicalBlockSize)" + (q?.physicalBlockSize.map { " / \($0)" } ?? ""),
                        q?.rotational.map { $0 ? "yes" : "no" } ?? "—", Units.formatSize(t.regionBytes),
                        t.createdByThisRun ? "created now" : (t.stamped ? "stamped" : "existing")]
            }
            // Labelled targets (a case's identity is its target's key and its id): the key first.
            if targets.contains(where: { $0.key != nil }) {
                headers.insert("key", at: 0)
                for (i, t) in targets.enumerated() { rows[i].insert(t.key ?? "—", at: 0) }
            }
            // Columns nothing is known about (no block device, no model) are left out.
            for i in headers.indices.reversed() where rows.allSatisfy({ $0[i] == "—" }) {
                headers.remove(at: i)
                for r in rows.indices { rows[r].remove(at: i) }
            }
            h += table(headers, rows, numeric: headers.firstIndex(of: "nr_requests").map { [$0] } ?? [])
            h += "<p class=\"note\">data: <em>created now</em> — written by this run with iobench's stamp; <em>stamped</em> — iobench's stamped data, reused; <em>existing</em> — data iobench did not write.</p>\n"
        }

        h += "<h3>Results</h3>\n"
        h += resultsTable(r.cases, columns: r.percentileColumns)
        if let t = ReportContent.targetTable(r) {
            h += "<h3>Targets side by side</h3>\n<p class=\"note\">\(e(ReportContent.targetsTitle(t.keys)))</p>\n"
            h += table(t.headers, t.rows, numeric: Set(1 ..< t.headers.count))
        }
        let openRows = ReportContent.openLoopRows(r.cases)
        if !openRows.isEmpty {
            h += "<h3>Latency at a given rate (open loop)</h3>\n"
            h += table(ReportContent.openLoopHeaders, openRows, numeric: Set(1 ..< ReportContent.openLoopHeaders.count - 1),
                       rowClasses: ReportContent.openLoopCases(r.cases).map { $0.openLoop!.saturated ? "failed" : nil })
            let notes = ReportContent.saturationNotes(r.cases) + [ReportContent.openLoopLegend]
            h += "<ul class=\"notes\">" + notes.map { "<li>\(e($0))</li>" }.joined() + "</ul>\n"
        }
        let classes = classTable(r.cases)
        if !classes.isEmpty { h += "<h3>Path classes</h3>\n" + classes }
        let profileTables = ReportContent.profileDifferenceTables(r)
        if !profileTables.isEmpty {
            h += "<h3>Where the CPU per read differs between classes</h3>\n"
            for t in profileTables {
                h += "<p class=\"note\">\(e(t.title))</p>\n" + table(ReportContent.profileDifferenceHeaders, t.rows, numeric: [2, 3, 4, 5])
            }
            h += "<p class=\"note\">\(e(ReportContent.profileDifferenceLegend))</p>\n"
        }
        let profile = ReportContent.profileLines(r.cases)
        if !profile.isEmpty {
            h += "<h3>Where the CPU went</h3>\n<ul class=\"notes\">" + profile.map { "<li>\(e($0.trimmingCharacters(in: .whitespaces)))</li>" }.joined() + "</ul>\n"
            h += FlameGraph.section(r)
        }
        h += problems(r)
        return h + "</section>\n"
    }

    /// The arguments as a shell command line, quoted where needed.
    static func commandLine(_ args: [String]) -> String {
        guard !args.isEmpty else { return "(no arguments recorded)" }
        var parts = args
        parts[0] = (parts[0] as NSString).lastPathComponent
        return parts.map { a in
            a.isEmpty || a.contains(where: { " \t\n'\"$`\\;&|<>*?()[]{}#~".contains($0) }) ? "'" + a.replacingOccurrences(of: "'", with: "'\\''") + "'" : a
        }.joined(separator: " ")
    }

    /// The per-case settings, each listed once when all cases share it.
    static func settings(_ cases: [CaseResult]) -> [(String, String)] {
        func distinct(_ values: [String]) -> String {
            var seen: [String] = []
            for v in values where !seen.contains(v) { seen.append(v) }
            return seen.joined(separator: ", ")
        }
        let specs = cases.map(\.config)
        guard !specs.isEmpty else { return [] }
        var out: [(String, String)] = [
            ("engines", distinct(specs.map(\.engine.rawValue))),
            ("block sizes", distinct(specs.map { Units.formatSize(UInt64($0.blockSize)) })),
            ("queue depths", distinct(specs.map { String($0.queueDepth) })),
            ("jobs per case", distinct(specs.map { String($0.jobs) })),
            ("pattern", distinct(specs.map { $0.pattern == .random ? "random" : "sequential" })),
            ("runtime", distinct(specs.map { s in s.runtimeNs.map { Fmt.latency($0) } ?? "\(s.ioLimit ?? 0) reads per job" })),
            ("ramp", distinct(specs.map { $0.rampNs == 0 ? "none" : Fmt.latency($0.rampNs) })),
            ("seed", distinct(specs.map { String($0.seed) })),
        ]
        let classes = specs.compactMap(\.pathClass)
        if !classes.isEmpty { out.append(("path classes", distinct(classes.map(\.rawValue)))) }
        if specs.contains(where: { !$0.cpus.isEmpty }) { out.append(("CPUs", distinct(specs.map { $0.cpus.map(String.init).joined(separator: ",") }))) }
        if specs.contains(where: \.verify) { out.append(("verify", "every read's contents checked")) }
        return out
    }

    static func resultsTable(_ cases: [CaseResult], columns: [Double] = ReportedPercentiles.standardColumns) -> String {
        let headers = ReportContent.resultHeaders(columns)
        var rows: [[String]] = []
        var classes: [String?] = []
        var ids: [String] = []
        for c in cases where c.status != .skipped {
            ids.append(c.identity)
            var iops = Fmt.count(c.iops)
            if let s = c.spread, s.count > 1 { iops += " (\(Fmt.count(s.iops.min))–\(Fmt.count(s.iops.max)))" }
            guard let cells = ReportContent.resultCells(c, iops: iops, columns: columns) else {
                rows.append([c.label, ReportContent.noResultWord(c)] + Array(repeating: "", count: headers.count - 2))
                classes.append(c.status == .failed ? "failed" : nil)
                continue
            }
            rows.append([c.label + (c.status == .failed ? " (failed)" : "")] + cells)
            classes.append(c.status == .failed ? "failed" : nil)
        }
        guard !rows.isEmpty else { return "<p>No case ran.</p>\n" }
        var t = table(headers, rows, numeric: Set(1 ..< headers.count), rowClasses: classes, rowIDs: ids)
        if cases.contains(where: { ($0.spread?.count ?? 0) > 1 }) {
            t += "<p class=\"note\">IOPS is the mean over repeats, with the lowest and highest repeat in brackets; latencies are from the merged histogram.</p>\n"
        }
        return t
    }

    /// The text report's path-class table: each class against its like-for-like reference.
    static func classTable(_ cases: [CaseResult]) -> String {
        let classed = ReportContent.classedCases(cases)
        guard !classed.isEmpty else { return "" }
        let rows = ReportContent.classRows(classed)
        var t = "<p class=\"note\">Each class against its like-for-like reference (vs) on the same target, engine setting and bs: multi-extent vs single-extent, simple and single-extent vs raw, unwritten vs written.</p>\n"
        t += table(ReportContent.classHeaders, rows, numeric: [2, 3, 5, 6, 7, 8, 9, 10, 11, 12])
        let found = ReportContent.classNotes(classed)
        var notes = ReportContent.classLegend(cases)
        notes += found.warnings.map { "\($0.0.label): \($0.1)" }
        if let verdict = found.verdict { notes.append(verdict) }
        notes += found.traceNotes.map { "path trace: \($0)" }
        if !notes.isEmpty { t += "<ul class=\"notes\">" + notes.map { "<li>\(e($0))</li>" }.joined() + "</ul>\n" }
        return t
    }

    /// Skipped and failed cases, one line per distinct reason, naming every case it applies to.
    static func problems(_ r: RunResult) -> String {
        var items: [String] = []
        for g in ReportContent.problemGroups(r.cases) {
            let failed = g.status == .failed
            let labels = g.cases.map { "<span title=\"\(e($0.identity))\" data-case=\"\(e($0.identity))\">\(e($0.label))</span>" }.joined(separator: ", ")
            items.append("<li class=\"\(failed ? "failed" : "skipped")\"><strong>\(failed ? "failed" : "skipped")</strong>: \(labels) — \(e(g.reason))</li>")
        }
        for c in r.cases where c.latency.map({ $0.outOfRange > 0 }) ?? false {
            items.append("<li>note: \(e(c.label)): \(c.latency!.outOfRange) latencies above 60 s were counted but are not in the percentiles</li>")
        }
        for c in r.cases where c.errors.verifiedReads > 0 && c.errors.verifyMismatches == 0 {
            items.append("<li>verified: \(e(c.label)): \(c.errors.verifiedReads) reads held exactly the data written at their offsets</li>")
        }
        guard !items.isEmpty else { return "" }
        return "<h3>Skipped, failed and notes</h3>\n<ul class=\"problems\">\n" + items.joined(separator: "\n") + "\n</ul>\n"
    }

    // MARK: plots

    static func plots(_ runs: [(name: String, result: RunResult)]) -> String {
        let set = PlotSet(runs)
        var h = "<section id=\"plots\">\n<h2>Plots</h2>\n"
        if runs.count > 1 { h += "<p class=\"note\">Cases of every run, each labelled with its run.</p>\n" }
        func figure(_ svg: String, _ caption: String) -> String {
            "<figure>\n\(svg)<figcaption>\(e(caption))</figcaption>\n</figure>\n"
        }
        h += figure(PercentileSpectrumPlot.render(set, standalone: false),
                    "Percentile spectrum: latency (log scale) against percentile on the nines scale. A line that rises late has a short tail; the right end is each case's slowest read.")
        h += figure(LatencyHistogramPlot.render(set, standalone: false),
                    "Latency histogram: where each case's reads fell, 10 buckets per decade. Solid tick p50, dashed tick p99.")
        if ClassComparisonPlot.applies(set) {
            h += figure(ClassComparisonPlot.render(set, standalone: false),
                        "Path classes: what each kernel path costs per read, per engine setting.")
        }
        if LatencyLoadPlot.applies(set) {
            h += figure(LatencyLoadPlot.render(set, standalone: false),
                        "Latency at a given rate: response time (completion − intended issue time) against achieved IOPS, one colour per curve; solid p99, dashed p50, dotted p99.9; red rings mark saturated points.")
        }
        h += figure(TimelinePlot.render(set, standalone: false),
                    "IOPS timeline: reads completed in each whole second of each case's measured phase.")
        return h + "</section>\n"
    }

    // MARK: a comparison

    static func comparison(_ r: RunComparison, name: String, anchor: String) -> String {
        var h = "<section id=\"\(anchor)\">\n<h2>Comparison <span class=\"file\">\(e(name))</span></h2>\n"
        h += "<p><code>\(e(r.base))</code> (base) → <code>\(e(r.new))</code> (new)</p>\n"
        let verdict = r.regressions > 0
            ? "<div class=\"banner bad\">✗ REGRESSION in \(r.regressions) case\(r.regressions == 1 ? "" : "s")"
            : "<div class=\"banner good\">✓ No regression"
        h += verdict + " · \(r.improvements) improved · \(r.cases.count) compared</div>\n"
        h += "<p class=\"note\">Thresholds (the worse-direction change that counts): "
            + e(r.thresholds.map { String(format: "%@ %+.0f%%", $0.metric.rawValue, $0.percent) }.joined(separator: ", "))
            + ". " + e(r.rule) + ".</p>\n"
        // One row per case, one cell per metric: the new value, the change, and the base
        // value; the cell's colour, weight and mark say the verdict. Regressed cases first,
        // then improved ones, then the rest, each in result order.
        let ordered = r.cases.filter(\.regression) + r.cases.filter { !$0.regression && $0.improvement } + r.cases.filter { !$0.regression && !$0.improvement }
        let metrics = CompareMetric.allCases.filter { m in r.cases.contains { $0.metrics.contains { $0.metric == m } } }
        if ordered.isEmpty {
            h += "<p>No case was in both results.</p>\n"
        } else {
            let names: [CompareMetric: String] = [.iops: "IOPS", .mean: "mean", .p50: "p50", .p99: "p99", .p999: "p99.9", .cpu: "CPU/read"]
            h += "<div class=\"scroll\"><table class=\"compare\">\n<thead><tr><th>case</th>"
            h += metrics.map { "<th class=\"num\">\(e(names[$0] ?? $0.rawValue))</th>" }.joined() + "<th>verdict</th></tr></thead>\n<tbody>\n"
            for c in ordered {
                let rowClass = c.regression ? " class=\"regression\"" : c.improvement ? " class=\"improvement\"" : ""
                h += "<tr\(rowClass) title=\"\(e(c.identity))\" data-case=\"\(e(c.identity))\"><td>\(e(c.displayLabel))</td>"
                for metric in metrics {
                    guard let m = c.metrics.first(where: { $0.metric == metric }) else { h += "<td></td>"; continue }
                    let cls: String
                    let mark: String
                    switch m.verdict {
                    case .regression: cls = "regression"; mark = "✗ "
                    case .improved: cls = "improvement"; mark = "✓ "
                    case .unclear: cls = "noise"; mark = ""
                    case .notGated: cls = "noise"; mark = ""
                    case .unchanged: cls = "unchanged"; mark = ""
                    }
                    var tip = ComparisonReport.detail(r, m)
                    let spread = ComparisonReport.spread(m)
                    if !spread.isEmpty { tip += "; repeats \(spread)" }
                    h += "<td class=\"num \(cls)\" title=\"\(e(tip))\">\(mark)\(e(ComparisonReport.value(m.metric, m.new))) <span class=\"chg\">\(e(ComparisonReport.change(m)))</span>"
                    h += "<br><span class=\"was\">was \(e(ComparisonReport.value(m.metric, m.base)))\(m.verdict == .unclear ? " · unclear" : m.verdict == .notGated ? " · not gated" : "")</span></td>"
                }
                let regressed = c.metrics.filter { $0.verdict == .regression }.map(\.metric.rawValue)
                let improved = c.metrics.filter { $0.verdict == .improved }.map(\.metric.rawValue)
                var verdict = ""
                if !regressed.isEmpty { verdict += "<strong class=\"bad\">✗ REGRESSION</strong> " + e(regressed.joined(separator: ", ")) }
                if !improved.isEmpty { verdict += (verdict.isEmpty ? "" : "<br>") + "<span class=\"good\">✓ improved</span> " + e(improved.joined(separator: ", ")) }
                if let f = c.failure { verdict = "<strong class=\"bad\">✗ REGRESSION</strong> " + e(f) + (verdict.isEmpty ? "" : "<br>" + verdict) }
                if verdict.isEmpty { verdict = c.metrics.contains { $0.verdict == .unclear } ? "ok (some changes unclear)" : "ok" }
                h += "<td class=\"verdict\">\(verdict)</td></tr>\n"
            }
            h += "</tbody>\n</table></div>\n"
            h += "<p class=\"note\">Each cell: the new value, its change from the base, and the base value. ✗ marks a regression (past the threshold in the worse direction), ✓ an improvement (as far in the better direction). Hover a cell for the threshold and the repeat spread.</p>\n"
        }
        var missing: [String] = r.missingInNew.map { "missing in \(r.new): \($0)" }
        missing += r.missingInBase.map { "missing in \(r.base): \($0)" }
        if !missing.isEmpty { h += "<ul class=\"problems\">" + missing.map { "<li>\(e($0))</li>" }.joined() + "</ul>\n" }
        return h + "</section>\n"
    }

    // Okabe–Ito: vermillion for regressions, blue for improvements; each also marked in
    // words and weight, never by colour alone.
    static let css = """
    :root { color-scheme: light; }
    body { font-family: "DejaVu Sans", "Liberation Sans", Helvetica, Arial, sans-serif; margin: 0; color: #1a1a1a; background: #fafafa; font-size: 14px; line-height: 1.4; }
    header { background: #ffffff; border-bottom: 1px solid #ddd; padding: 16px 28px 10px; }
    h1 { font-size: 22px; margin: 0 0 4px; }
    h2 { font-size: 19px; margin: 28px 0 10px; border-bottom: 2px solid #0072B2; padding-bottom: 4px; }
    h2 .file { font-size: 13px; font-weight: normal; color: #555; font-family: "DejaVu Sans Mono", monospace; margin-left: 8px; }
    h3 { font-size: 15px; margin: 18px 0 6px; }
    .sub, .note { color: #555; font-size: 13px; }
    nav { margin-top: 6px; font-size: 13px; }
    nav a { color: #0072B2; }
    main { padding: 0 28px 40px; max-width: 1500px; }
    section { background: #ffffff; border: 1px solid #e2e2e2; border-radius: 6px; padding: 4px 20px 16px; margin-top: 20px; }
    .cols { display: flex; flex-wrap: wrap; gap: 12px 48px; }
    .cols > div { flex: 1 1 420px; min-width: 0; }
    .scroll { overflow-x: auto; }
    table { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; }
    th, td { padding: 3px 10px; border-bottom: 1px solid #e6e6e6; text-align: left; white-space: nowrap; }
    thead th { background: #f0f4f8; border-bottom: 2px solid #c9d3dd; }
    tbody tr:nth-child(even) { background: #fafbfc; }
    .num { text-align: right; }
    table.kv th { font-weight: normal; color: #555; padding-left: 0; }
    table.kv td { white-space: normal; }
    pre.cmd { background: #f4f4f4; border: 1px solid #e0e0e0; padding: 6px 10px; white-space: pre-wrap; word-break: break-all; font-size: 12.5px; margin: 4px 0 8px; }
    code { font-family: "DejaVu Sans Mono", monospace; font-size: 12.5px; }
    tr.failed td { color: #D55E00; font-weight: bold; }
    table.compare td { vertical-align: top; }
    table.compare tr.regression td:first-child { border-left: 4px solid #D55E00; font-weight: bold; }
    table.compare tr.improvement td:first-child { border-left: 4px solid #0072B2; }
    td.regression { color: #B34700; background: #FCE4D6; font-weight: bold; }
    td.improvement { color: #005A8C; background: #DDEEF9; }
    td.noise { color: #666; }
    td .chg { font-size: 12px; }
    td.verdict { white-space: normal; min-width: 13em; }
    td .was { font-size: 11.5px; color: #666; font-weight: normal; }
    strong.bad { color: #B34700; }
    span.good { color: #005A8C; font-weight: bold; }
    .banner { display: inline-block; padding: 6px 14px; border-radius: 4px; font-weight: bold; margin: 4px 0 8px; }
    .banner.bad { background: #FCE4D6; color: #B34700; border: 2px solid #D55E00; }
    .banner.good { background: #DDEEF9; color: #005A8C; border: 2px solid #0072B2; }
    ul.problems li.failed { color: #B34700; }
    ul.problems li, ul.notes li { margin: 3px 0; }
    figure { margin: 18px 0 26px; }
    figure svg { max-width: 100%; height: auto; border: 1px solid #eee; }
    figcaption { color: #444; font-size: 13px; margin-top: 4px; max-width: 1000px; }

    """
}

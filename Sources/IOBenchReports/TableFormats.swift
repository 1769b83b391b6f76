import Foundation
import IOBenchResults

/// One row per case, for spreadsheets and CI systems: a header row, then the cases in
/// result order. Quoting as RFC 4180: a field holding a comma, a double quote or a line
/// break is enclosed in double quotes, with its double quotes doubled. Lines end with LF.
///
/// Units are in the column names: latencies in nanoseconds (the percentiles and `max_ns`
/// as in the JSON result), `iops` in reads per second, `mib_per_s` in MiB (2^20 bytes)
/// per second, `cpu_per_io_ns` the job threads' user + system CPU time per read, `bs` in
/// bytes. `errors` counts reads that completed with an error, `short_reads` reads that
/// returned fewer bytes than `bs`. A skipped case has only its identity and status; a
/// case without latencies (it failed before measuring) has empty latency cells.
public enum CSVReport {
    public static let columns = [
        "id", "label", "status", "engine", "class", "bs", "iodepth", "jobs", "ios", "iops", "mib_per_s",
        "mean_ns", "p50_ns", "p90_ns", "p99_ns", "p99_9_ns", "p99_99_ns", "max_ns", "cpu_per_io_ns",
        "errors", "short_reads",
        // Open-loop cases (`--rate-iops`, `--load`); empty for a closed loop.
        "rate_iops", "achieved_iops", "response_p50_ns", "response_p99_ns", "response_p99_9_ns", "issue_lag_p99_ns", "saturated",
    ]

    public static func render(_ r: RunResult) -> String {
        var out = line(columns)
        for c in r.cases { out += line(row(c)) }
        return out
    }

    static func row(_ c: CaseResult) -> [String] {
        let s = c.config
        var cells = [c.id, c.label, c.status.rawValue, s.engine.rawValue, s.pathClass?.rawValue ?? "",
                     String(s.blockSize), String(s.queueDepth), String(s.jobs)]
        guard c.status != .skipped else {
            return cells + Array(repeating: "", count: columns.count - cells.count)
        }
        cells += [String(c.ios), decimal(c.iops, 1), decimal(c.bytesPerSecond / 1_048_576, 3)]
        if let l = c.latency, l.count > 0 {
            cells.append(decimal(l.meanNs, 1))
            for p in [50, 90, 99, 99.9, 99.99] as [Double] {
                cells.append(l.value(at: p).map { String($0) } ?? "")
            }
            cells.append(String(l.maxNs))
        } else {
            cells += Array(repeating: "", count: 7)
        }
        cells.append(c.cpu.map { decimal($0.perIONs, 1) } ?? "")
        cells += [String(c.errors.ioErrors), String(c.errors.shortReads)]
        if let o = c.openLoop {
            cells += [decimal(o.askedIOPS, 1), decimal(o.achievedIOPS, 1)]
            cells += [50, 99, 99.9].map { (p: Double) in o.responseTime.count > 0 ? (o.responseTime.value(at: p).map { String($0) } ?? "") : "" }
            cells += [o.issueLag.count > 0 ? (o.issueLag.value(at: 99).map { String($0) } ?? "") : "", o.saturated ? "true" : "false"]
        } else {
            cells += Array(repeating: "", count: 7)
        }
        return cells
    }

    static func decimal(_ v: Double, _ places: Int) -> String {
        v.isFinite ? String(format: "%.\(places)f", v) : ""
    }

    package static func line(_ fields: [String]) -> String {
        fields.map(quote).joined(separator: ",") + "\n"
    }

    /// RFC 4180: enclose in double quotes when the field holds a comma, a double quote,
    /// CR or LF; double every double quote inside.
    package static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) else {
            return field
        }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// The run for a pull request or a CI summary page: a heading naming the kernel and the
/// target, a GitHub-flavoured Markdown table with the text report's columns, then what was
/// skipped or failed and why, as a bullet list.
public enum MarkdownReport {
    public static let headers = ReportContent.resultHeaders

    public static func render(_ r: RunResult) -> String {
        let headers = ReportContent.resultHeaders(r.percentileColumns)
        var out = "### iobench \(escape(r.tool.version)) · Linux \(escape(r.environment.kernel)) · \(r.environment.onlineCPUs) CPUs\n\n"
        let targets = r.targets ?? (r.target.map { [$0] } ?? [])
        for t in targets {
            // The text report's description, with the path as code (no Markdown inside it).
            let rest = String(TextReport.describe(t).dropFirst(t.path.count))
            out += "target " + (t.key.map { escape($0) + ": " } ?? "") + "\(code(t.path))\(escape(rest))" + (targets.count > 1 ? "  \n" : "\n")
        }
        if !targets.isEmpty { out += "\n" }

        var rows: [[String]] = []
        for c in r.cases where c.status != .skipped {
            guard let cells = ReportContent.resultCells(c, columns: r.percentileColumns) else {
                rows.append([c.label, ReportContent.noResultWord(c)] + Array(repeating: "", count: headers.count - 2))
                continue
            }
            rows.append([c.label + (c.status == .failed ? " (!)" : "")] + cells)
        }
        if rows.isEmpty {
            out += "No case ran.\n"
        } else {
            out += "| " + headers.map(escape).joined(separator: " | ") + " |\n"
            out += "|" + headers.indices.map { $0 == 0 ? " :--- " : " ---: " }.joined(separator: "|") + "|\n"
            for row in rows {
                out += "| " + row.map(escape).joined(separator: " | ") + " |\n"
            }
        }

        if let t = ReportContent.targetTable(r) {
            out += "\n**" + escape(ReportContent.targetsTitle(t.keys)) + "**\n\n" + table(t.headers, t.rows)
        }
        let profile = ReportContent.profileLines(r.cases)
        if !profile.isEmpty {
            out += "\n**Where the CPU went** (`--profile`)\n\n" + profile.map { "- \(escape($0.trimmingCharacters(in: .whitespaces)))\n" }.joined()
        }
        let openRows = ReportContent.openLoopRows(r.cases)
        if !openRows.isEmpty {
            out += "\n**Latency at a given rate** (open loop)\n\n"
            out += table(ReportContent.openLoopHeaders, openRows)
            let lines = ReportContent.saturationNotes(r.cases) + [ReportContent.openLoopLegend]
            out += "\n" + lines.map { "- \(escape($0))\n" }.joined()
            let chart = ReportContent.curveChart(r.cases)
            if !chart.isEmpty { out += "\n```\n" + chart.joined(separator: "\n") + "\n```\n" }
        }
        let repeatRows = ReportContent.repeatRows(r.cases)
        if !repeatRows.isEmpty {
            out += "\n**Spread across repeats** (the table above is over all repeats: mean IOPS, merged histogram)\n\n"
            out += table(ReportContent.repeatHeaders, repeatRows)
        }
        let classed = ReportContent.classedCases(r.cases)
        if !classed.isEmpty {
            out += "\n**Path classes**, each against its like-for-like reference (vs) on the same target, engine setting and bs: multi-extent vs single-extent, simple and single-extent vs raw, unwritten vs written\n\n"
            out += table(ReportContent.classHeaders, ReportContent.classRows(classed))
            let notes = ReportContent.classNotes(classed)
            var lines: [String] = ReportContent.classLegend(r.cases).map(escape)
            lines += notes.warnings.map { "note: \(escape($0.0.label)): \(escape($0.1))" }
            if let v = notes.verdict { lines.append(escape(v)) }
            lines += notes.traceNotes.map { "path trace: " + escape($0) }
            if !lines.isEmpty { out += "\n" + lines.map { "- \($0)\n" }.joined() }
        }
        let profileTables = ReportContent.profileDifferenceTables(r)
        for t in profileTables {
            out += "\n**\(escape(t.title))**\n\n" + table(ReportContent.profileDifferenceHeaders, t.rows)
        }
        if !profileTables.isEmpty { out += "\n- \(escape(ReportContent.profileDifferenceLegend))\n" }

        var bullets: [String] = []
        // As the text report: one line per distinct reason, naming every case it applies to.
        for g in ReportContent.problemGroups(r.cases) {
            let labels = g.cases.map { escape($0.label) }.joined(separator: ", ")
            bullets.append("\(g.status == .skipped ? "skipped" : "**failed**"): \(labels): \(escape(g.reason))")
        }
        for c in r.cases where c.latency.map({ $0.outOfRange > 0 }) ?? false {
            bullets.append("note: \(escape(c.label)): \(c.latency!.outOfRange) latencies above 60 s were counted but are not in the percentiles")
        }
        if r.interrupted { bullets.append("interrupted: results cover the time until the signal") }
        if !bullets.isEmpty {
            out += "\n" + bullets.map { "- " + $0 + "\n" }.joined()
        }
        return out
    }

    /// A GitHub-flavoured table: the first column left-aligned, the others right.
    static func table(_ headers: [String], _ rows: [[String]]) -> String {
        var out = "| " + headers.map(escape).joined(separator: " | ") + " |\n"
        out += "|" + headers.indices.map { $0 == 0 ? " :--- " : " ---: " }.joined(separator: "|") + "|\n"
        for row in rows { out += "| " + row.map(escape).joined(separator: " | ") + " |\n" }
        return out
    }

    /// Text as literal Markdown: the characters that start emphasis, code, links, HTML or
    /// end a table cell are backslash-escaped; line breaks become spaces. An underscore
    /// between two letters or digits (`io_uring`) is left alone: CommonMark never reads an
    /// intraword `_` as emphasis.
    package static func escape(_ s: String) -> String {
        var out = ""
        let chars = Array(s)
        for (i, ch) in chars.enumerated() {
            switch ch {
            case "_":
                let inWord = i > 0 && i + 1 < chars.count && isWordChar(chars[i - 1]) && isWordChar(chars[i + 1])
                if !inWord { out.append("\\") }
                out.append(ch)
            case "\\", "`", "*", "~", "[", "]", "<", "|":
                out.append("\\")
                out.append(ch)
            case "\n", "\r", "\r\n":
                out.append(" ")
            default:
                out.append(ch)
            }
        }
        return out
    }

    static func isWordChar(_ c: Character) -> Bool { c.isLetter || c.isNumber }

    /// A code span that holds any text: fenced with one more backtick than the longest run
    /// inside it.
    package static func code(_ s: String) -> String {
        let flat = s.replacingOccurrences(of: "\n", with: " ")
        var longest = 0, run = 0
        for ch in flat { if ch == "`" { run += 1; longest = max(longest, run) } else { run = 0 } }
        let fence = String(repeating: "`", count: longest + 1)
        let pad = flat.hasPrefix("`") || flat.hasSuffix("`") ? " " : ""
        return fence + pad + flat + pad + fence
    }
}

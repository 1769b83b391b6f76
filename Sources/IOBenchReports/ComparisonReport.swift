import Foundation
import IOBenchResults

/// `iobench compare` output for people (text), pull requests (Markdown), machines
/// (JSON) and CI systems (JUnit XML: one test case per case and metric). Every verdict
/// is printed with its interval, its threshold and the rule that turned one into the
/// other.
public enum ComparisonReport {
    static func value(_ m: CompareMetric, _ v: Double) -> String {
        switch m {
        case .iops: return Fmt.count(v)
        case .cpu: return String(format: "%.2fµs", v / 1000)
        default: return Fmt.latency(v)
        }
    }

    static func change(_ c: MetricComparison) -> String {
        c.changePercent.map { String(format: "%+.1f%%", $0) } ?? "—"
    }

    static func interval(_ c: MetricComparison) -> String {
        guard let i = c.interval else { return "—" }
        return String(format: "[%+.1f%%, %+.1f%%]", i.lowPercent, i.highPercent)
    }

    static func threshold(_ c: MetricComparison) -> String {
        String(format: "%+.0f%%", c.thresholdPercent)
    }

    static func spread(_ c: MetricComparison) -> String {
        guard let b = c.baseSpread, let n = c.newSpread else { return "" }
        return "[\(value(c.metric, b.min))–\(value(c.metric, b.max))] → [\(value(c.metric, n.min))–\(value(c.metric, n.max))]"
    }

    static func mark(_ v: MetricComparison.Verdict) -> String {
        switch v {
        case .regression: return "REGRESSION"
        case .improved: return "improved"
        case .unchanged: return "unchanged"
        case .unclear: return "unclear"
        case .notGated: return "not gated"
        }
    }

    static func verdictText(_ m: MetricComparison) -> String {
        m.verdict == .notGated ? "not gated: \(m.reason ?? "")" : mark(m.verdict)
    }

    static func noise(_ m: MetricComparison) -> String {
        guard let model = m.noiseModel else { return "" }
        var s = model.text
        if let df = m.degreesOfFreedom { s += String(format: ", df %.1f", df) }
        return s
    }

    /// One line for a metric: values, change, interval, threshold, noise model, verdict.
    static func detail(_ r: RunComparison, _ m: MetricComparison) -> String {
        var s = "\(m.metric.rawValue): \(value(m.metric, m.base)) → \(value(m.metric, m.new))"
        if m.verdict == .notGated {
            return s + ", threshold \(threshold(m)): not gated: \(m.reason ?? "")"
        }
        let level = m.interval.map { RunComparison.percent($0.level * 100) } ?? "?"
        s += ", change \(change(m)), \(level)% interval \(interval(m)), threshold \(threshold(m)), noise model \(noise(m))"
        if let note = m.reason { s += " (\(note))" }
        return s + ": \(mark(m.verdict)). Rule: \(r.rule)"
    }

    static func summary(_ r: RunComparison) -> String {
        var parts: [String] = []
        parts.append(r.regressions > 0 ? "REGRESSION in \(r.regressions) case\(r.regressions == 1 ? "" : "s")" : "no regression")
        if !r.missingInNew.isEmpty {
            parts.append("\(r.missingInNew.count) case\(r.missingInNew.count == 1 ? "" : "s") missing in new" + (r.allowMissing ? " (allowed)" : " (fails the gate)"))
        }
        let gated = r.cases.reduce(0) { $0 + $1.metrics.filter { $0.verdict != .notGated }.count }
        let notGated = r.cases.reduce(0) { $0 + $1.metrics.filter { $0.verdict == .notGated }.count }
        parts.append("\(r.improvements) improved")
        parts.append("\(r.cases.count) case\(r.cases.count == 1 ? "" : "s") compared, \(gated) metrics gated, \(notGated) not gated")
        return parts.joined(separator: "; ")
    }

    static func thresholdsLine(_ r: RunComparison) -> String {
        r.thresholds.map { String(format: "%@=%+.0f%%", $0.metric.rawValue, $0.percent) }.joined(separator: " ")
    }

    /// Notes shown once under a table: what each noise model's caveat is.
    static func notes(_ r: RunComparison) -> [String] {
        var seen: [String] = []
        for c in r.cases { for m in c.metrics where m.verdict != .notGated { if let n = m.reason, !seen.contains(n) { seen.append(n) } } }
        return seen
    }

    static func intervalHeader(_ r: RunComparison) -> String {
        "interval (\(RunComparison.percent((1 - 2 * r.alphaEffective) * 100))%)"
    }

    public static func text(_ r: RunComparison) -> String {
        var out = "compare \(r.base) → \(r.new): \(summary(r))\n"
        out += "rule: \(r.rule)\n"
        out += "thresholds: \(thresholdsLine(r)) (the same distance on the log scale counts as improved)\n"
        if r.paired { out += "paired: round i of \(r.new) against round i of \(r.base)\n" }
        out += "\n"
        var rows: [[String]] = []
        for c in r.cases {
            if let f = c.failure { rows.append([c.displayLabel, "status", "ok", "failed", "", "", "", "", "REGRESSION: \(f)"]) }
            for m in c.metrics {
                rows.append([c.displayLabel, m.metric.rawValue, value(m.metric, m.base), value(m.metric, m.new), change(m), interval(m),
                             threshold(m), noise(m), mark(m.verdict)])
            }
        }
        out += TextReport.table(headers: ["case", "metric", "base", "new", "change", intervalHeader(r), "threshold", "noise model", "verdict"], rows: rows)
        for c in r.cases { for m in c.metrics where m.verdict == .notGated { out += "not gated: \(c.displayLabel) \(m.metric.rawValue): \(m.reason ?? "")\n" } }
        for n in notes(r) { out += "note: \(n)\n" }
        for id in r.missingInNew { out += "missing in \(r.new): \(id)\(r.allowMissing ? " (allowed by --allow-missing)" : " (fails the gate; --allow-missing accepts it)")\n" }
        for id in r.missingInBase { out += "missing in \(r.base): \(id)\n" }
        return out
    }

    public static func markdown(_ r: RunComparison) -> String {
        let failed = r.exitCode != 0
        var out = "### iobench compare: \(failed ? "❌" : "✅") \(MarkdownReport.escape(summary(r)))\n\n"
        out += "\(MarkdownReport.code(r.base)) → \(MarkdownReport.code(r.new))\n\n"
        out += "Rule: \(MarkdownReport.escape(r.rule)). Thresholds: \(MarkdownReport.escape(thresholdsLine(r))).\n\n"
        out += "| case | metric | base | new | change | \(intervalHeader(r)) | threshold | noise model | verdict |\n"
        out += "|---|---|---:|---:|---:|---:|---:|---|---|\n"
        func row(_ cells: [String]) -> String { "| " + cells.joined(separator: " | ") + " |\n" }
        for c in r.cases {
            let label = MarkdownReport.escape(c.displayLabel)
            if let f = c.failure { out += row([label, "status", "ok", "failed", "", "", "", "", "**REGRESSION**: " + MarkdownReport.escape(f)]) }
            for m in c.metrics {
                let verdict = m.verdict == .regression ? "**REGRESSION**" : MarkdownReport.escape(verdictText(m))
                out += row([label, m.metric.rawValue, value(m.metric, m.base), value(m.metric, m.new), change(m), interval(m),
                            threshold(m), noise(m), verdict])
            }
        }
        let extra = notes(r).map { "note: " + MarkdownReport.escape($0) }
            + r.missingInNew.map { "missing in new: \(MarkdownReport.code($0))" + (r.allowMissing ? " (allowed)" : " (**fails the gate**)") }
            + r.missingInBase.map { "missing in base: \(MarkdownReport.code($0))" }
        if !extra.isEmpty { out += "\n" + extra.map { "- \($0)\n" }.joined() }
        return out
    }

    public static func json(_ r: RunComparison) throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var d = try enc.encode(r)
        d.append(0x0a)
        return d
    }

    static func xml(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(ch)
            }
        }
        return out
    }

    /// One test case per case and metric, named `<case id> <metric>`, where the case id
    /// is the case's identity (`key/id` with several targets, else the id; stable across
    /// thresholds); the threshold, interval and rule are in the message; `time` is the
    /// case's measured time in NEW. A regression is a `<failure>`, a metric not gated a
    /// `<skipped>`; a case failed in NEW is a failed `<case id> status`, a case missing
    /// from NEW a failed `<case id> present` (skipped with --allow-missing).
    public static func junit(_ r: RunComparison) -> String {
        struct TC { var classname: String; var name: String; var time: Double; var body: String; var failure: Bool; var skipped: Bool }
        var tcs: [TC] = []
        for c in r.cases {
            let t = c.elapsedSeconds
            if let f = c.failure {
                tcs.append(TC(classname: c.identity, name: "\(c.identity) status", time: t,
                              body: "      <failure message=\"\(xml(f))\" type=\"failed\">\(xml(f))</failure>\n", failure: true, skipped: false))
            }
            for m in c.metrics {
                let d = detail(r, m)
                let body: String
                switch m.verdict {
                case .regression: body = "      <failure message=\"\(xml(d))\" type=\"regression\">\(xml(d))</failure>\n"
                case .notGated: body = "      <skipped message=\"\(xml(d))\"/>\n"
                default: body = "      <system-out>\(xml(d))</system-out>\n"
                }
                tcs.append(TC(classname: c.identity, name: "\(c.identity) \(m.metric.rawValue)", time: t, body: body,
                              failure: m.verdict == .regression, skipped: m.verdict == .notGated))
            }
        }
        for id in r.missingInNew {
            let msg = "ok in \(r.base), missing in \(r.new)"
            if r.allowMissing {
                tcs.append(TC(classname: id, name: "\(id) present", time: 0, body: "      <skipped message=\"\(xml(msg + " (--allow-missing)"))\"/>\n", failure: false, skipped: true))
            } else {
                tcs.append(TC(classname: id, name: "\(id) present", time: 0, body: "      <failure message=\"\(xml(msg))\" type=\"missing\">\(xml(msg + "; --allow-missing accepts it"))</failure>\n", failure: true, skipped: false))
            }
        }
        for id in r.missingInBase {
            tcs.append(TC(classname: id, name: "\(id) in baseline", time: 0,
                          body: "      <skipped message=\"missing in \(xml(r.base)): no baseline to compare with\"/>\n", failure: false, skipped: true))
        }
        let failures = tcs.filter(\.failure).count, skipped = tcs.filter(\.skipped).count
        let total = r.cases.reduce(0.0) { $0 + $1.elapsedSeconds }
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"iobench compare\" tests=\"\(tcs.count)\" failures=\"\(failures)\" time=\"\(String(format: "%.3f", total))\">\n"
        out += "  <testsuite name=\"\(xml(r.new)) vs \(xml(r.base))\" tests=\"\(tcs.count)\" failures=\"\(failures)\" skipped=\"\(skipped)\" time=\"\(String(format: "%.3f", total))\">\n"
        out += "    <properties><property name=\"rule\" value=\"\(xml(r.rule))\"/></properties>\n"
        for t in tcs {
            out += "    <testcase classname=\"iobench.\(xml(t.classname))\" name=\"\(xml(t.name))\" time=\"\(String(format: "%.3f", t.time))\">\n"
            out += t.body
            out += "    </testcase>\n"
        }
        out += "  </testsuite>\n</testsuites>\n"
        return out
    }
}

import Foundation

/// `iobench compare` output for people (text), pull requests (Markdown), machines
/// (JSON) and CI systems (JUnit XML: one test case per case and metric).
public enum ComparisonReport {
    static func value(_ m: CompareMetric, _ v: Double) -> String {
        switch m {
        case .iops: return Fmt.count(v)
        case .cpu: return String(format: "%.2fµs", v / 1000)
        default: return Fmt.latency(v)
        }
    }

    static func change(_ c: MetricComparison) -> String {
        String(format: "%+.1f%%", c.changePercent)
    }

    static func spread(_ c: MetricComparison) -> String {
        guard let b = c.baseSpread, let n = c.newSpread else { return "" }
        return "[\(value(c.metric, b.min))–\(value(c.metric, b.max))] → [\(value(c.metric, n.min))–\(value(c.metric, n.max))]"
    }

    static func mark(_ v: MetricComparison.Verdict) -> String {
        switch v {
        case .regression: return "REGRESSION"
        case .improvement: return "improvement"
        case .noise: return "noise"
        case .unchanged: return "ok"
        }
    }

    static func summary(_ r: ComparisonResult) -> String {
        let verdict = r.regressions > 0 ? "REGRESSION in \(r.regressions) case\(r.regressions == 1 ? "" : "s")" : "no regression"
        return "\(verdict); \(r.improvements) improved; \(r.cases.count) compared"
    }

    public static func text(_ r: ComparisonResult) -> String {
        var out = "compare \(r.base) → \(r.new): \(summary(r))\n"
        out += "thresholds: " + r.thresholds.map { String(format: "%@=%+.0f%%", $0.metric.rawValue, $0.percent) }.joined(separator: " ") + "\n\n"
        var rows: [[String]] = []
        for c in r.cases {
            for m in c.metrics {
                rows.append([c.label, m.metric.rawValue, value(m.metric, m.base), value(m.metric, m.new), change(m),
                             String(format: "%+.0f%%", m.thresholdPercent), spread(m), mark(m.verdict)])
            }
        }
        out += TextReport.table(headers: ["case", "metric", "base", "new", "change", "threshold", "repeat spread base → new", "verdict"], rows: rows)
        for id in r.missingInNew { out += "missing in \(r.new): \(id)\n" }
        for id in r.missingInBase { out += "missing in \(r.base): \(id)\n" }
        return out
    }

    public static func markdown(_ r: ComparisonResult) -> String {
        var out = "### iobench compare: \(r.regressions > 0 ? "❌" : "✅") \(summary(r))\n\n"
        out += "`\(r.base)` → `\(r.new)`\n\n"
        out += "| case | metric | base | new | change | threshold | spread (base → new) | verdict |\n"
        out += "|---|---|---:|---:|---:|---:|---|---|\n"
        for c in r.cases {
            for m in c.metrics {
                let verdict = m.verdict == .regression ? "**REGRESSION**" : mark(m.verdict)
                out += "| \(c.label) | \(m.metric.rawValue) | \(value(m.metric, m.base)) | \(value(m.metric, m.new)) | \(change(m)) | \(String(format: "%+.0f%%", m.thresholdPercent)) | \(spread(m)) | \(verdict) |\n"
            }
        }
        if !r.missingInNew.isEmpty || !r.missingInBase.isEmpty {
            out += "\n"
            for id in r.missingInNew { out += "- missing in new: `\(id)`\n" }
            for id in r.missingInBase { out += "- missing in base: `\(id)`\n" }
        }
        return out
    }

    public static func json(_ r: ComparisonResult) throws -> Data {
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

    public static func junit(_ r: ComparisonResult) -> String {
        let tests = r.cases.reduce(0) { $0 + $1.metrics.count } + r.missingInNew.count + r.missingInBase.count
        let failures = r.cases.reduce(0) { $0 + $1.metrics.filter { $0.verdict == .regression }.count }
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"iobench compare\" tests=\"\(tests)\" failures=\"\(failures)\">\n"
        out += "  <testsuite name=\"\(xml(r.new)) vs \(xml(r.base))\" tests=\"\(tests)\" failures=\"\(failures)\" skipped=\"\(r.missingInNew.count + r.missingInBase.count)\">\n"
        for c in r.cases {
            for m in c.metrics {
                let name = "\(c.id) \(m.metric.rawValue) \(String(format: "%+.0f%%", m.thresholdPercent))"
                out += "    <testcase classname=\"iobench.\(xml(c.id))\" name=\"\(xml(name))\">\n"
                let detail = "\(m.metric.rawValue): \(value(m.metric, m.base)) → \(value(m.metric, m.new)) (\(change(m)), threshold \(String(format: "%+.0f%%", m.thresholdPercent)))\(m.baseSpread != nil ? " repeats " + spread(m) : "")"
                if m.verdict == .regression {
                    out += "      <failure message=\"\(xml(detail))\" type=\"regression\">\(xml(detail))</failure>\n"
                } else {
                    out += "      <system-out>\(xml(mark(m.verdict) + ": " + detail))</system-out>\n"
                }
                out += "    </testcase>\n"
            }
        }
        for id in r.missingInNew {
            out += "    <testcase classname=\"iobench.\(xml(id))\" name=\"\(xml(id)) present\">\n      <skipped message=\"missing in \(xml(r.new))\"/>\n    </testcase>\n"
        }
        for id in r.missingInBase {
            out += "    <testcase classname=\"iobench.\(xml(id))\" name=\"\(xml(id)) in baseline\">\n      <skipped message=\"missing in \(xml(r.base)): no baseline to compare with\"/>\n    </testcase>\n"
        }
        out += "  </testsuite>\n</testsuites>\n"
        return out
    }
}

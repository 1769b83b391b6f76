import IOBenchResults
/// A run as JUnit XML: one test case per case, failing when the case failed and skipped
/// when the machine could not run it, so CI systems list them natively. (Regressions
/// are judged by `iobench compare --format junit`.)
public enum RunJUnitReport {
    public static func render(_ r: RunResult) -> String {
        let failures = r.cases.filter { $0.status == .failed }.count
        let skipped = r.cases.filter { $0.status == .skipped }.count
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"iobench run\" tests=\"\(r.cases.count)\" failures=\"\(failures)\" skipped=\"\(skipped)\">\n"
        out += "  <testsuite name=\"iobench \(ComparisonReport.xml(r.environment.hostname))\" tests=\"\(r.cases.count)\" failures=\"\(failures)\" skipped=\"\(skipped)\">\n"
        for c in r.cases {
            let seconds = Double(c.elapsedNs) / 1e9
            out += "    <testcase classname=\"iobench.run\" name=\"\(ComparisonReport.xml(c.identity))\" time=\"\(String(format: "%.3f", seconds))\">\n"
            switch c.status {
            case .failed:
                out += "      <failure message=\"\(ComparisonReport.xml(c.reason ?? "failed"))\" type=\"\(c.failureClass?.rawValue ?? "failed")\"/>\n"
            case .skipped:
                out += "      <skipped message=\"\(ComparisonReport.xml(c.reason ?? "skipped"))\"/>\n"
            case .ok:
                if let l = c.latency {
                    let line = "\(Fmt.count(c.iops)) IOPS, p50 \(Fmt.latency(l.value(at: 50) ?? 0)), p99 \(Fmt.latency(l.value(at: 99) ?? 0)), CPU \(String(format: "%.2f", (c.cpu?.perIONs ?? 0) / 1000)) µs/IO"
                    out += "      <system-out>\(ComparisonReport.xml(line))</system-out>\n"
                }
            }
            out += "    </testcase>\n"
        }
        out += "  </testsuite>\n</testsuites>\n"
        return out
    }
}

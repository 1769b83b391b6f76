import Foundation
import XCTest
@testable import IOBenchKit
@testable import IOBenchPlatform
@testable import IOBenchHistogram
@testable import IOBenchEngines
@testable import IOBenchWorkload
@testable import IOBenchMeasurement
@testable import IOBenchResults
@testable import IOBenchReports

/// compare and merge as a pipeline calls them: exit codes, formats, bad files.
final class CompareCLITests: XCTestCase {
    var dir: ScratchDirectory!

    override func setUpWithError() throws { dir = try ScratchDirectory() }
    override func tearDown() { dir = nil }

    func runOnce(_ name: String, extra: [String] = []) throws -> String {
        let out = dir.file(name)
        let r = try CLI.run(["run", "--target", dir.file("t.dat"), "--size", "16m", "--engine", "io_uring", "--iodepth", "4",
                             "--number-ios", "2000", "--ramp-time", "0", "--repeat", "2", "--no-progress", "--output", out] + extra)
        XCTAssertEqual(r.status, 0, r.stderr)
        return out
    }

    func testCompareExitCodesAndFormats() throws {
        let base = try runOnce("base.json")
        // The same result compared with itself: nothing changed.
        let same = try CLI.run(["compare", base, base])
        XCTAssertEqual(same.status, 0, same.stdout + same.stderr)
        XCTAssertTrue(same.stdout.contains("no regression"), same.stdout)

        // A result made worse by hand: every latency in every histogram doubled (the
        // gate reads the histograms, never the printed percentile list), IOPS halved.
        let worse = try Self.worsened(try ResultFile.read(base), latencyFactor: 2)
        let worsePath = dir.file("worse.json")
        try ResultWriter.writeJSON(worse, to: worsePath)
        let bad = try CLI.run(["compare", base, worsePath])
        XCTAssertEqual(bad.status, 1, bad.stdout + bad.stderr)
        XCTAssertTrue(bad.stdout.contains("REGRESSION"), bad.stdout)
        let md = try CLI.run(["compare", base, worsePath, "--format", "markdown"])
        XCTAssertEqual(md.status, 1)
        XCTAssertTrue(md.stdout.contains("| case | metric |"), md.stdout)
        let junit = try CLI.run(["compare", base, worsePath, "--format", "junit"])
        XCTAssertEqual(junit.status, 1)
        // Well-formed XML with failures, as a CI system's parser sees it.
        let xmlPath = dir.file("junit.xml")
        try junit.stdout.write(toFile: xmlPath, atomically: true, encoding: .utf8)
        let parsed = sh("python3 -c \"import sys, xml.etree.ElementTree as E; t = E.parse(sys.argv[1]); print(len(t.findall('.//testcase')), len(t.findall('.//testcase/failure')))\" '\(xmlPath)'")
        XCTAssertEqual(parsed.status, 0, parsed.output)
        let counts = parsed.output.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        XCTAssertEqual(counts.count, 2)
        XCTAssertEqual(counts.first, 6, "one test case per case and metric")
        XCTAssertGreaterThan(counts.last ?? 0, 0)
        let json = try CLI.run(["compare", base, worsePath, "--format", "json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(object?["schema"] as? String, "iobench/compare")
        XCTAssertEqual(object?["regressions"] as? Int, 1)
        XCTAssertEqual(object?["schema_version"] as? Int, 2)
        // The improvement direction is not a failure.
        XCTAssertEqual(try CLI.run(["compare", worsePath, base]).status, 0)

        // --output is the JSON comparison whatever --format prints.
        for format in ["text", "markdown", "junit", "json"] {
            let out = dir.file("compare-\(format).json")
            let r = try CLI.run(["compare", base, worsePath, "--format", format, "--output", out])
            XCTAssertEqual(r.status, 1, r.stderr)
            let written = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any]
            XCTAssertEqual(written?["schema"] as? String, "iobench/compare", format)
            if format == "junit" { XCTAssertTrue(r.stdout.hasPrefix("<?xml"), r.stdout) }
        }
        // Every failure message carries its threshold, interval and rule; names are `<id> <metric>`.
        XCTAssertTrue(junit.stdout.contains("name=\"io_uring-randread-bs4k-qd4-j1 p50\""), junit.stdout)
        XCTAssertTrue(junit.stdout.contains("threshold +5%") && junit.stdout.contains("interval [") && junit.stdout.contains("Rule: "), junit.stdout)
    }

    /// `r` with every latency of every histogram (case and repeats) multiplied by
    /// `latencyFactor` and IOPS divided by it, summaries recomputed from the histograms.
    static func worsened(_ r: RunResult, latencyFactor f: UInt64) throws -> RunResult {
        func scale(_ h: LatencyHistogram) -> (HistogramEncoding, LatencySummary) {
            var out = LatencyHistogram()
            for v in h.histogram.recordedValues() where v.count > 0 {
                for _ in 0 ..< v.count { out.record(v.value * f) }
            }
            return (HistogramEncoding(out), LatencySummary(out))
        }
        var w = r
        for i in w.cases.indices {
            var c = w.cases[i]
            c.iops /= Double(f)
            if let h = c.histogram { let (e, l) = scale(h.live); c.histogram = e; c.latency = l }
            if var reps = c.repeats {
                for k in reps.indices {
                    reps[k].iops /= Double(f)
                    if let h = reps[k].histogram { let (e, l) = scale(h.live); reps[k].histogram = e; reps[k].latency = l }
                }
                c.repeats = reps
            }
            w.cases[i] = c
        }
        return w
    }

    func testStrictVerdictsFromTheCLI() throws {
        let base = try runOnce("base.json")
        var r = try ResultFile.read(base)
        // A case ok in BASE and failed in NEW: a regression, exit 1.
        var failed = r
        failed.cases[0].status = .failed
        failed.cases[0].reason = "pread: Input/output error"
        var other = r.cases[0]
        other.id = "psync-randread-bs4k-qd1-j1"
        other.config.engine = .psync
        other.config.queueDepth = 1
        failed.cases.append(other)
        r.cases.append(other)
        let both = dir.file("both.json"), failedPath = dir.file("failed.json")
        try ResultWriter.writeJSON(r, to: both)
        try ResultWriter.writeJSON(failed, to: failedPath)
        let f = try CLI.run(["compare", both, failedPath])
        XCTAssertEqual(f.status, 1, f.stdout + f.stderr)
        XCTAssertTrue(f.stdout.contains("failed in \(failedPath): pread: Input/output error"), f.stdout)
        // A case missing from NEW: exit 1 unless --allow-missing.
        XCTAssertEqual(try CLI.run(["compare", both, base]).status, 1)
        XCTAssertEqual(try CLI.run(["compare", both, base, "--allow-missing"]).status, 0)
        // Nothing compared: exit 2 with the reason on one line.
        var none = r
        none.cases = []
        let nonePath = dir.file("none.json")
        try ResultWriter.writeJSON(none, to: nonePath)
        let n = try CLI.run(["compare", base, nonePath])
        XCTAssertEqual(n.status, 2)
        XCTAssertTrue(n.stderr.contains("has no cases"), n.stderr)
        XCTAssertEqual(n.stderr.split(separator: "\n").count, 1, n.stderr)
        var foreign = r
        foreign.cases = [other]
        let foreignPath = dir.file("foreign.json")
        try ResultWriter.writeJSON(foreign, to: foreignPath)
        let fo = try CLI.run(["compare", base, foreignPath])
        XCTAssertEqual(fo.status, 2)
        XCTAssertTrue(fo.stderr.contains("no case id is in both files"), fo.stderr)
        XCTAssertEqual(try CLI.run(["compare", base, base, "--alpha", "0.7"]).status, 2)
    }

    func testBadResultFilesAreExit2() throws {
        let base = try runOnce("base.json")
        let text = try String(contentsOfFile: base, encoding: .utf8)
        let cases: [(String, String, String)] = [
            ("truncated.json", String(text.prefix(text.count / 2)), "does not parse"),
            ("empty.json", "", "is empty"),
            ("v2.json", text.replacingOccurrences(of: "\"schema_version\" : 1", with: "\"schema_version\" : 2"), "schema version 2"),
            ("nan.json", text.replacingOccurrences(of: "\"ios\" : ", with: "\"ios\" : -"), "malformed"),
            ("other.json", "{\"hello\": 1}", "not an iobench result"),
        ]
        for (name, content, mention) in cases {
            let p = dir.file(name)
            try content.write(toFile: p, atomically: true, encoding: .utf8)
            let r = try CLI.run(["compare", base, p])
            XCTAssertEqual(r.status, 2, "\(name): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(mention), "\(name): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }
        XCTAssertEqual(try CLI.run(["compare", base, dir.file("missing.json")]).status, 2)
        XCTAssertEqual(try CLI.run(["compare", base, base, "--threshold", "p99=-5%"]).status, 2)
        XCTAssertEqual(try CLI.run(["merge", dir.file("missing.json"), "-o", dir.file("m.json")]).status, 2)
    }

    func testMergeCLIKeepsHostsAndAddsHistograms() throws {
        let a = try runOnce("a.json"), b = try runOnce("b.json")
        let out = dir.file("all.json")
        let r = try CLI.run(["merge", a, b, "-o", out, "--format", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let merged = try ResultFile.read(out)
        let ra = try ResultFile.read(a), rb = try ResultFile.read(b)
        XCTAssertEqual(merged.cases.count, 1)
        XCTAssertEqual(merged.cases[0].ios, ra.cases[0].ios + rb.cases[0].ios)
        XCTAssertEqual(merged.cases[0].latency?.count, ra.cases[0].ios + rb.cases[0].ios)
        XCTAssertEqual(merged.cases[0].sources?.count, 2)
        XCTAssertEqual(merged.mergedFrom?.map(\.file), [a, b])
    }

    func testRepeatAndHistLogFromTheCLI() throws {
        let log = dir.file("run.hlog")
        let out = try runOnce("rep.json", extra: ["--hist-log", log, "--hist-interval", "100ms"])
        let r = try ResultFile.read(out)
        XCTAssertEqual(r.repeatCount, 2)
        XCTAssertEqual(r.cases[0].repeats?.count, 2)
        XCTAssertEqual(r.cases[0].ios, 4000)
        XCTAssertEqual(r.cases[0].spread?.count, 2)
        let text = try String(contentsOfFile: log, encoding: .utf8)
        XCTAssertTrue(text.contains("\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\""))
        // The interval histograms add up to every measured read.
        let py = """
        import sys
        from hdrh.log import HistogramLogReader
        from hdrh.histogram import HdrHistogram
        r = HistogramLogReader(sys.argv[1], HdrHistogram(1, 60000000000, 3))
        n = 0
        while True:
            h = r.get_next_interval_histogram()
            if h is None: break
            n += h.get_total_count()
        print(n)
        """
        let script = dir.file("read.py")
        try py.write(toFile: script, atomically: true, encoding: .utf8)
        let res = sh("python3 '\(script)' '\(log)'")
        XCTAssertEqual(res.status, 0, res.output)
        XCTAssertEqual(res.output.trimmingCharacters(in: .whitespacesAndNewlines), "4000")
    }

    /// --hist-log hands each finished interval to a thread that keeps it compressed:
    /// with 10 ms intervals and two jobs, every measured read is in exactly one interval,
    /// and the intervals tile the run (none lost at a hand-over, none counted twice).
    func testShortIntervalsFromTwoJobsAddUpToEveryRead() throws {
        let log = dir.file("short.hlog"), out = dir.file("short.json")
        let r = try CLI.run(["run", "--target", dir.file("t.dat"), "--size", "16m", "--engine", "io_uring", "--iodepth", "8",
                             "--numjobs", "2", "--runtime", "600ms", "--ramp-time", "0", "--no-progress", "--output", out,
                             "--hist-log", log, "--hist-interval", "10ms"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let result = try ResultFile.read(out)
        let ios = result.cases[0].ios
        XCTAssertGreaterThan(ios, 1000)
        let py = """
        import sys
        from hdrh.log import HistogramLogReader
        from hdrh.histogram import HdrHistogram
        r = HistogramLogReader(sys.argv[1], HdrHistogram(1, 60000000000, 3))
        n = 0; k = 0
        while True:
            h = r.get_next_interval_histogram()
            if h is None: break
            n += h.get_total_count(); k += 1
        print(n, k)
        """
        let script = dir.file("short.py")
        try py.write(toFile: script, atomically: true, encoding: .utf8)
        let res = sh("python3 '\(script)' '\(log)'")
        XCTAssertEqual(res.status, 0, res.output)
        let fields = res.output.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        XCTAssertEqual(fields.first.map(UInt64.init), ios, "interval counts add up to the case's reads")
        // 600 ms in 10 ms intervals: about 60 (an interval ends at the first completion
        // after 10 ms, so a few fewer), merged across the two jobs by position.
        XCTAssertGreaterThanOrEqual(fields.last ?? 0, 40, res.output)
        XCTAssertLessThanOrEqual(fields.last ?? 0, 62, res.output)
    }
}

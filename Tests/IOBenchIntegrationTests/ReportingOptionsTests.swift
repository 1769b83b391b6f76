import Foundation
import XCTest
@testable import IOBenchKit
@testable import IOBenchPlatform
@testable import IOBenchHistogram
@testable import IOBenchResults
@testable import IOBenchReports

/// What the user sees beside the numbers: `--percentiles` (the list reported, the
/// histogram whole), `--status-interval` (lines in a CI log), and fio's option names.
final class ReportingOptionsTests: XCTestCase {
    var dir: ScratchDirectory!
    var target: String { dir.file("t.dat") }

    override func setUpWithError() throws {
        dir = try ScratchDirectory()
        try makeStampedFile(dir.file("t.dat"), size: 32 << 20)
    }

    override func tearDown() { dir = nil }

    /// The JSON lists exactly the asked percentiles, each the histogram's own value there;
    /// the text table has those columns; compare still gates p99 from the histograms.
    func testPercentilesSetTheReportedListAndKeepTheHistogramWhole() throws {
        let base = dir.file("base.json"), new = dir.file("new.json")
        let args = ["run", "--target", target, "--engine", "psync", "--number-ios", "5000", "--ramp-time", "0", "--no-progress"]
        let r = try CLI.run(args + ["--percentiles", "99.9,50,99,50", "--output", new])
        XCTAssertEqual(r.status, 0, r.stderr)
        let header = try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.hasPrefix("case ") }, r.stdout)
        XCTAssertEqual(header.split(separator: " ").filter { $0.hasPrefix("p") }, ["p50", "p99", "p99.9"], String(header))

        let result = try RunResult.decode(Data(contentsOf: URL(fileURLWithPath: new)), source: new)
        XCTAssertEqual(result.percentiles, [50, 99, 99.9])
        let c = try XCTUnwrap(result.cases.first)
        let h = try XCTUnwrap(c.histogram?.live)
        let raw = try XCTUnwrap(RunJSON(file: new)?.cases.first?["latency"] as? [String: Any])
        XCTAssertEqual((raw["percentiles"] as? [[String: Any]])?.map { ($0["percentile"] as? NSNumber)?.doubleValue }, [50, 99, 99.9],
                       "the file lists exactly the asked percentiles")
        // Read back, every summary has the standard ones too (from the histogram), for the
        // reports that show p90 or p99.99 whatever the list.
        XCTAssertEqual(Set(c.latency?.percentiles.map(\.percentile) ?? []), Set(LatencySummary.reportedPercentiles + [50, 99, 99.9]))
        for p in c.latency?.percentiles ?? [] {
            XCTAssertEqual(p.valueNs, min(h.value(atPercentile: p.percentile), c.latency!.maxNs), "p\(p.percentile)")
        }
        XCTAssertEqual(h.count, c.ios, "the histogram holds every read")
        let valid = validateStrictly(new)
        XCTAssertEqual(valid.status, 0, "the result of --percentiles against its schema: \(valid.output)")

        // Formats with fixed columns still have every value: CSV's p90 and p99.99, JUnit's p99.
        let csv = try CLI.run(args + ["--percentiles", "50", "--format", "csv"])
        let rows = csv.stdout.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let head = try XCTUnwrap(rows.first), row = try XCTUnwrap(rows.dropFirst().first)
        for column in ["p50_ns", "p90_ns", "p99_ns", "p99_99_ns"] {
            let i = try XCTUnwrap(head.firstIndex(of: column), "\(head)")
            XCTAssertGreaterThan(Int(row[i]) ?? 0, 0, "\(column) with --percentiles 50: \(csv.stdout)")
        }
        let junit = try CLI.run(args + ["--percentiles", "50", "--format", "junit"])
        XCTAssertNil(junit.stdout.range(of: "p99 0ns"), junit.stdout)

        XCTAssertEqual(try CLI.run(args + ["--output", base]).status, 0)
        let cmp = try CLI.run(["compare", base, new, "--format", "json"])
        XCTAssertTrue([0, 1].contains(cmp.status), cmp.stderr)
        XCTAssertTrue(cmp.stdout.contains("\"p99\""), "compare gates p99 from the histograms whatever was printed: \(cmp.stdout.prefix(400))")

        for bad in ["0", "100.5", "abc", "50,,99"] {
            let e = try CLI.run(["run", "--target", target, "--percentiles", bad])
            XCTAssertEqual(e.status, 2, "--percentiles \(bad)")
            XCTAssertTrue(e.stderr.contains("--percentiles") && e.stderr.split(separator: "\n").count == 1, e.stderr)
        }
    }

    /// Results written with different lists merge from their histograms: the spread of
    /// p99 covers every source, and the merged p99 (of the mixture) lies inside it. With
    /// --repeat the spread covers the asked percentiles.
    func testResultsWithDifferentListsMergeFromTheirHistograms() throws {
        var files: [String] = []
        for (i, list) in [["--percentiles", "33"], ["--percentiles", "50,99.99"], []].enumerated() {
            let f = dir.file("m\(i).json")
            let r = try CLI.run(["run", "--target", target, "--engine", "psync", "--number-ios", "3000", "--ramp-time", "0",
                                 "--no-progress", "--output", f] + list)
            XCTAssertEqual(r.status, 0, r.stderr)
            files.append(f)
        }
        let merged = dir.file("merged.json")
        XCTAssertEqual(try CLI.run(["merge"] + files + ["-o", merged]).status, 0)
        let c = try XCTUnwrap(RunJSON(file: merged)?.cases.first)
        let spread = try XCTUnwrap((c["spread"] as? [String: Any])?["percentiles_ns"] as? [String: [String: Any]])
        let p99 = try XCTUnwrap(spread["99"])
        let lo = RunJSON.int(p99["min"]), hi = RunJSON.int(p99["max"])
        let value = RunJSON.int(((c["latency"] as? [String: Any])?["percentiles"] as? [[String: Any]])?.first { ($0["percentile"] as? Double) == 99 }?["value_ns"])
        XCTAssertGreaterThan(value, 0)
        XCTAssertTrue(lo <= value && value <= hi, "merged p99 \(value) outside the sources' \(lo)...\(hi)")

        let rep = try CLI.run(["run", "--target", target, "--engine", "psync", "--number-ios", "2000", "--ramp-time", "0", "--repeat", "3",
                               "--percentiles", "33,99.95", "--format", "json", "--no-progress"])
        let keys = ((RunJSON(rep.stdout)?.cases.first?["spread"] as? [String: Any])?["percentiles_ns"] as? [String: Any])?.keys.sorted()
        XCTAssertEqual(keys, ["33", "99.95"], rep.stderr)
    }

    /// With stderr a pipe (a CI log), one status line per interval while a case runs: the
    /// case, the elapsed time, IOPS and p99 so far, which settles on the final value.
    func testStatusIntervalPrintsLinesToALog() throws {
        let r = try CLI.run(["run", "--target", target, "--engine", "psync,io_uring", "--iodepth", "1", "--runtime", "2500ms",
                             "--ramp-time", "0", "--status-interval", "1s", "--format", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("iobench: status ") }
        let pattern = #"^iobench: status \[[12]/2\] (psync|io_uring) 4k QD1: \d+\.\d s, [\d.]+[kM]? IOPS, p99 ([\d.]+(ns|µs|ms|s)|-) \([\d.]+[kM]? reads\)$"#
        for line in lines { XCTAssertNotNil(line.range(of: pattern, options: .regularExpression), String(line)) }
        for engine in ["psync", "io_uring"] {
            let mine = lines.filter { $0.contains("] \(engine) 4k") }
            XCTAssertGreaterThanOrEqual(mine.count, 2, "\(engine): one line a second for 2.5 s: \(r.stderr)")
            XCTAssertFalse(mine.last?.contains("p99 -") ?? true, "after two whole seconds p99 is known: \(mine)")
        }
        let none = try CLI.run(["run", "--target", target, "--engine", "psync", "--number-ios", "2000", "--ramp-time", "0", "--format", "json"])
        XCTAssertFalse(none.stderr.contains("iobench: status"), "no status lines unless asked")
        let short = try CLI.run(["run", "--target", target, "--status-interval", "10ms"])
        XCTAssertEqual(short.status, 2, short.stderr)
    }

    /// fio's names for options get iobench's equivalent, in one line, exit 2.
    func testFioOptionNamesGetTheirEquivalent() throws {
        let cases: [(String, String)] = [
            ("--filename=/dev/nvme0n1", "--target"), ("--ioengine=io_uring", "--engine"), ("--direct=1", "O_DIRECT"),
            ("--rw=randwrite", "only reads"), ("--ramp_time=2", "--ramp-time"), ("--time_based", "--runtime"),
            ("--iodepth_batch_submit=8", "--submit-batch"), ("--sqthread_poll=1", "--sqpoll"), ("--percentile_list=99", "--percentiles"),
            ("--output-format=json", "--format"), ("--randseed=7", "--seed"),
        ]
        for (arg, equivalent) in cases {
            let r = try CLI.run(["run", "--target", target, arg])
            XCTAssertEqual(r.status, 2, arg)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains("fio's") || r.stderr.contains("only reads"), r.stderr)
            XCTAssertTrue(r.stderr.contains(equivalent), "\(arg): \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("Did you mean"), r.stderr)
        }
    }

    /// No fio name in the table is also one of iobench's own options (it would then be
    /// hinted at when another option is wrong).
    func testFioHintsNeverShadowAnIOBenchOption() throws {
        var options = Set<String>()
        for sub in ["run", "prepare", "inspect", "compare", "merge", "report", "lab"] {
            let help = try CLI.run([sub, "--help"]).stdout
            for m in help.matches(of: /--([a-z][a-z0-9_-]*)/) { options.insert(String(m.1)) }
        }
        XCTAssertTrue(options.contains("iodepth") && options.contains("target"), "help was read")
        let hints = try CLI.run(["run", "--ioengine=x"]).stderr
        XCTAssertTrue(hints.contains("fio's"))
        for name in ["filename", "directory", "ioengine", "direct", "readwrite", "blocksize", "time_based", "ramp_time",
                     "number_ios", "fixedbufs", "registerfiles", "sqthread_poll", "iodepth_batch", "iodepth_batch_submit",
                     "iodepth_batch_complete", "iodepth_batch_complete_min", "cpus_allowed", "randseed", "rate_iops",
                     "group_reporting", "percentile_list", "output-format", "write_hist_log", "log_hist_msec", "loops", "name"] {
            XCTAssertFalse(options.contains(name), "--\(name) is iobench's own option and fio's hint would shadow it")
        }
    }
}

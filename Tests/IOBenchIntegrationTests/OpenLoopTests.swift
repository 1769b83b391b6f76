import Foundation
import XCTest
import CIOBenchShim
@testable import IOBenchKit
@testable import IOBenchPlatform
@testable import IOBenchHistogram
@testable import IOBenchEngines
@testable import IOBenchWorkload
@testable import IOBenchMeasurement
@testable import IOBenchResults
@testable import IOBenchReports

/// A stamped 16 MiB file on tmpfs when there is one (reads of about a µs, so the
/// schedule, not the device, is what the open-loop tests see), else in `dir`.
func memoryTargetFile(_ dir: ScratchDirectory) throws -> String {
    let shm = "/dev/shm"
    let path = FileManager.default.isWritableFile(atPath: shm)
        ? shm + "/iobench-openloop-\(getpid())-\(UUID().uuidString.prefix(8)).dat" : dir.file("t.dat")
    try makeStampedFile(path, size: 16 << 20)
    return path
}

/// Tests that read a stamped file on tmpfs (`shmFile`), removed after each test.
class MemoryTargetTestCase: XCTestCase {
    var dir: ScratchDirectory!
    var shmFile: String!

    override func setUpWithError() throws {
        dir = try ScratchDirectory()
        shmFile = try memoryTargetFile(dir)
    }

    override func tearDown() {
        if let shmFile { unlink(shmFile) }
        dir = nil
    }
}

/// Open-loop runs (issue 14) through the CLI, on real files: the rate is kept and
/// arrivals issue on time; a stop of the whole process (SIGSTOP, 500 ms) shows in the
/// response time of every read due during it and not in the service time, while a
/// closed loop under the same stall hides it; a rate the target cannot keep is marked
/// saturated; bad input is refused with exit 2.
final class OpenLoopTests: MemoryTargetTestCase {

    func decode(_ json: String) throws -> CaseResult {
        let r = try RunResult.decode(Data(json.utf8), source: "stdout")
        return try XCTUnwrap(r.cases.first)
    }

    func testRateIsKeptAndArrivalsIssueOnTime() throws {
        // A rate far under what tmpfs does (about 500k reads/s here): achieved within 1%
        // of the asked rate (uniform), or within 4 standard errors of it (Poisson, whose
        // count is random), and the issue lag's p90 under 20 µs. (Its p99 is bounded here
        // by the VM: the host takes the vCPU away for ms at a time, about 2% of it; see
        // benchmarks/open_loop.py, which reports p99 against the 20 µs goal.) The machine
        // may be busy with other work: up to 3 tries, every one's figures in the failure
        // message.
        for process in ["uniform", "poisson"] {
            var tries: [String] = []
            var passed = false
            for _ in 0 ..< 3 where !passed {
                let r = try CLI.run(["run", "--target", shmFile, "--engine", "psync", "--rate-iops", "20k",
                                     "--arrival", process, "--runtime", "2s", "--ramp-time", "200ms",
                                     "--format", "json", "--no-progress"])
                XCTAssertEqual(r.status, 0, r.stderr)
                let c = try decode(r.stdout)
                let o = try XCTUnwrap(c.openLoop)
                XCTAssertEqual(o.askedIOPS, 20_000)
                XCTAssertEqual(o.issued, o.arrivals, "every arrival of the measured phase was issued")
                XCTAssertEqual(o.responseTime.count, c.latency?.count, "one response time per measured read")
                let tolerance = process == "uniform" ? 0.01 : 4 / Double(o.arrivals).squareRoot()
                let lagP90 = o.issueLag.value(at: 90) ?? .max
                tries.append("achieved \(o.achievedFraction) (±\(tolerance)), issue lag p90 \(lagP90) ns, p99 \(o.issueLag.value(at: 99) ?? 0) ns, saturated \(o.saturated)")
                passed = abs(o.achievedFraction - 1) <= tolerance && lagP90 < 20_000 && !o.saturated
            }
            XCTAssertTrue(passed, "\(process): " + tries.joined(separator: "; "))
        }
    }

    /// Runs at 5k reads/s for 3 s and stops the process for 500 ms in the middle.
    func stalledRun(_ extra: [String]) throws -> CaseResult {
        let p = try BackgroundIOBench(["run", "--target", shmFile, "--engine", "psync", "--runtime", "3s",
                                       "--ramp-time", "0", "--format", "json", "--no-progress"] + extra)
        Thread.sleep(forTimeInterval: 1.2)
        p.send(SIGSTOP)
        Thread.sleep(forTimeInterval: 0.5)
        p.send(SIGCONT)
        let end = p.wait(timeout: 30)
        XCTAssertEqual(end?.status, 0, p.stderr)
        return try decode(p.stdout)
    }

    func testStallShowsInResponseTimeAndNotInServiceTime() throws {
        let open = try stalledRun(["--rate-iops", "5k"])
        let o = try XCTUnwrap(open.openLoop)
        let response = try XCTUnwrap(o.responseTimeHistogram?.live)
        let service = try XCTUnwrap(open.histogram?.live)
        // The 2,500 reads due during the 500 ms stall (5k/s) wait for it: latencies
        // spread from about 500 ms down to 0, so about 2,450 above 10 ms. Counted from the
        // histogram. (Above 1 ms would also count the scheduling delays of a busy
        // machine; the stall itself may last a little longer than the 500 ms asked when
        // the test's own thread is late to send SIGCONT, hence the upper bound.)
        func above(_ h: LatencyHistogram, _ ns: UInt64) -> UInt64 {
            h.count - h.histogram.count(within: 0 ... ns)
        }
        let delayed = above(response, 10_000_000)
        XCTAssertGreaterThan(delayed, 2000, "response times above 10 ms: \(delayed) (expected about 2,450)")
        XCTAssertLessThan(delayed, 2900, "response times above 10 ms: \(delayed) (expected about 2,450)")
        XCTAssertGreaterThan(response.max, 400_000_000, "the first read due in the stall waited nearly all of it")
        XCTAssertGreaterThan(above(response, 250_000_000), 800, "the delays are spread up to 500 ms, not bunched")
        // Service time: only the read(s) in flight when the process stopped.
        XCTAssertLessThan(above(service, 1_000_000), 20, "service times above 1 ms")
        XCTAssertFalse(o.saturated, "the backlog drained after the stall: \(o.saturatedReason ?? "")")

        // The closed loop under the same stall: its p99 does not show it at all.
        let closed = try stalledRun([])
        XCTAssertNil(closed.openLoop)
        let closedP99 = try XCTUnwrap(closed.latency?.value(at: 99))
        XCTAssertLessThan(closedP99, 1_000_000, "closed-loop p99 \(closedP99) ns")
        let openP99 = try XCTUnwrap(o.responseTime.value(at: 99))
        XCTAssertGreaterThan(openP99, 300_000_000, "open-loop response p99 \(openP99) ns")
    }

    func testRateAboveWhatTheTargetDoesIsSaturated() throws {
        let r = try CLI.run(["run", "--target", shmFile, "--engine", "psync", "--rate-iops", "20M",
                             "--runtime", "1s", "--ramp-time", "0", "--format", "json", "--no-progress"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let o = try XCTUnwrap(try decode(r.stdout).openLoop)
        XCTAssertTrue(o.saturated)
        XCTAssertLessThan(o.achievedFraction, 0.99)
        XCTAssertTrue(o.saturatedReason?.contains("of the asked rate") ?? false, o.saturatedReason ?? "")
        XCTAssertGreaterThan(o.backlogAtEndNs, 100_000_000, "arrivals were far behind at the end")
        // The text report marks the point.
        let t = try CLI.run(["run", "--target", shmFile, "--engine", "psync", "--rate-iops", "20M",
                             "--runtime", "300ms", "--ramp-time", "0", "--no-progress"])
        XCTAssertEqual(t.status, 0, t.stderr)
        XCTAssertTrue(t.stdout.contains("latency at a given rate (open loop)"), t.stdout)
        XCTAssertTrue(t.stdout.contains("SATURATED"), t.stdout)
        XCTAssertTrue(t.stdout.contains("saturated: psync 4k QD1 @20M/s: achieved"), t.stdout)
        XCTAssertTrue(t.stdout.contains("response time against achieved rate (o p50, ● p99, + p99.9"), t.stdout)
        XCTAssertTrue(t.stdout.contains("●") && t.stdout.contains("SATURATED"), t.stdout)
    }

    func testHistLogRecordsTheResponseTimeAndMergeAddsOpenLoopResults() throws {
        // --hist-log logs the open loop's headline latency (the response time): its
        // intervals add up to the response-time histogram's count.
        let log = dir.file("ol.hlog")
        var files: [String] = []
        for name in ["a", "b"] {
            let f = dir.file("\(name).json")
            var args = ["run", "--target", shmFile!, "--engine", "psync", "--rate-iops", "4k", "--runtime", "1500ms",
                        "--ramp-time", "0", "--no-progress", "--output", f]
            if name == "a" { args += ["--hist-log", log, "--hist-interval", "250ms"] }
            let r = try CLI.run(args)
            XCTAssertEqual(r.status, 0, r.stderr)
            files.append(f)
        }
        let a = try RunResult.decode(Data(contentsOf: URL(fileURLWithPath: files[0])), source: files[0]).cases[0]
        let b = try RunResult.decode(Data(contentsOf: URL(fileURLWithPath: files[1])), source: files[1]).cases[0]
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.hasPrefix("\"") && $0.contains(",") && !$0.hasPrefix("Start") }
        var logged: UInt64 = 0
        for line in lines {
            let fields = line.split(separator: ",")
            let h = try HdrV2Codec.decode(String(fields.last!))
            logged += h.count
        }
        XCTAssertGreaterThan(lines.count, 3)
        XCTAssertEqual(logged, a.openLoop?.responseTime.count, "the log holds every response time")

        let merged = dir.file("m.json")
        let m = try CLI.run(["merge", files[0], files[1], "--output", merged])
        XCTAssertEqual(m.status, 0, m.stderr)
        let c = try RunResult.decode(Data(contentsOf: URL(fileURLWithPath: merged)), source: merged).cases[0]
        let o = try XCTUnwrap(c.openLoop, "a merged open-loop case keeps open_loop")
        XCTAssertEqual(o.responseTime.count, a.openLoop!.responseTime.count + b.openLoop!.responseTime.count)
        XCTAssertEqual(o.arrivals, a.openLoop!.arrivals + b.openLoop!.arrivals)
        XCTAssertEqual(o.responseTime.maxNs, max(a.openLoop!.responseTime.maxNs, b.openLoop!.responseTime.maxNs))
        XCTAssertEqual(c.repeats?.count, 2)
        XCTAssertNotNil(c.repeats?[0].openLoop, "each source's open loop is kept with its repeat")
    }

    func testOpenLoopWorksForEveryEngineAndKeepsItsJSONFields() throws {
        for (engine, depth) in [("psync", "1"), ("pvsync2", "1"), ("libaio", "8"), ("io_uring", "8"), ("null", "1"), ("io_uring-nop", "8")] {
            let r = try CLI.run(["run", "--target", shmFile, "--engine", engine, "--iodepth", depth, "--rate-iops", "2k,4k",
                                 "--runtime", "500ms", "--ramp-time", "0", "--format", "json", "--no-progress"])
            if r.status != 0, r.stderr.contains("io_uring is disabled") { continue }
            XCTAssertEqual(r.status, 0, "\(engine): \(r.stderr)")
            let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            let cases = try XCTUnwrap(json["cases"] as? [[String: Any]])
            XCTAssertEqual(cases.count, 2, engine)
            for (c, rate) in zip(cases, [2000.0, 4000.0]) {
                XCTAssertEqual(c["status"] as? String, "ok", "\(engine): \(c["reason"] ?? "")")
                XCTAssertTrue((c["id"] as? String)?.hasSuffix("-r\(Int(rate))") ?? false, "\(c["id"] ?? "")")
                let o = try XCTUnwrap(c["open_loop"] as? [String: Any], engine)
                for key in ["arrival", "asked_iops", "achieved_iops", "achieved_fraction", "arrivals", "issued",
                            "backlog_at_end_ns", "backlog_max_ns", "backlog_timeline_ns", "saturated",
                            "response_time", "response_time_histogram", "issue_lag", "issue_lag_histogram"] {
                    XCTAssertNotNil(o[key], "\(engine): open_loop.\(key)")
                }
                XCTAssertEqual(o["asked_iops"] as? Double, rate)
                let achieved = try XCTUnwrap(o["achieved_iops"] as? Double)
                XCTAssertEqual(achieved / rate, 1, accuracy: 0.05, "\(engine) at \(rate)/s achieved \(achieved)")
                // The service time stays where a closed loop puts its latency.
                XCTAssertNotNil(c["latency"], engine)
            }
        }
    }

    func testBadOpenLoopInputIsRefusedWithExit2() throws {
        let base: [String] = ["run", "--target", shmFile, "--engine", "psync", "--runtime", "200ms", "--no-progress"]
        for (extra, needle) in [(["--rate-iops", "0"], "is not a rate"),
                                (["--rate-iops", "fast"], "is not a rate"),
                                (["--rate-iops", "5k,"], "is not a rate"),
                                (["--rate-iops", "500M"], "out of range"),
                                (["--arrival", "poisson"], "add --rate-iops"),
                                (["--rate-iops", "5k", "--arrival", "bursty"], "arrival"),
                                (["--rate-iops", "5k", "--no-latency"], "--rate-iops times every read"),
                                (["--rate-iops", "5k", "--latency-sample", "8"], "--rate-iops times every read")] {
            let r = try CLI.run(base + extra)
            XCTAssertEqual(r.status, 2, "\(extra): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(needle), "\(extra): \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("\n\n"), "one clear message: \(r.stderr)")
        }
    }
}

/// `--load`, the curve's plot, compare on the response time, and the blkio throttle.
final class LoadSweepTests: MemoryTargetTestCase {

    func testLoadRunsThePeakFirstThenEachPointAndPlotsTheCurve() throws {
        let plots = dir.file("plots")
        let r = try CLI.run(["run", "--target", shmFile, "--engine", "psync", "--load", "25%,50,150%",
                             "--runtime", "500ms", "--ramp-time", "100ms", "--format", "json", "--no-progress", "--plot", plots])
        XCTAssertEqual(r.status, 0, r.stderr)
        let result = try RunResult.decode(Data(r.stdout.utf8), source: "stdout")
        XCTAssertEqual(result.cases.map(\.id), ["psync-randread-bs4k-qd1-j1", "psync-randread-bs4k-qd1-j1-load25",
                                                "psync-randread-bs4k-qd1-j1-load50", "psync-randread-bs4k-qd1-j1-load150"])
        let peak = result.cases[0]
        XCTAssertNil(peak.openLoop)
        XCTAssertGreaterThan(peak.iops, 1000)
        for (c, load) in zip(result.cases.dropFirst(), [25.0, 50, 150]) {
            let o = try XCTUnwrap(c.openLoop, c.id)
            XCTAssertEqual(c.config.loadPercent, load)
            XCTAssertEqual(o.askedIOPS, peak.iops * load / 100, accuracy: 0.1, "the rate is the load's share of the peak just measured")
            XCTAssertTrue(c.label.contains("@\(Int(load))%"), c.label)
        }
        XCTAssertTrue(result.cases[3].openLoop!.saturated, "150% of the peak cannot be kept")
        let svg = try String(contentsOfFile: plots + "/latency-load.svg", encoding: .utf8)
        XCTAssertEqual(svg.components(separatedBy: "class=\"point\"").count - 1, 3, "one point per load")
        XCTAssertTrue(svg.contains("data-saturated=\"true\""))
        XCTAssertTrue(svg.contains("class=\"saturated\""))
        XCTAssertEqual(svg.components(separatedBy: "data-percentile=").count - 1, 3, "p50, p99 and p99.9 lines")
        let html = try String(contentsOfFile: plots + "/report.html", encoding: .utf8)
        XCTAssertTrue(html.contains("Latency at a given rate (open loop)"))
        XCTAssertTrue(html.contains("data-percentile=\"p99\""), "the curve is embedded in report.html")

        // A load point's --hgrm file is checked before anything runs (its id is known
        // before the peak): a foreign file there is refused at once.
        let hg = dir.file("hg")
        try FileManager.default.createDirectory(atPath: hg, withIntermediateDirectories: true)
        try "not iobench's".write(toFile: hg + "/psync-randread-bs4k-qd1-j1-load50.hgrm", atomically: false, encoding: .utf8)
        let started = Date()
        let refused = try CLI.run(["run", "--target", shmFile, "--engine", "psync", "--load", "50%", "--runtime", "2s",
                                   "--no-progress", "--hgrm", hg])
        XCTAssertEqual(refused.status, 2, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("load50.hgrm exists and is not an iobench output"), refused.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 1.5, "refused before the 2 s peak ran")

        // Bad --load input: exit 2 and one line.
        for (extra, needle) in [(["--load", "0%"], "out of range"), (["--load", "250%"], "out of range"),
                                (["--load", "half"], "not a list of percentages"),
                                (["--load", "50%", "--rate-iops", "5k"], "use one")] {
            let bad = try CLI.run(["run", "--target", shmFile, "--engine", "psync", "--runtime", "200ms", "--no-progress"] + extra)
            XCTAssertEqual(bad.status, 2, "\(extra): \(bad.stderr)")
            XCTAssertTrue(bad.stderr.contains(needle), "\(extra): \(bad.stderr)")
        }
    }

    func testCompareJudgesAnOpenLoopCaseOnItsResponseTime() throws {
        var files: [String] = []
        for name in ["a", "b"] {
            let f = dir.file("\(name).json")
            let r = try CLI.run(["run", "--target", shmFile, "--engine", "psync", "--rate-iops", "5k", "--runtime", "1s",
                                 "--ramp-time", "100ms", "--no-progress", "--output", f])
            XCTAssertEqual(r.status, 0, r.stderr)
            files.append(f)
        }
        let base = try RunResult.decode(Data(contentsOf: URL(fileURLWithPath: files[0])), source: files[0]).cases[0]
        let cmp = try CLI.run(["compare", files[0], files[1], "--format", "json"])
        XCTAssertTrue(cmp.status == 0 || cmp.status == 1, cmp.stderr)
        let doc = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(cmp.stdout.utf8)) as? [String: Any])
        let cases = try XCTUnwrap(doc["cases"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 1)
        let metrics = try XCTUnwrap(cases[0]["metrics"] as? [[String: Any]])
        let p50 = try XCTUnwrap(metrics.first { $0["metric"] as? String == "p50" }?["base"] as? Double)
        let response = try XCTUnwrap(base.openLoop?.responseTimeHistogram?.live)
        XCTAssertEqual(p50, Double(min(response.value(atPercentile: 50), base.openLoop!.responseTime.maxNs)),
                       "the gate's p50 is the response time's, not the service time's")
        let mean = try XCTUnwrap(metrics.first { $0["metric"] as? String == "mean" }?["base"] as? Double)
        XCTAssertEqual(mean, base.openLoop!.responseTime.meanNs, accuracy: 1)
        XCTAssertNotEqual(mean, base.latency!.meanNs, "service and response times differ by the issue lag")
    }

    func testThrottleBelowTheRateMakesTheBacklogGrowAndThePointSaturated() throws {
        // A cgroup v1 blkio limit of 300 reads/s on the disk under a file asked for 600/s:
        // the backlog grows every second and the case is saturated.
        let blkio = "/sys/fs/cgroup/blkio"
        guard isRoot(), FileManager.default.fileExists(atPath: blkio + "/blkio.throttle.read_iops_device") else {
            throw XCTSkip("needs root and cgroup v1 blkio throttling at \(blkio)")
        }
        let file = dir.file("disk.dat")
        try makeStampedFile(file, size: 16 << 20)
        var st = stat()
        XCTAssertEqual(stat(file, &st), 0)
        // The whole disk under the file (the throttle is per disk): its MAJ:MIN from sysfs.
        guard let queue = StorageInfo.queueInfo(major: iob_major(st.st_dev), minor: iob_minor(st.st_dev)),
              let dev = StorageInfo.readSysfs("/sys/block/\(queue.device)/dev") else {
            throw XCTSkip("\(file) is not on a block device the blkio throttle can limit")
        }
        let parts = dev.split(separator: ":")
        let (major, minor) = (String(parts[0]), String(parts[1]))
        let group = blkio + "/iobench-openloop-\(getpid())"
        try FileManager.default.createDirectory(atPath: group, withIntermediateDirectories: true)
        defer {
            try? "\(major):\(minor) 0\n".write(toFile: group + "/blkio.throttle.read_iops_device", atomically: false, encoding: .utf8)
            rmdir(group)
        }
        try "\(major):\(minor) 300\n".write(toFile: group + "/blkio.throttle.read_iops_device", atomically: false, encoding: .utf8)
        let script = "echo $$ > \(group)/cgroup.procs && exec '\(CLI.binary)' run --target '\(file)' --engine psync --rate-iops 600 --runtime 3s --ramp-time 0 --format json --no-progress"
        let p = try BackgroundIOBench(executable: "/bin/sh", arguments: ["-c", script])
        let end = p.wait(timeout: 60)
        XCTAssertEqual(end?.status, 0, p.stderr)
        let c = try XCTUnwrap(try RunResult.decode(Data(p.stdout.utf8), source: "stdout").cases.first)
        let o = try XCTUnwrap(c.openLoop)
        XCTAssertTrue(o.saturated, "achieved \(o.achievedIOPS) of \(o.askedIOPS)")
        XCTAssertLessThan(o.achievedIOPS, 400, "the throttle holds reads near 300/s")
        let line = o.backlogTimelineNs
        XCTAssertGreaterThanOrEqual(line.count, 2, "\(line)")
        XCTAssertTrue(zip(line, line.dropFirst()).allSatisfy { $1 > $0 }, "the backlog grows second after second: \(line)")
        XCTAssertGreaterThan(o.responseTime.value(at: 99) ?? 0, 500_000_000, "reads wait for the backlog")
        XCTAssertLessThan(c.latency?.value(at: 50) ?? .max, 100_000_000, "while each read's own service time stays short")
    }
}

/// The CSV's open-loop columns, from a real open-loop run.
final class OpenLoopCSVTests: MemoryTargetTestCase {
    func testCSVCarriesTheOpenLoopColumns() throws {
        let r = try CLI.run(["run", "--target", shmFile, "--engine", "psync", "--rate-iops", "2k", "--runtime", "500ms",
                             "--ramp-time", "0", "--no-progress", "--format", "csv"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(lines.count, 2)
        let row = Dictionary(uniqueKeysWithValues: zip(lines[0], lines[1]))
        XCTAssertEqual(row["rate_iops"], "2000.0")
        XCTAssertEqual(Double(row["achieved_iops"] ?? "") ?? 0, 2000, accuracy: 20)
        XCTAssertGreaterThanOrEqual(UInt64(row["response_p99_ns"] ?? "") ?? 0, UInt64(row["p99_ns"] ?? "") ?? .max,
                                    "a response time is never shorter than its service time")
        XCTAssertEqual(row["saturated"], "false")
    }
}

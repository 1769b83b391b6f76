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

/// SIGINT and SIGTERM stop every job at once; iobench then prints and writes what it
/// measured, marked "interrupted": true, and exits 130 or 143. The --output file is
/// written atomically (temporary file, then rename).
final class InterruptTests: XCTestCase {
    var dir: ScratchDirectory!
    var target: String!

    override func setUpWithError() throws {
        dir = try ScratchDirectory()
        target = dir.file("target.dat")
        try makeStampedFile(target, size: 64 << 20)
    }

    override func tearDown() { dir = nil }

    /// Starts a 20 s run, signals it after ~1.5 s, and checks what it reports.
    func interrupt(with signal: Int32, expectedExit: Int32, extra: [String] = [],
                   file: StaticString = #filePath, line: UInt = #line) throws -> (stdout: RunJSON, output: RunJSON) {
        let out = dir.file("out.json")
        let run = try BackgroundIOBench(["run", "--target", target, "--engine", "io_uring", "--iodepth", "8", "--runtime", "20s",
                                         "--output", out, "--format", "json", "--no-progress"] + extra)
        addTeardownBlock { run.kill() }
        usleep(1_500_000)
        XCTAssertTrue(run.isRunning, "the run ended before the signal: \(run.stderr)", file: file, line: line)
        let sent = Date()
        run.send(signal)
        let exit = run.wait(timeout: 15)
        let stopAfter = Date().timeIntervalSince(sent)
        let result = try XCTUnwrap(exit, "iobench did not stop within 15 s of signal \(signal)", file: file, line: line)
        XCTAssertEqual(result.reason, .exit, "iobench exits by itself with 128+signal, not by the signal", file: file, line: line)
        XCTAssertEqual(result.status, expectedExit, run.stderr, file: file, line: line)
        XCTAssertLessThan(stopAfter, 3, "stopped \(stopAfter) s after the signal", file: file, line: line)

        let printed = try XCTUnwrap(RunJSON(run.stdout), "stdout is not JSON: \(run.stdout.prefix(300))", file: file, line: line)
        XCTAssertEqual(printed.interrupted, true, file: file, line: line)
        let written = try XCTUnwrap(RunJSON(file: out), "\(out) is missing or not complete JSON", file: file, line: line)
        XCTAssertEqual(written.root as NSDictionary, printed.root as NSDictionary, "--output and stdout differ", file: file, line: line)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp") }
        XCTAssertEqual(leftovers, [], "temporary files left next to the output", file: file, line: line)

        for c in printed.cases {
            XCTAssertEqual(c["interrupted"] as? Bool, true, file: file, line: line)
            let ios = RunJSON.int(c["ios"])
            XCTAssertGreaterThan(ios, 0, "the reads measured before the signal are reported", file: file, line: line)
            // Nothing measured is lost: the histogram holds every counted read.
            let latency = c["latency"] as? [String: Any]
            XCTAssertEqual(RunJSON.int(latency?["count"]), ios, file: file, line: line)
            let elapsed = Double(RunJSON.int(c["elapsed_ns"])) / 1e9
            XCTAssertGreaterThan(elapsed, 0.2, file: file, line: line)
            XCTAssertLessThan(elapsed, 5, "the measured time ends at the signal, not at --runtime", file: file, line: line)
            for j in c["jobs"] as? [[String: Any]] ?? [] {
                XCTAssertGreaterThan(RunJSON.int(j["ios"]), 0, "every job measured until the signal", file: file, line: line)
            }
        }
        return (printed, written)
    }

    func testSIGINTReportsWhatWasMeasuredAndExits130() throws {
        let (printed, _) = try interrupt(with: SIGINT, expectedExit: 130)
        XCTAssertEqual(printed.cases.count, 1)
    }

    func testSIGTERMStopsEveryJobAndExits143() throws {
        let (printed, _) = try interrupt(with: SIGTERM, expectedExit: 143, extra: ["--numjobs", "2"])
        let c = try XCTUnwrap(printed.cases.first)
        XCTAssertEqual((c["jobs"] as? [[String: Any]])?.count, 2)
    }

    /// Interrupted in the first of several cases: the run stops, reports that case, and
    /// does not start the others.
    func testInterruptStopsASweepInItsFirstCase() throws {
        let (printed, _) = try interrupt(with: SIGINT, expectedExit: 130, extra: ["--engine", "io_uring,libaio"])
        XCTAssertEqual(printed.cases.count, 1, "cases after the signal are not run: \(printed.cases.map { $0["id"] ?? "?" })")
    }

    /// A second SIGINT or SIGTERM kills the process the default way. The run is stopped
    /// (SIGSTOP) while both are sent, so that both reach it before it can finish: the
    /// second then goes through the handler too, and is re-raised with the default action.
    func testSecondSignalKillsTheProcess() throws {
        let run = try BackgroundIOBench(["run", "--target", target, "--engine", "io_uring", "--runtime", "20s",
                                         "--format", "json", "--no-progress"])
        addTeardownBlock { run.kill() }
        usleep(1_500_000)
        XCTAssertTrue(run.isRunning, "the run ended before the signals: \(run.stderr)")
        run.send(SIGSTOP)
        run.send(SIGINT)
        run.send(SIGTERM)
        run.send(SIGCONT)
        let exit = try XCTUnwrap(run.wait(timeout: 15), "no end within 15 s of two signals")
        XCTAssertEqual(exit.reason, .uncaughtSignal, "exit \(exit.status): \(run.stderr)")
        XCTAssertTrue([SIGINT, SIGTERM].contains(exit.status), "killed by signal \(exit.status)")
    }

    /// `timeout` without --foreground signals the process and then its whole group: the
    /// same SIGTERM arrives twice at once. That is one request: the run stops and
    /// reports (exit 143), it is not killed without a report.
    func testTheSameSignalTwiceAtOnceIsOneRequest() throws {
        let out = dir.file("twice.json")
        let run = try BackgroundIOBench(["run", "--target", target, "--engine", "psync", "--runtime", "20s",
                                         "--format", "json", "--no-progress", "--output", out])
        addTeardownBlock { run.kill() }
        usleep(1_200_000)
        run.send(SIGTERM)
        run.send(SIGTERM)
        let exit = try XCTUnwrap(run.wait(timeout: 15), "no stop within 15 s")
        XCTAssertEqual(exit.reason, .exit, "killed by the copy: \(run.stderr)")
        XCTAssertEqual(exit.status, 143, run.stderr)
        XCTAssertNotNil(RunJSON(file: out), "the report was written")
        // And as CI runs it: timeout(1) itself, verbatim.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/timeout") {
            let t = try BackgroundIOBench(executable: "/usr/bin/timeout", arguments: [
                "-s", "TERM", "1.5", CLI.binary, "run", "--target", target, "--engine", "psync", "--runtime", "20s",
                "--format", "json", "--no-progress"])
            let end = try XCTUnwrap(t.wait(timeout: 20))
            XCTAssertEqual(end.status, 124, "timeout's own status when the command outlived it: \(t.stderr)")
            XCTAssertTrue(t.stdout.contains("\"interrupted\""), "the JSON report reached stdout: \(t.stdout.suffix(300))")
        }
    }

    /// A text report on an interrupted run says so, and stdout is still complete.
    func testInterruptedTextReportSaysSo() throws {
        let run = try BackgroundIOBench(["run", "--target", target, "--engine", "psync", "--runtime", "20s", "--no-progress"])
        addTeardownBlock { run.kill() }
        usleep(1_200_000)
        run.send(SIGINT)
        let exit = try XCTUnwrap(run.wait(timeout: 15), "no stop within 15 s")
        XCTAssertEqual(exit.status, 130, run.stderr)
        XCTAssertTrue(run.stdout.contains("psync"), run.stdout)
        XCTAssertTrue((run.stdout + run.stderr).lowercased().contains("interrupted"), "the report does not say it was interrupted: \(run.stdout)")
    }

    /// SIGQUIT (Ctrl-\) stops a run like SIGINT: the report is printed and the exit is
    /// 131. Before, the Swift runtime's backtracer took it, printed "Program crashed"
    /// and let the run go on to exit 0.
    func testSIGQUITStopsTheRunAndReports() throws {
        let (printed, _) = try interrupt(with: SIGQUIT, expectedExit: 131)
        XCTAssertEqual(printed.cases.count, 1)
    }

    /// A signal during the ramp, before anything is measured: the case is not "failed"
    /// (nothing failed), and the report says it was interrupted before measuring.
    func testSignalDuringTheRampIsNotAFailure() throws {
        let run = try BackgroundIOBench(["run", "--target", target, "--engine", "psync", "--ramp-time", "10s", "--runtime", "5s",
                                         "--no-progress"])
        addTeardownBlock { run.kill() }
        usleep(1_200_000)
        run.send(SIGTERM)
        let exit = try XCTUnwrap(run.wait(timeout: 15), "no stop within 15 s")
        XCTAssertEqual(exit.status, 143, run.stderr)
        let row = try XCTUnwrap(run.stdout.split(separator: "\n").first { $0.hasPrefix("psync 4k QD1") }, run.stdout)
        XCTAssertTrue(row.contains("interrupted before measuring"), String(row))
        XCTAssertFalse(row.contains("failed"), String(row))
    }

    func testAtomicOutputNeverHalfWritten() throws {
        // Several interrupted runs writing the same --output: after each, the file is
        // either absent or complete JSON, never a prefix.
        let out = dir.file("out.json")
        for i in 0 ..< 3 {
            let run = try BackgroundIOBench(["run", "--target", target, "--engine", "libaio", "--iodepth", "4", "--runtime", "20s",
                                             "--ramp-time", "0", "--output", out, "--format", "json", "--no-progress"])
            addTeardownBlock { run.kill() }
            usleep(useconds_t(400_000 + 200_000 * i))
            run.send(i % 2 == 0 ? SIGINT : SIGTERM)
            let exit = try XCTUnwrap(run.wait(timeout: 15))
            XCTAssertEqual(exit.status, i % 2 == 0 ? 130 : 143)
            XCTAssertNotNil(RunJSON(file: out), "run \(i): \(out) is not complete JSON")
            let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            XCTAssertEqual(names.filter { $0.hasPrefix("out.json.") }, [], "leftover temporary files")
        }
    }

    /// A signal while iobench creates its target (before any job runs) must not leave a
    /// partial file that later runs take for a complete one of a smaller size.
    func testSignalWhileCreatingTheTargetLeavesNoPartialFile() throws {
        let fresh = dir.file("fresh.dat")
        let run = try BackgroundIOBench(["run", "--target", fresh, "--size", "2g", "--engine", "psync", "--runtime", "1s",
                                         "--ramp-time", "0", "--no-progress"])
        addTeardownBlock { run.kill(); try? FileManager.default.removeItem(atPath: fresh) }
        // Wait until the file is being written (under its temporary name).
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline && !FileManager.default.fileExists(atPath: Target.temporaryPath(for: fresh)) { usleep(10_000) }
        usleep(300_000)
        run.send(SIGTERM)
        let exit = try XCTUnwrap(run.wait(timeout: 30), "no stop within 30 s of SIGTERM")
        var st = stat()
        let exists = stat(fresh, &st) == 0
        let size = exists ? UInt64(st.st_size) : 0
        XCTAssertTrue(!exists || size == 2 << 30,
                      "after SIGTERM while creating (exit \(exit.status), \(exit.reason)), \(fresh) is left with \(size) of \(2 << 30) bytes; a later run without --size reads only that much")
        XCTAssertTrue(exit.reason == .exit ? exit.status == 143 : exit.status == SIGTERM, "exit \(exit.status) \(exit.reason)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: Target.temporaryPath(for: fresh)), "the temporary file was left behind")
    }
}

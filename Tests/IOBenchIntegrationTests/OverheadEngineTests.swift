import Foundation
import XCTest
@testable import IOBenchKit
@testable import IOBenchPlatform
@testable import IOBenchEngines
@testable import IOBenchReports

/// The engines that measure iobench itself (issue 12, item 2), run through the CLI:
/// null (no system call) and io_uring-nop (IORING_OP_NOP on a real ring), and the
/// registry's view of the command line.
final class OverheadEngineTests: XCTestCase {
    var dir: ScratchDirectory!
    var target: String!

    override func setUpWithError() throws {
        dir = try ScratchDirectory()
        target = dir.file("t.dat")
        try makeStampedFile(target, size: 8 << 20)
    }

    override func tearDown() { dir = nil }

    func skipWithoutIoUring() throws {
        if let disabled = StorageInfo.ioUringDisabled(), disabled != 0 {
            throw XCTSkip("io_uring is disabled here (kernel.io_uring_disabled=\(disabled))")
        }
    }

    /// The single case of a JSON run.
    func runCase(_ extra: [String]) throws -> [String: Any] {
        let r = try CLI.run(["run", "--target", target!, "--ramp-time", "0", "--no-progress", "--format", "json"] + extra)
        XCTAssertEqual(r.status, 0, r.stderr)
        let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let cases = doc["cases"] as! [[String: Any]]
        XCTAssertEqual(cases.count, 1)
        return cases[0]
    }

    func assertAllCompleted(_ c: [String: Any], ios: Int, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(c["status"] as? String, "ok", "\(c)", file: file, line: line)
        XCTAssertEqual((c["ios"] as? NSNumber)?.intValue, ios, file: file, line: line)
        let errors = c["errors"] as? [String: Any] ?? [:]
        XCTAssertEqual((errors["io_errors"] as? NSNumber)?.intValue, 0, file: file, line: line)
        XCTAssertEqual((errors["short_reads"] as? NSNumber)?.intValue, 0, file: file, line: line)
        let latency = c["latency"] as? [String: Any] ?? [:]
        XCTAssertEqual((latency["count"] as? NSNumber)?.intValue, ios, "every completion recorded", file: file, line: line)
    }

    func assertBadInput(_ args: [String], mentions: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try CLI.run(args)
        XCTAssertEqual(r.status, 2, "args \(args): \(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.stdout, "", file: file, line: line)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "one line on stderr: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(mentions), "'\(mentions)' in: \(r.stderr)", file: file, line: line)
    }

    func testNullCompletesEveryReadWithoutIO() throws {
        let c = try runCase(["--engine", "null", "--number-ios", "100000"])
        assertAllCompleted(c, ios: 100_000)
        XCTAssertEqual((c["config"] as? [String: Any])?["engine"] as? String, "null")
        XCTAssertEqual(c["id"] as? String, "null-randread-bs4k-qd1-j1")
        XCTAssertNil(c["ring"], "no ring without io_uring")
        // Deep queues and batches, several jobs.
        let deep = try runCase(["--engine", "null", "--iodepth", "64", "--submit-batch", "16", "--complete-batch", "8",
                                "--numjobs", "2", "--number-ios", "50000"])
        assertAllCompleted(deep, ios: 100_000)
        XCTAssertEqual(deep["id"] as? String, "null-randread-bs4k-qd64-j2-sb16-cb8")
    }

    func testIoUringNopRunsNopsOnARealRing() throws {
        try skipWithoutIoUring()
        let c = try runCase(["--engine", "io_uring-nop", "--iodepth", "32", "--submit-batch", "8", "--complete-batch", "8",
                             "--number-ios", "20000"])
        assertAllCompleted(c, ios: 20_000)
        let ring = try XCTUnwrap(c["ring"] as? [String: Any], "an io_uring-nop case records its ring")
        XCTAssertEqual((ring["sq_entries"] as? NSNumber)?.intValue, 32)
        let fixed = try runCase(["--engine", "io_uring-nop", "--iodepth", "32", "--fixed-buffers", "--registered-files",
                                 "--number-ios", "20000"])
        assertAllCompleted(fixed, ios: 20_000)
        XCTAssertEqual(fixed["id"] as? String, "io_uring-nop-randread-bs4k-qd32-j1-fixedbufs-regfiles")
        XCTAssertNotNil(fixed["ring"])
        let plain = try runCase(["--engine", "io_uring-nop", "--iodepth", "4", "--plain-ring", "--number-ios", "2000"])
        assertAllCompleted(plain, ios: 2000)
        XCTAssertEqual((plain["ring"] as? [String: Any])?["setup_flag_names"] as? [String], [])
    }

    func testOverheadEnginesRefuseVerify() throws {
        try assertBadInput(["run", "--target", target!, "--engine", "null", "--verify", "--number-ios", "10"],
                           mentions: "--verify checks the data each read returns, and null reads no data")
        try assertBadInput(["run", "--target", target!, "--engine", "io_uring-nop", "--verify", "--number-ios", "10"],
                           mentions: "io_uring-nop reads no data")
        try assertBadInput(["run", "--target", target!, "--engine", "null", "--class", "simple", "--number-ios", "10"],
                           mentions: "null reads nothing; drop --class")
    }

    func testTextReportPutsOverheadOnItsOwnLine() throws {
        let r = try CLI.run(["run", "--target", target!, "--engine", "psync,null", "--number-ios", "3000", "--ramp-time", "0", "--no-progress"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains { $0.hasPrefix("psync 4k QD1 ") }, r.stdout)
        XCTAssertFalse(lines.contains { $0.hasPrefix("null 4k QD1 ") }, "null is not a row among the engines: \(r.stdout)")
        let overhead = try XCTUnwrap(lines.first { $0.hasPrefix("tool overhead (iobench's own cost per I/O, no storage read): ") }, r.stdout)
        XCTAssertTrue(overhead.contains("null 4k QD1 ") && overhead.contains(" ops/s (") && overhead.contains(" ns/op"), overhead)
        XCTAssertFalse(overhead.contains("psync"), overhead)
        // Alone, null keeps its row (there is no storage engine to rank it against).
        let alone = try CLI.run(["run", "--target", target!, "--engine", "null", "--number-ios", "3000", "--ramp-time", "0", "--no-progress"])
        XCTAssertTrue(alone.stdout.split(separator: "\n").contains { $0.hasPrefix("null 4k QD1 ") }, alone.stdout)
    }

    func testEngineOptionAcceptsExactlyTheRegistrysNames() throws {
        for name in EngineRegistry.names {
            let r = try CLI.run(["run", "--target", target!, "--engine", name, "--iodepth", "1", "--number-ios", "200",
                                 "--ramp-time", "0", "--no-progress", "--format", "json"])
            // Accepted by the parser: it ran, or the machine could not run it (not a parse error).
            XCTAssertFalse(r.stderr.contains("unknown engine"), "\(name): \(r.stderr)")
            if name == "io_uring-poll" || name.hasPrefix("io_uring") && StorageInfo.ioUringDisabled() ?? 0 != 0 { continue }
            XCTAssertEqual(r.status, 0, "\(name): \(r.stderr)")
        }
        try assertBadInput(["run", "--target", target!, "--engine", "nop"],
                           mentions: "unknown engine 'nop'; choose from \(EngineRegistry.names.joined(separator: ", "))")
        // Each option's help names the engines that take it, from the registry.
        let help = try CLI.run(["run", "--help"]).stdout
        for name in EngineRegistry.names { XCTAssertTrue(help.contains("\(name): "), "\(name) in --help") }
        XCTAssertTrue(help.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            .contains("io_uring, io_uring-poll and io_uring-nop: register the buffers"), help)
    }

    func testOptionAnEngineDoesNotTakeIsRefusedWhenItAloneIsNamed() throws {
        try assertBadInput(["run", "--target", target!, "--engine", "null", "--fixed-buffers"],
                           mentions: "--fixed-buffers applies to io_uring engines only; add --engine io_uring")
        try assertBadInput(["run", "--target", target!, "--engine", "psync", "--submit-batch", "4"],
                           mentions: "--submit-batch applies to libaio, io_uring, io_uring-poll, null and io_uring-nop only")
        // Named with an engine that takes it: dropped for the other one, per case.
        let r = try CLI.run(["run", "--target", target!, "--engine", "null,io_uring-nop", "--iodepth", "8", "--fixed-buffers",
                             "--number-ios", "500", "--ramp-time", "0", "--no-progress", "--format", "json"])
        try skipWithoutIoUring()
        XCTAssertEqual(r.status, 0, r.stderr)
        let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertEqual((doc["cases"] as! [[String: Any]]).compactMap { $0["id"] as? String },
                       ["null-randread-bs4k-qd8-j1", "io_uring-nop-randread-bs4k-qd8-j1-fixedbufs"])
    }
}

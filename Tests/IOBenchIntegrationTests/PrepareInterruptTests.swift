import Foundation
import Glibc
import XCTest
@testable import IOBenchKit
@testable import IOBenchPlatform
@testable import IOBenchHistogram
@testable import IOBenchEngines
@testable import IOBenchWorkload
@testable import IOBenchMeasurement
@testable import IOBenchResults
@testable import IOBenchReports

/// An interrupted `prepare` removes what it made: the partial file and its hidden
/// donor or spacer files, and exits 128 + the signal.
final class PrepareInterruptTests: XCTestCase {
    func testSIGINTDuringPrepareLeavesNothingBehind() throws {
        let dir = try ScratchDirectory()
        let path = dir.file("frag.dat")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = ["prepare", path, "--size", "1g", "--layout", "fragmented:16k"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        // Wait until the build has started writing (its hidden build file), then interrupt it.
        let deadline = Date().addingTimeInterval(20)
        while buildFiles(dir).isEmpty && Date() < deadline { usleep(20_000) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "the path appears only when the file is complete")
        usleep(300_000)
        kill(p.processIdentifier, SIGINT)
        let stopped = Date()
        p.waitUntilExit()
        XCTAssertLessThan(Date().timeIntervalSince(stopped), 5, "stops promptly")
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        if p.terminationStatus == 0 {
            throw XCTSkip("prepare finished before the signal arrived")
        }
        XCTAssertEqual(p.terminationStatus, 130, stderr)
        XCTAssertTrue(stderr.contains("interrupted while preparing"), stderr)
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        XCTAssertEqual(left, [], "no partial or scratch files: \(left)")
    }

    func buildFiles(_ dir: ScratchDirectory) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.contains(".iobench-prepare-") }
    }

    /// SIGKILL cannot be caught: the partial file must never be at the path, and the next
    /// prepare removes the killed one's hidden build file.
    func testSIGKILLDuringPrepareLeavesNoPartialFileAtThePath() throws {
        let dir = try ScratchDirectory()
        let path = dir.file("frag.dat")
        let run = try BackgroundIOBench(["prepare", path, "--size", "1g", "--layout", "fragmented:16k"])
        let deadline = Date().addingTimeInterval(20)
        while buildFiles(dir).isEmpty && Date() < deadline { usleep(20_000) }
        usleep(300_000)
        run.send(SIGKILL)
        _ = run.wait(timeout: 10)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "no partial file at \(path)")
        XCTAssertEqual(buildFiles(dir).count, 1, "the killed build's hidden file is there until the next prepare")
        // The next prepare builds the whole file and removes the stale build file.
        let next = try CLI.run(["prepare", path, "--size", "32m", "--layout", "fragmented:64k"])
        XCTAssertEqual(next.status, 0, next.stderr)
        XCTAssertEqual(buildFiles(dir), [], "stale build file removed")
        let inspect = try CLI.run(["inspect", path])
        XCTAssertTrue(inspect.stdout.contains("512 records"), inspect.stdout)
        // And a run refuses nothing and measures the whole file.
        let r = try CLI.run(["run", "--target", path, "--engine", "psync", "--number-ios", "100", "--ramp-time", "0",
                             "--no-progress", "--format", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(RunJSON.int((RunJSON(r.stdout)?.root["target"] as? [String: Any])?["region_bytes"]), 32 << 20)
    }

    /// Two prepares of one path at once: exactly one file, complete, with its layout; the
    /// loser says so (or finds the file there) and leaves it alone.
    func testTwoPreparesOfOnePathLeaveOneCompleteFile() throws {
        let dir = try ScratchDirectory()
        let path = dir.file("frag.dat")
        let a = try BackgroundIOBench(["prepare", path, "--size", "64m", "--layout", "fragmented:64k"])
        let b = try BackgroundIOBench(["prepare", path, "--size", "64m", "--layout", "fragmented:64k"])
        let ea = a.wait(timeout: 120), eb = b.wait(timeout: 120)
        XCTAssertNotNil(ea); XCTAssertNotNil(eb)
        let statuses = [ea?.status ?? -1, eb?.status ?? -1].sorted()
        XCTAssertEqual(statuses, [0, 2], "one made it, the other refused: \(a.stderr) | \(b.stderr)")
        let loser = ea?.status == 2 ? a.stderr : b.stderr
        XCTAssertTrue(loser.contains("exists") || loser.contains("appeared while"), loser)
        XCTAssertEqual(buildFiles(dir), [])
        let inspect = try CLI.run(["inspect", path])
        XCTAssertTrue(inspect.stdout.contains("1024 records"), inspect.stdout)
        XCTAssertEqual(LayoutBuilder.marker(path: path), "fragmented:64k")
    }
}

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

/// Regression tests from the second adversarial review (branch review2). Each test states
/// the promise it checks; they are expected to FAIL on the code they were written against
/// (09e5878).
final class Review2Tests: XCTestCase, WatchesFiles {
    var dir: ScratchDirectory!

    override func setUpWithError() throws {
        dir = try ScratchDirectory()
        addTeardownBlock { [dir] in
            guard let dir, isRoot() else { return }
            _ = try? CLI.run(["lab", "--cleanup", "--dir", dir.path])
            LabWorkspace.remove(dir.path)
        }
    }

    func leftovers() -> [String] {
        let dirs = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.hasPrefix(LabWorkspace.prefix) }
        return labLeftovers(under: dir.path) + dirs
    }

    /// README: "Only SIGKILL or a crash can leave mounts and loop devices behind."
    /// SIGUSR1, SIGUSR2, SIGALRM, SIGXCPU, SIGVTALRM, SIGPROF (default action: terminate)
    /// killed the lab mid-run and left its mount, loop device and directory.
    func testTerminatingSignalsOtherThanINTTERMHUPLeaveNothingBehind() throws {
        guard isRoot(), FileManager.default.fileExists(atPath: "/dev/loop-control") else {
            throw XCTSkip("iobench lab needs root and loop devices")
        }
        for signal in [SIGUSR1, SIGALRM] {
            let err = dir.file("sig\(signal).err")
            let args = ["lab", "--dir", dir.path, "--filesystems", "ext4", "--size", "256m", "--rounds", "20",
                        "--runtime", "500ms", "--engine", "psync", "--no-progress"]
            let p = try BackgroundIOBench(executable: "/bin/sh", arguments: ["-c",
                "exec '\(CLI.binary)' \(args.map { "'\($0)'" }.joined(separator: " ")) 2>'\(err)' >/dev/null"])
            XCTAssertTrue(waitUntil(60) { contents(err).contains("running") }, contents(err))
            p.send(signal)
            guard p.wait(timeout: 60) != nil else { return XCTFail("the lab hung after signal \(signal)") }
            XCTAssertEqual(leftovers(), [], "signal \(signal) left the lab's mount/loop device/directory")
            _ = try? CLI.run(["lab", "--cleanup", "--dir", dir.path])
        }
    }

    /// stdout holds the report. When writing it fails (ENOSPC on /dev/full, EPIPE with the
    /// reader gone), `run` still exited 0: a CI step saw success and no report.
    func testFailedWriteOfTheReportIsNotSuccess() throws {
        let target = dir.file("t.dat")
        let r = sh("'\(CLI.binary)' run --target '\(target)' --size 16m --engine psync --runtime 50ms --ramp-time 0ms --no-progress >/dev/full")
        XCTAssertNotEqual(r.status, 0, "the report could not be written to stdout, yet exit 0: \(r.output)")
    }

    /// docs/method.md: merge recomputes class_comparisons, pairing rounds within a source.
    /// A class run in only one source (unwritten, 3 rounds) merged with a run that lacks it
    /// lost its 3 pairs: the comparison became "(n=1)", an unpaired Δ of merged histograms.
    func testMergeKeepsThePairedRoundsOfAClassThatOneSourceHas() throws {
        let file = dir.file("mixed.dat")
        let prep = try CLI.run(["prepare", file, "--size", "32m", "--layout", "mixed:16k"])
        guard prep.status == 0 else { throw XCTSkip("cannot prepare a mixed layout here: \(prep.stderr)") }
        let common = ["run", "--target", file, "--engine", "psync", "--runtime", "50ms", "--ramp-time", "0ms",
                      "--no-progress", "--format", "json"]
        let a = try CLI.run(common + ["--class", "simple,unwritten", "--repeat", "3", "--output", dir.file("a.json")])
        XCTAssertEqual(a.status, 0, a.stderr)
        let b = try CLI.run(common + ["--class", "simple", "--repeat", "2", "--output", dir.file("b.json")])
        XCTAssertEqual(b.status, 0, b.stderr)
        let m = try CLI.run(["merge", dir.file("a.json"), dir.file("b.json"), "-o", dir.file("m.json")])
        XCTAssertEqual(m.status, 0, m.stderr)
        func rounds(_ path: String) throws -> [Int] {
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
            let comparisons = json?["class_comparisons"] as? [[String: Any]] ?? []
            let unwritten = comparisons.first { ($0["class"] as? String) == "unwritten" }
            return (unwritten?["deltas"] as? [[String: Any]] ?? []).compactMap { $0["rounds"] as? Int }
        }
        XCTAssertEqual(try rounds(dir.file("a.json")), [3, 3, 3, 3])
        XCTAssertEqual(try rounds(dir.file("m.json")), [3, 3, 3, 3],
                       "merge turned 3 paired rounds of unwritten vs simple into an unpaired (n=1) Δ")
    }
    /// README: "The open-file limit must leave 64 descriptors free (exit 3 otherwise)."
    /// With `ulimit -n 128` (122 free) and an inherited descriptor numbered above the
    /// limit (fd 200 here; a CI runner or shell can pass one) the check passed, then set-up failed with
    /// "cannot start /usr/sbin/mkfs.ext4: ... Bad file descriptor": the limit is never
    /// named, and a lab that passes the documented check still cannot start.
    func testAnOpenFileLimitThatPassesTheCheckLetsTheLabStart() throws {
        guard isRoot(), FileManager.default.fileExists(atPath: "/dev/loop-control") else {
            throw XCTSkip("iobench lab needs root and loop devices")
        }
        let r = sh("exec 200</dev/null; ulimit -n 128 && exec '\(CLI.binary)' lab --dir '\(dir.path)' --filesystems ext4 --size 256m --rounds 2 --runtime 30ms --ramp-time 0ms --engine psync --no-progress >/dev/null", shell: ["/bin/bash"])
        XCTAssertTrue(r.status == 0 || r.output.contains("ulimit -n"),
                      "exit \(r.status) without naming the limit: \(r.output.split(separator: "\n").last ?? "")")
        XCTAssertEqual(leftovers(), [])
    }
}

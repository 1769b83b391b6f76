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

/// `iobench lab` for real: loop devices, mkfs, mounts, the class suite on ext4 and XFS,
/// and a teardown that leaves nothing behind (also after SIGINT/SIGTERM), plus
/// `--cleanup` after a SIGKILL. Needs root and /dev/loop-control (skipped otherwise).
final class LabTests: LabTestCase {
    static let short = ["--rounds", "2", "--runtime", "100ms", "--ramp-time", "50ms", "--engine", "psync,io_uring", "--no-progress"]

    func lab(_ args: [String]) throws -> BackgroundIOBench {
        try BackgroundIOBench(["lab", "--dir", dir.path] + args)
    }

    // MARK: a whole lab

    func testLabRunsEveryClassOnBothFilesystemsAndLeavesNothing() throws {
        XCTAssertEqual(leftovers(), [])
        let json = dir.file("lab.json")
        let p = try lab(Self.short + ["--output", json])
        guard let end = p.wait(timeout: 150) else { return XCTFail("the lab hung; stderr: \(p.stderr)") }
        XCTAssertEqual(end.status, 0, "stderr: \(p.stderr)")

        // The text report: header, both filesystems' cases, the path summary, the cleanup line.
        let text = p.stdout
        XCTAssertTrue(text.contains("iobench lab: ext4 and xfs on loop devices"), text)
        for fs in ["ext4", "xfs"] {
            XCTAssertTrue(text.contains("\(fs): psync 4k QD1 simple"), text)
            XCTAssertTrue(text.contains("\(fs): io_uring 8k QD32 raw"), text)
        }
        XCTAssertTrue(text.contains("direct I/O on"), text)
        XCTAssertTrue(text.contains("time: set-up"), text)
        XCTAssertTrue(text.contains("cleanup: 2 loop devices detached, 2 filesystems unmounted, nothing left"), text)

        // The JSON: every class of every engine on both filesystems, raw on the loop device.
        let r = try XCTUnwrap(RunJSON(file: json), "no JSON result at \(json)")
        var seen: Set<String> = []
        for c in r.cases {
            let key = c["target_key"] as? String ?? "?"
            let config = c["config"] as? [String: Any] ?? [:]
            let cls = config["class"] as? String ?? "?"
            let bs = RunJSON.int(config["bs"])
            XCTAssertEqual(c["status"] as? String, "ok", "\(c["label"] ?? "?"): \(c["reason"] ?? "")")
            seen.insert("\(key) \(config["engine"] ?? "?") \(cls) \(bs)")
            let plan = c["plan"] as? [String: Any] ?? [:]
            if cls == "raw" {
                let dev = plan["raw_device"] as? String ?? ""
                XCTAssertTrue(dev.hasPrefix("/dev/loop"), "\(c["label"] ?? "?") reads \(dev)")
            }
            // Where tracing works, the kernel's mappings per read meet the class.
            if let v = c["path_verification"] as? [String: Any], let counts = v["counts"] as? [String: Any],
               let m = (counts["mappings_per_read"] as? NSNumber)?.doubleValue {
                switch cls {
                case "multi-extent": XCTAssertEqual(m, 2, accuracy: 0.1, "\(c["label"] ?? "?")")
                case "single-extent", "simple": XCTAssertEqual(m, 1, accuracy: 0.1, "\(c["label"] ?? "?")")
                default: break
                }
            }
        }
        for fs in ["ext4", "xfs"] {
            for e in ["psync", "io_uring"] {
                for (cls, bs) in [("simple", 4096), ("raw", 4096), ("single-extent", 8192), ("multi-extent", 8192), ("raw", 8192)] {
                    XCTAssertTrue(seen.contains("\(fs) \(e) \(cls) \(bs)"), "missing \(fs) \(e) \(cls) \(bs); have \(seen.sorted())")
                }
            }
        }
        let labInfo = try XCTUnwrap(r.root["lab"] as? [String: Any])
        let filesystems = labInfo["filesystems"] as? [[String: Any]] ?? []
        XCTAssertEqual(filesystems.map { $0["label"] as? String ?? "" }, ["ext4", "xfs"])
        for f in filesystems {
            XCTAssertTrue((f["loop_device"] as? String ?? "").hasPrefix("/dev/loop"))
            XCTAssertNotNil(f["direct_io"] as? Bool)
            XCTAssertGreaterThan(RunJSON.int((f["extents"] as? [String: Any])?["discontinuities"]), 1000)
            if PathTracer.unavailableReason() == nil, let m = f["mappings_per_read"] as? [String: Any] {
                XCTAssertEqual((m["multi-extent/8k"] as? NSNumber)?.doubleValue ?? 0, 2, accuracy: 0.1)
                XCTAssertEqual((m["single-extent/8k"] as? NSNumber)?.doubleValue ?? 0, 1, accuracy: 0.1)
            }
        }
        let cleanup = labInfo["cleanup"] as? [String: Any] ?? [:]
        XCTAssertEqual(cleanup["verified"] as? Bool, true)

        XCTAssertEqual(leftovers(), [])
        XCTAssertEqual(workspaces(), [])
    }

    // MARK: signals

    func testSigintDuringSetUpTearsDown() throws {
        let p = try lab(Self.short)
        defer { p.kill() }
        // Right after the first loop device appears.
        let attached = waitUntil(30) { LoopDevice.bound().contains { $0.backingFile.hasPrefix(self.dir.path + "/") } }
        XCTAssertTrue(attached, "no loop device appeared; stderr: \(p.stderr)")
        p.send(SIGINT)
        guard let end = p.wait(timeout: 60) else { return XCTFail("the lab hung after SIGINT") }
        XCTAssertEqual(end.status, 130, "stderr: \(p.stderr)")
        XCTAssertTrue(p.stderr.contains("interrupted during set-up"), p.stderr)
        XCTAssertTrue(p.stderr.contains("nothing left"), p.stderr)
        XCTAssertEqual(leftovers(), [])
        XCTAssertEqual(workspaces(), [])
    }

    func testSigtermDuringTheRunReportsAndTearsDown() throws {
        let err = dir.file("lab.err")
        let p = try labLoggingTo(err, Self.short)
        defer { p.kill() }
        let running = waitUntil(90) { self.contents(err).contains("iobench lab: running") || !p.isRunning }
        XCTAssertTrue(running, "the run phase never started; stderr: \(contents(err))")
        usleep(1_000_000)
        p.send(SIGTERM)
        guard let end = p.wait(timeout: 60) else { return XCTFail("the lab hung after SIGTERM") }
        XCTAssertEqual(end.status, 143, "stderr: \(contents(err))")
        XCTAssertTrue(p.stdout.contains("interrupted: results cover the time until the signal"), "stdout: \(p.stdout) stderr: \(contents(err))")
        XCTAssertTrue(p.stdout.contains("nothing left"), p.stdout)
        XCTAssertEqual(leftovers(), [])
        XCTAssertEqual(workspaces(), [])
    }

    // MARK: a killed lab and --cleanup

    func testCleanupRemovesWhatAKilledLabLeft() throws {
        let err = dir.file("lab.err")
        let p = try labLoggingTo(err, Self.short)
        defer { p.kill() }
        let running = waitUntil(90) { self.contents(err).contains("iobench lab: running") || !p.isRunning }
        XCTAssertTrue(running, "the run phase never started; stderr: \(contents(err))")
        usleep(1_000_000)
        p.send(SIGKILL)
        _ = p.wait(timeout: 30)
        // SIGKILL skips the teardown: both filesystems stay mounted on their loop devices.
        let left = leftovers()
        XCTAssertEqual(left.filter { $0.hasPrefix("mount ") }.count, 2, "\(left)")
        XCTAssertEqual(workspaces().count, 1)

        // A new lab names the leftovers, and leaves them to --cleanup.
        let other = try CLI.run(["lab", "--dir", dir.path, "--filesystems", "ext4", "--engine", "psync", "--rounds", "2",
                                 "--runtime", "10ms", "--ramp-time", "10ms", "--no-progress"])
        XCTAssertEqual(other.status, 0, other.stderr)
        XCTAssertTrue(other.stderr.contains("leftovers of 1 lab that ended without cleaning up"), other.stderr)
        XCTAssertEqual(leftovers(), left)

        let c = try CLI.run(["lab", "--cleanup", "--dir", dir.path])
        XCTAssertEqual(c.status, 0, "stdout: \(c.stdout) stderr: \(c.stderr)")
        XCTAssertTrue(c.stdout.contains("unmounted"), c.stdout)
        XCTAssertTrue(c.stdout.contains("removed \(dir.path)/\(LabWorkspace.prefix)"), c.stdout)
        // Another lab running elsewhere on this machine is named and left alone.
        XCTAssertTrue(c.stdout.contains("cleanup: nothing left") || c.stdout.contains("running lab"), c.stdout)
        XCTAssertEqual(leftovers(), [])
        XCTAssertEqual(workspaces(), [])

        let again = try CLI.run(["lab", "--cleanup", "--dir", dir.path])
        XCTAssertEqual(again.status, 0)
        XCTAssertFalse(again.stdout.contains(dir.path + "/" + LabWorkspace.prefix), again.stdout)
        XCTAssertTrue(again.stdout.contains("nothing to clean up") || again.stdout.contains("still running"), again.stdout)
    }

    func testCleanupLeavesARunningLabAlone() throws {
        let p = try lab(Self.short)
        defer { p.kill() }
        let attached = waitUntil(30) { LoopDevice.bound().contains { $0.backingFile.hasPrefix(self.dir.path + "/") } }
        XCTAssertTrue(attached, "no loop device appeared; stderr: \(p.stderr)")
        let c = try CLI.run(["lab", "--cleanup", "--dir", dir.path])
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertTrue(c.stdout.contains("still running (pid \(p.pid))"), c.stdout)
        XCTAssertTrue(p.isRunning)
        p.send(SIGTERM)
        guard let end = p.wait(timeout: 60) else { return XCTFail("the lab hung after SIGTERM") }
        XCTAssertEqual(end.status, 143, "stderr: \(p.stderr)")
        XCTAssertEqual(leftovers(), [])
        XCTAssertEqual(workspaces(), [])
    }

    /// A directory that only looks like a lab's (no owner file) is not the lab's:
    /// --cleanup leaves it and its contents alone, and says so.
    func testCleanupLeavesALookalikeDirectoryAlone() throws {
        let fake = dir.file(LabWorkspace.prefix + "999999-abc")
        try FileManager.default.createDirectory(atPath: fake, withIntermediateDirectories: false)
        try Data("keep me\n".utf8).write(to: URL(fileURLWithPath: fake + "/important.txt"))
        let c = try CLI.run(["lab", "--cleanup", "--dir", dir.path])
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertTrue(c.stdout.contains("has no lab owner file"), c.stdout)
        XCTAssertEqual(try String(contentsOfFile: fake + "/important.txt", encoding: .utf8), "keep me\n")
    }

    // MARK: refusals

    func testWithoutRootTheLabNamesWhatItNeeds() throws {
        guard sh("command -v setpriv").status == 0 else { throw XCTSkip("setpriv is not installed") }
        let r = sh("setpriv --reuid=65534 --regid=65534 --clear-groups '\(CLI.binary)' lab --dir /tmp 2>&1 >/dev/null")
        XCTAssertEqual(r.status, 2, r.output)
        XCTAssertTrue(r.output.contains("needs root (CAP_SYS_ADMIN) to create loop devices and mount filesystems"), r.output)
        XCTAssertEqual(lines(r.output).count, 1, r.output)
        let c = sh("setpriv --reuid=65534 --regid=65534 --clear-groups '\(CLI.binary)' lab --cleanup --dir /tmp 2>&1 >/dev/null")
        XCTAssertEqual(c.status, 2, c.output)
        XCTAssertTrue(c.output.contains("needs root"), c.output)
    }

    func testBadOptionsAreExit2AndCreateNothing() throws {
        let cases: [([String], String)] = [
            (["--rounds", "1"], "--rounds 1"),
            (["--filesystems", "btrfs"], "'btrfs' is not one the lab builds"),
            (["--filesystems", ""], "is not one the lab builds"),
            (["--engine", "aio"], "unknown engine 'aio'"),
            (["--format", "csv"], "'csv' is invalid for '--format"),
            (["--runtime", "fast"], "runtime"),
            (["--size", "100m"], "too small for ext4"),
            (["--size", "1t"], "not enough free space"),
            (["--bogus"], "Unknown option"),
        ]
        for (args, message) in cases {
            let r = try CLI.run(["lab", "--dir", dir.path] + args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(message), "\(args): \(r.stderr)")
            XCTAssertEqual(r.stdout, "", "\(args)")
        }
        let missing = try CLI.run(["lab", "--dir", dir.file("nope")])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("does not exist"), missing.stderr)
        XCTAssertEqual(workspaces(), [])
        XCTAssertEqual(leftovers(), [])
    }
}

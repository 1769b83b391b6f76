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

/// Faults during a run, made for real: a target truncated under the run, a loop device
/// detached or shrunk to nothing under it, EIO from the kernel (device-mapper's error
/// target where the kernel has device-mapper; btrfs checksum failures always), EINTR from
/// stop/continue, a polled engine on a device without poll queues. Each is counted per
/// case with the first error's text; the run fails with exit 3 unless
/// --continue-on-error; nothing hangs (every wait has a deadline) and nothing crashes.
final class FaultTests: XCTestCase {
    var dir: ScratchDirectory!

    override func setUpWithError() throws { dir = try ScratchDirectory() }
    override func tearDown() { dir = nil }

    /// Runs to the end under a deadline: a hang fails the test (the process is killed).
    func finish(_ run: BackgroundIOBench, timeout: TimeInterval = 30, _ what: String,
                file: StaticString = #filePath, line: UInt = #line) throws -> (status: Int32, json: RunJSON, case0: [String: Any]) {
        let exit = try XCTUnwrap(run.wait(timeout: timeout), "\(what): iobench hung (killed after \(timeout) s); stderr: \(run.stderr)",
                                 file: file, line: line)
        XCTAssertEqual(exit.reason, .exit, "\(what): iobench died of a signal (\(exit.status)): \(run.stderr.prefix(2000))", file: file, line: line)
        let json = try XCTUnwrap(RunJSON(run.stdout), "\(what): stdout is not JSON (exit \(exit.status)): \(run.stdout.prefix(300)) \(run.stderr.prefix(500))",
                                 file: file, line: line)
        let c = try XCTUnwrap(json.cases.first, "\(what): no case in the result", file: file, line: line)
        return (exit.status, json, c)
    }

    /// One line describing what iobench did, kept in the test log for the report.
    func observe(_ what: String, _ status: Int32, _ c: [String: Any]) {
        let e = RunJSON.errors(c)
        print("observed: \(what): exit \(status), status \(c["status"] ?? "?"), ios \(RunJSON.int(c["ios"])), io_errors \(RunJSON.int(e["io_errors"])), short_reads \(RunJSON.int(e["short_reads"])), first_error \(e["first_error"] ?? "none")")
    }

    // MARK: truncation

    func runTruncated(engine: String, continueOnError: Bool) throws -> (Int32, [String: Any]) {
        let target = dir.file("trunc-\(engine)-\(continueOnError).dat")
        try makeStampedFile(target, size: 64 << 20)
        var args = ["run", "--target", target, "--engine", engine, "--runtime", "4s", "--ramp-time", "0", "--format", "json", "--no-progress"]
        if engine != "psync" { args += ["--iodepth", "8"] }
        if continueOnError { args.append("--continue-on-error") }
        let run = try BackgroundIOBench(args)
        addTeardownBlock { run.kill() }
        usleep(1_000_000)
        XCTAssertTrue(run.isRunning, "the run ended before the truncation: \(run.stderr)")
        XCTAssertEqual(truncate(target, 1 << 20), 0, "truncate \(target)")
        let (status, _, c) = try finish(run, "\(engine) on a truncated file")
        observe("\(engine) QD\(engine == "psync" ? 1 : 8), target truncated from 64m to 1m during the run\(continueOnError ? ", --continue-on-error" : "")", status, c)
        return (status, c)
    }

    func testTruncatedTargetFailsTheRunWithShortReads() throws {
        for engine in ["psync", "libaio", "io_uring"] {
            let (status, c) = try runTruncated(engine: engine, continueOnError: false)
            let e = RunJSON.errors(c)
            XCTAssertEqual(status, 3, "\(engine)")
            XCTAssertEqual(c["status"] as? String, "failed", engine)
            XCTAssertGreaterThan(RunJSON.int(e["short_reads"]), 0, engine)
            XCTAssertTrue((e["first_error"] as? String ?? "").contains("short read"), "\(engine): \(e)")
            XCTAssertTrue((c["reason"] as? String ?? "").contains("short read"), "\(engine): \(c["reason"] ?? "nil")")
            XCTAssertGreaterThan(RunJSON.int(c["ios"]), 0, "\(engine): the reads before the truncation are still reported")
        }
    }

    func testTruncatedTargetWithContinueOnErrorCountsShortReadsAndSucceeds() throws {
        let (status, c) = try runTruncated(engine: "libaio", continueOnError: true)
        let e = RunJSON.errors(c)
        XCTAssertEqual(status, 0)
        XCTAssertEqual(c["status"] as? String, "ok")
        XCTAssertGreaterThan(RunJSON.int(e["short_reads"]), 0)
        XCTAssertTrue((e["first_error"] as? String ?? "").contains("short read"), "\(e)")
        XCTAssertGreaterThan(RunJSON.int(c["ios"]), 0)
    }

    // MARK: loop devices going away

    /// `losetup -d` on a device iobench holds open: the kernel only marks it for
    /// autoclear and keeps it until the last close, so the run goes on. What matters:
    /// no hang, a result, and the device really goes away when iobench closes it.
    func testLoopDeviceDetachedDuringRun() throws {
        let loop = try StampedLoopDevice(in: dir)
        addTeardownBlock { loop.cleanup() }
        let device = try XCTUnwrap(loop.device)
        let run = try BackgroundIOBench(["run", "--target", device, "--engine", "libaio", "--iodepth", "8", "--runtime", "3s",
                                         "--ramp-time", "0", "--format", "json", "--no-progress"])
        addTeardownBlock { run.kill() }
        usleep(1_000_000)
        let d = sh("losetup -d \(device)")
        XCTAssertEqual(d.status, 0, "losetup -d \(device): \(d.output)")
        let (status, _, c) = try finish(run, "libaio on a detached loop device")
        observe("libaio QD8 on \(device), losetup -d during the run", status, c)
        let e = RunJSON.errors(c)
        if status == 0 {
            XCTAssertGreaterThan(RunJSON.int(c["ios"]), 0)
            XCTAssertEqual(RunJSON.int(e["io_errors"]) + RunJSON.int(e["short_reads"]), 0)
        } else {
            XCTAssertEqual(status, 3, "a failed run exits 3")
            XCTAssertGreaterThan(RunJSON.int(e["io_errors"]) + RunJSON.int(e["short_reads"]), 0)
            XCTAssertNotNil(e["first_error"] as? String)
        }
        // Once iobench has closed it, the deferred detach has happened.
        let deadline = Date().addingTimeInterval(5)
        while loop.stillOurs && Date() < deadline { usleep(50_000) }
        XCTAssertFalse(loop.stillOurs, "\(device) is still attached after iobench closed it")
    }

    /// The device shrinks to nothing under the run (its backing file truncated to 0 and
    /// `losetup -c`): every later read is past the device's end, which the block layer
    /// fails with EIO.
    func runOnVanishingLoop(engine: String, continueOnError: Bool) throws -> (Int32, [String: Any]) {
        let loop = try StampedLoopDevice(in: dir, name: "vanish-\(engine)-\(continueOnError).img")
        addTeardownBlock { loop.cleanup() }
        let device = try XCTUnwrap(loop.device)
        var args = ["run", "--target", device, "--engine", engine, "--iodepth", "8", "--runtime", "3s", "--ramp-time", "0",
                    "--format", "json", "--no-progress"]
        if continueOnError { args.append("--continue-on-error") }
        let run = try BackgroundIOBench(args)
        addTeardownBlock { run.kill() }
        usleep(1_000_000)
        XCTAssertEqual(truncate(loop.image, 0), 0)
        let c = sh("losetup -c \(device)")
        XCTAssertEqual(c.status, 0, "losetup -c: \(c.output)")
        let (status, _, case0) = try finish(run, "\(engine) on a loop device shrunk to 0")
        observe("\(engine) QD8 on \(device), backing file truncated to 0 + losetup -c during the run\(continueOnError ? ", --continue-on-error" : "")", status, case0)
        return (status, case0)
    }

    func testLoopDeviceThatVanishesFailsWithEIO() throws {
        for engine in ["libaio", "io_uring"] {
            let (status, c) = try runOnVanishingLoop(engine: engine, continueOnError: false)
            let e = RunJSON.errors(c)
            XCTAssertEqual(status, 3, engine)
            XCTAssertEqual(c["status"] as? String, "failed", engine)
            XCTAssertGreaterThan(RunJSON.int(e["io_errors"]) + RunJSON.int(e["short_reads"]), 0, engine)
            let first = e["first_error"] as? String ?? ""
            XCTAssertTrue(first.contains("EIO") || first.contains("short read"), "\(engine): \(first)")
            XCTAssertGreaterThan(RunJSON.int(c["ios"]), 0, "\(engine): the reads before the fault are reported")
        }
    }

    func testLoopDeviceThatVanishesWithContinueOnError() throws {
        let (status, c) = try runOnVanishingLoop(engine: "libaio", continueOnError: true)
        let e = RunJSON.errors(c)
        XCTAssertEqual(status, 0)
        XCTAssertGreaterThan(RunJSON.int(e["io_errors"]), 0)
        XCTAssertTrue((e["first_error"] as? String ?? "").contains("EIO"), "\(e)")
    }

    // MARK: device-mapper

    /// Why device-mapper cannot be used here, or nil. Looks at /proc/misc rather than
    /// running dmsetup, which creates /dev/mapper/control even when the kernel has no
    /// device-mapper.
    func deviceMapperUnavailable() -> String? {
        guard isRoot() else { return "device-mapper needs root" }
        guard sh("command -v dmsetup").status == 0 else { return "dmsetup is not installed (apt-get install -y dmsetup)" }
        let misc = (try? String(contentsOfFile: "/proc/misc", encoding: .utf8)) ?? ""
        guard misc.contains("device-mapper") else {
            return "this kernel has no device-mapper (no 'device-mapper' in /proc/misc, dm-mod not built in, no modules to load); dmsetup version says: Failure to communicate with kernel device-mapper driver"
        }
        return nil
    }

    /// A dm device over a stamped loop device, removed BY NAME in teardown.
    func makeDMDevice(table: (String, UInt64) -> String) throws -> String {
        if let why = deviceMapperUnavailable() { throw XCTSkip(why) }
        let loop = try StampedLoopDevice(in: dir, sizeMiB: 32, name: "dm-backing.img")
        let device = try XCTUnwrap(loop.device)
        let name = "iobench-test-\(getpid())-\(UUID().uuidString.prefix(6))"
        let sectors = UInt64(32 << 20) / 512
        let tablePath = dir.file("dm-table")
        try table(device, sectors).write(toFile: tablePath, atomically: true, encoding: .utf8)
        // Teardown in reverse order: the dm device first (by its name), then the loop device.
        addTeardownBlock { loop.cleanup() }
        addTeardownBlock { sh("dmsetup remove --retry \(name) 2>/dev/null") }
        let c = sh("dmsetup create \(name) < '\(tablePath)'")
        guard c.status == 0 else { throw XCTSkip("dmsetup create failed: \(c.output)") }
        sh("udevadm settle 2>/dev/null")
        var path = "/dev/mapper/\(name)"
        if !FileManager.default.fileExists(atPath: path) {
            // Without udev there is no /dev/mapper node: make one from the dm minor.
            let info = sh("dmsetup info -c --noheadings -o major,minor \(name)").output.trimmingCharacters(in: .whitespacesAndNewlines)
            let mm = info.split(separator: ":")
            guard mm.count == 2 else { throw XCTSkip("no device node for \(name): \(info)") }
            path = dir.file("dm-node")
            sh("mknod '\(path)' b \(mm[0]) \(mm[1])")
        }
        return path
    }

    func testDMErrorTargetCountsEIO() throws {
        let path = try makeDMDevice { loop, sectors in
            "0 \(sectors / 2) linear \(loop) 0\n\(sectors / 2) \(sectors / 2) error\n"
        }
        let run = try BackgroundIOBench(["run", "--target", path, "--engine", "libaio", "--iodepth", "8", "--runtime", "2s",
                                         "--ramp-time", "0", "--format", "json", "--no-progress"])
        addTeardownBlock { run.kill() }
        let (status, _, c) = try finish(run, "libaio on dm linear+error")
        observe("libaio QD8 on dm linear+error", status, c)
        let e = RunJSON.errors(c)
        XCTAssertEqual(status, 3)
        XCTAssertGreaterThan(RunJSON.int(e["io_errors"]), 0)
        XCTAssertTrue((e["first_error"] as? String ?? "").contains("EIO"), "\(e)")
    }

    func testDMFlakeyTargetCountsErrorsAndContinues() throws {
        // Up 1 s, then failing every I/O for 1 s, repeatedly.
        let path = try makeDMDevice { loop, sectors in "0 \(sectors) flakey \(loop) 0 1 1\n" }
        let run = try BackgroundIOBench(["run", "--target", path, "--engine", "io_uring", "--iodepth", "8", "--runtime", "3s",
                                         "--ramp-time", "0", "--continue-on-error", "--format", "json", "--no-progress"])
        addTeardownBlock { run.kill() }
        let (status, _, c) = try finish(run, "io_uring on dm flakey")
        observe("io_uring QD8 on dm flakey (1 s up, 1 s down), --continue-on-error", status, c)
        XCTAssertEqual(status, 0)
        XCTAssertGreaterThan(RunJSON.int(RunJSON.errors(c)["io_errors"]), 0)
        XCTAssertGreaterThan(RunJSON.int(c["ios"]), 0)
    }

    // MARK: EIO without device-mapper: btrfs checksums

    /// Real EIO from the kernel on a machine without device-mapper: a btrfs file whose
    /// blocks are overwritten underneath the filesystem (in the loop image) fails its
    /// data checksums, and btrfs fails those O_DIRECT reads with EIO.
    func corruptedBtrfsFile() throws -> String {
        let fs = try LoopFilesystem(type: "btrfs", sizeMiB: 300)
        addTeardownBlock { fs.cleanup() }
        let target = fs.file("t.dat")
        try makeStampedFile(target, size: 16 << 20)
        sh("sync")
        // Find the stamp of file offset 0 in the image and overwrite 4 MiB from there.
        let py = """
        import struct, sys
        magic = 0x3148434E45424F49
        pat = b''.join(struct.pack('<Q', o ^ magic) for o in range(0, 64, 8))
        with open(sys.argv[1], 'r+b') as f:
            data = f.read()
            i = data.find(pat)
            if i < 0: sys.exit('stamp not found')
            f.seek(i); f.write(b'\\xAA' * (4 << 20)); f.flush()
        print(i)
        """
        let scriptPath = dir.file("corrupt.py")
        try py.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        let r = sh("python3 '\(scriptPath)' '\(fs.image)'")
        guard r.status == 0 else { throw XCTSkip("could not corrupt the btrfs image: \(r.output)") }
        return target
    }

    func testEIOFromBtrfsChecksumFailuresFailsTheRun() throws {
        let target = try corruptedBtrfsFile()
        for engine in ["libaio", "io_uring", "psync"] {
            var args = ["run", "--target", target, "--engine", engine, "--runtime", "2s", "--ramp-time", "0", "--format", "json", "--no-progress"]
            if engine != "psync" { args += ["--iodepth", "8"] }
            let run = try BackgroundIOBench(args)
            addTeardownBlock { run.kill() }
            let (status, _, c) = try finish(run, "\(engine) on a btrfs file with bad checksums")
            observe("\(engine) on btrfs with corrupted data blocks (csum failures)", status, c)
            let e = RunJSON.errors(c)
            XCTAssertEqual(status, 3, engine)
            XCTAssertEqual(c["status"] as? String, "failed", engine)
            XCTAssertGreaterThan(RunJSON.int(e["io_errors"]), 0, engine)
            XCTAssertTrue((e["first_error"] as? String ?? "").contains("EIO"), "\(engine): \(e)")
        }
    }

    func testEIOWithContinueOnErrorIsCountedAndTheRunSucceeds() throws {
        let target = try corruptedBtrfsFile()
        let run = try BackgroundIOBench(["run", "--target", target, "--engine", "io_uring", "--iodepth", "8", "--runtime", "1s",
                                         "--ramp-time", "0", "--continue-on-error", "--format", "json", "--no-progress"])
        addTeardownBlock { run.kill() }
        let (status, _, c) = try finish(run, "io_uring on btrfs csum failures, --continue-on-error")
        observe("io_uring QD8 on btrfs csum failures, --continue-on-error", status, c)
        let e = RunJSON.errors(c)
        XCTAssertEqual(status, 0)
        XCTAssertGreaterThan(RunJSON.int(e["io_errors"]), 0)
        XCTAssertGreaterThan(RunJSON.int(c["ios"]), 0, "the good 3/4 of the file is still read")
        XCTAssertTrue((e["first_error"] as? String ?? "").contains("EIO"), "\(e)")
        // Errors are not latencies: the histogram holds only the successful reads.
        XCTAssertEqual(RunJSON.int((c["latency"] as? [String: Any])?["count"]), RunJSON.int(c["ios"]))
    }

    // MARK: EINTR

    /// SIGSTOP/SIGCONT interrupt blocking waits (io_getevents returns EINTR after a
    /// stop); the engines must retry, not count an error or fail.
    func testStopAndContinueEINTRIsRetried() throws {
        let target = dir.file("eintr.dat")
        try makeStampedFile(target, size: 32 << 20)
        for engine in ["libaio", "io_uring", "psync", "pvsync2"] {
            var args = ["run", "--target", target, "--engine", engine, "--runtime", "2s", "--ramp-time", "0", "--format", "json", "--no-progress"]
            if !["psync", "pvsync2"].contains(engine) { args += ["--iodepth", "8", "--numjobs", "2"] }
            let run = try BackgroundIOBench(args)
            addTeardownBlock { run.kill() }
            usleep(300_000)
            for _ in 0 ..< 10 {
                run.send(SIGSTOP)
                usleep(30_000)
                run.send(SIGCONT)
                usleep(70_000)
            }
            let (status, _, c) = try finish(run, "\(engine) under SIGSTOP/SIGCONT")
            observe("\(engine) under 10 × SIGSTOP/SIGCONT", status, c)
            let e = RunJSON.errors(c)
            XCTAssertEqual(status, 0, "\(engine): \(c["reason"] ?? "")")
            XCTAssertEqual(c["status"] as? String, "ok", engine)
            XCTAssertEqual(RunJSON.int(e["io_errors"]), 0, "\(engine): \(e)")
            XCTAssertNil(e["first_error"] as? String, engine)
        }
    }

    // MARK: polling where the device cannot poll

    /// The root disk has io_poll=0. Asked for explicitly, io_uring-poll fails the run
    /// (exit 3) with the reason, quickly, even with --continue-on-error (no spinning on
    /// errors). (The kernel's own per-read -EOPNOTSUPP is not reached on this machine:
    /// iobench refuses from /sys/block/DEV/queue/io_poll before the first read.)
    func testPolledEngineOnADeviceWithoutPollQueues() throws {
        let target = dir.file("poll.dat")
        try makeStampedFile(target, size: 16 << 20)
        for extra in [[], ["--continue-on-error"]] {
            let run = try BackgroundIOBench(["run", "--target", target, "--engine", "io_uring-poll", "--iodepth", "8", "--runtime", "2s",
                                             "--ramp-time", "0", "--format", "json", "--no-progress"] + extra)
            addTeardownBlock { run.kill() }
            let (status, _, c) = try finish(run, timeout: 20, "io_uring-poll without poll queues")
            observe("io_uring-poll QD8 on a file on a device without poll queues \(extra.joined())", status, c)
            XCTAssertEqual(status, 3)
            XCTAssertEqual(c["status"] as? String, "failed")
            let reason = c["reason"] as? String ?? ""
            XCTAssertTrue(reason.contains("poll"), reason)
            XCTAssertTrue(reason.contains("use --engine io_uring"), "the reason names the fix: \(reason)")
        }
    }
}

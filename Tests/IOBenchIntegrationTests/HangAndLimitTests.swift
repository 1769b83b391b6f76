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

/// Hangs and crashes under real kernel limits: a thread limit (RLIMIT_NPROC, a pids
/// cgroup), an address-space limit (RLIMIT_AS), a device that stops completing reads
/// (cgroup v1 blkio throttling of a loop device), and io_uring restricted to root.
/// Every limit is the kernel's own, set with setpriv, ulimit, prlimit, cgroups, sysctl.
final class HangAndLimitTests: XCTestCase {
    var dir: ScratchDirectory!
    var target: String!

    override func setUpWithError() throws {
        dir = try ScratchDirectory()
        // Readable by uid 65534 (setpriv): 0755 directory, 0644 file.
        chmod(dir.path, 0o755)
        target = dir.file("limits.dat")
        try makeStampedFile(target, size: 32 << 20)
        chmod(target, 0o644)
    }

    override func tearDown() { dir = nil }

    /// Runs `command` (a shell command line) with stdout and stderr in files.
    func shell(_ command: String, name: String) -> (status: Int32, stdout: String, stderr: String, seconds: Double) {
        let out = dir.file(name + ".out"), err = dir.file(name + ".err")
        let t0 = Date()
        let r = sh("\(command) >'\(out)' 2>'\(err)'")
        let seconds = Date().timeIntervalSince(t0)
        return (r.status, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                (try? String(contentsOfFile: err, encoding: .utf8)) ?? "", seconds)
    }

    func quoted(_ args: [String]) -> String { args.map { "'\($0)'" }.joined(separator: " ") }

    // MARK: 1. Threads

    /// `ulimit -u 10` for uid 65534 and 16 jobs: this used to hang (Foundation threads
    /// that never started, SIGTERM ignored). Now: exit 3 at once, one stderr line with
    /// the limit and the fix.
    func testThreadLimitIsExit3NotAHang() throws {
        guard isRoot(), sh("command -v setpriv").status == 0 else { throw XCTSkip("needs root and setpriv (util-linux)") }
        let run = quoted([CLI.binary, "run", "--target", target, "--numjobs", "16", "--engine", "psync", "--runtime", "1s",
                          "--ramp-time", "0", "--no-progress", "--format", "json"])
        // timeout -s KILL: a hang shows as status 137, never as a stuck test.
        let r = shell("timeout -s KILL 30 setpriv --reuid=65534 --regid=65534 --clear-groups bash -c \"ulimit -u 10; exec \(run)\"", name: "nproc")
        XCTAssertNotEqual(r.status, 137, "iobench hung under ulimit -u 10 (killed after 30 s)")
        XCTAssertEqual(r.status, 3, "stdout: \(r.stdout.prefix(400))\nstderr: \(r.stderr)")
        XCTAssertLessThan(r.seconds, 10)
        let named = lines(r.stderr).filter { $0.contains("ulimit -u") && $0.contains("RLIMIT_NPROC") && $0.contains("--numjobs") }
        XCTAssertEqual(named.count, 1, "one stderr line names the limit and the fix: \(r.stderr)")
        XCTAssertEqual(lines(r.stderr).count, 1, r.stderr)
        XCTAssertNotNil(RunJSON(r.stdout), "the JSON report is still printed: \(r.stdout.prefix(300))")
    }

    /// A pids cgroup (pids.max = 8) makes pthread_create itself fail with EAGAIN part way
    /// through starting 16 jobs: the jobs already created are released and joined.
    func testThreadCreationFailureStopsTheStartedJobsAndIsExit3() throws {
        let pids = "/sys/fs/cgroup/pids"
        guard isRoot(), FileManager.default.fileExists(atPath: pids + "/cgroup.procs") else {
            throw XCTSkip("needs root and the cgroup v1 pids controller at \(pids)")
        }
        let cg = pids + "/iobench-test-\(getpid())-\(UUID().uuidString.prefix(6))"
        XCTAssertEqual(sh("mkdir '\(cg)' && echo 8 > '\(cg)/pids.max'").status, 0)
        defer { sh("rmdir '\(cg)'") }
        let run = quoted([CLI.binary, "run", "--target", target, "--numjobs", "16", "--engine", "io_uring", "--iodepth", "4",
                          "--runtime", "1s", "--ramp-time", "0", "--no-progress", "--format", "json"])
        let r = shell("timeout -s KILL 30 sh -c \"echo \\$\\$ > '\(cg)/cgroup.procs'; exec \(run)\"", name: "pids")
        XCTAssertNotEqual(r.status, 137, "iobench hung when a job thread could not be created")
        XCTAssertEqual(r.status, 3, "stdout: \(r.stdout.prefix(400))\nstderr: \(r.stderr)")
        let named = lines(r.stderr).filter { $0.contains("cannot create job thread") && $0.contains("of 16") && $0.contains("EAGAIN") && $0.contains("--numjobs") }
        XCTAssertEqual(named.count, 1, r.stderr)
        XCTAssertEqual(lines(r.stderr).count, 1, r.stderr)
        let c = try XCTUnwrap(RunJSON(r.stdout)?.cases.first, r.stdout)
        XCTAssertEqual(c["status"] as? String, "failed")
        XCTAssertEqual(RunJSON.int(c["ios"]), 0, "no job did I/O: they wait at a gate until every thread exists")
    }

    // MARK: 2. Address space

    /// `ulimit -v 300000` with 1024 io_uring jobs used to die with SIGSEGV (139) inside the
    /// job threads. Now: exit 3 (or 0 when it fits), one stderr line, never a signal —
    /// and the same for other sizes around the limit.
    func testAddressSpaceLimitIsExit3NeverASignal() throws {
        let cases: [(String, Int, Int)] = [("io_uring", 1024, 1), ("io_uring", 190, 1), ("io_uring", 150, 1), ("libaio", 150, 1),
                                           ("libaio", 400, 1), ("psync", 230, 1), ("io_uring", 60, 256), ("libaio", 8, 4096)]
        // --hist-log keeps a histogram per interval and job: these aborted in Swift's allocator.
        let histLog = ["--hist-log", dir.file("h.log"), "--hist-interval", "20ms"]
        let all = cases.map { ($0.0, $0.1, $0.2, [String]()) } + [("psync", 90, 1, histLog), ("libaio", 200, 1, histLog), ("io_uring", 40, 1, histLog)]
        for (engine, jobs, qd, extra) in all {
            let run = quoted([CLI.binary, "run", "--engine", engine, "--numjobs", "\(jobs)", "--iodepth", "\(qd)", "--target", target,
                              "--runtime", "300ms", "--ramp-time", "0", "--no-progress", "--format", "json"] + extra)
            let r = shell("ulimit -v 300000; timeout -s KILL 60 \(run)", name: "as-\(engine)-\(jobs)")
            let what = "ulimit -v 300000, \(engine) --numjobs \(jobs) --iodepth \(qd) \(extra.isEmpty ? "" : "--hist-log")"
            XCTAssertLessThan(r.status, 128, "\(what): killed by signal \(r.status - 128): \(r.stderr.prefix(600))")
            XCTAssertTrue(r.status == 0 || r.status == 3, "\(what): exit \(r.status): \(r.stderr.prefix(600))")
            if r.status == 3 {
                XCTAssertEqual(lines(r.stderr).count, 1, "\(what): one stderr line: \(r.stderr.prefix(1000))")
                XCTAssertTrue(r.stderr.contains("ulimit -v"), "\(what): the line names the limit and the fix: \(r.stderr)")
            }
            XCTAssertNotNil(RunJSON(r.stdout), "\(what): JSON report: \(r.stdout.prefix(300))")
        }
        // The exact command of the issue: 1024 jobs cannot fit 300000 KiB.
        let r = shell("ulimit -v 300000; " + quoted([CLI.binary, "run", "--engine", "io_uring", "--numjobs", "1024", "--iodepth", "1",
                                                       "--target", target, "--runtime", "200ms", "--no-progress"]), name: "as-exact")
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("RLIMIT_AS"), r.stderr)
    }

    // MARK: 3. A device that stops completing reads

    /// A loop device throttled to 1 read per second (cgroup v1 blkio) with iobench in the
    /// cgroup: 32 reads in flight take ~30 s. The throttle is applied once the run is
    /// reading (set-up reads of the target would otherwise crawl too): the device stalls
    /// mid-run. Cleans up the cgroup and the loop device.
    final class ThrottledDevice {
        let loop: StampedLoopDevice
        let cgroup: String
        let majMin: String
        init(in dir: ScratchDirectory) throws {
            let blkio = "/sys/fs/cgroup/blkio"
            guard isRoot() else { throw XCTSkip("blkio throttling needs root") }
            guard FileManager.default.fileExists(atPath: blkio + "/blkio.throttle.read_iops_device") else {
                throw XCTSkip("cgroup v1 blkio with throttling is not mounted at \(blkio) (mount -t cgroup -o blkio none \(blkio))")
            }
            loop = try StampedLoopDevice(in: dir, sizeMiB: 32, name: "throttled.img")
            majMin = sh("lsblk -dno MAJ:MIN \(loop.device!)").output.trimmingCharacters(in: .whitespacesAndNewlines)
            cgroup = blkio + "/iobench-test-\(getpid())-\(UUID().uuidString.prefix(6))"
            let r = sh("mkdir '\(cgroup)'")
            guard r.status == 0 else { loop.cleanup(); throw XCTSkip("cannot create a blkio cgroup: \(r.output)") }
        }
        /// From now on the device serves 1 read per second to the cgroup.
        func throttle() {
            let r = sh("echo '\(majMin) 1' > '\(cgroup)/blkio.throttle.read_iops_device'")
            XCTAssertEqual(r.status, 0, "throttling \(majMin): \(r.output)")
        }
        /// argv that runs iobench inside the throttled cgroup.
        func wrap(_ args: [String]) -> [String] {
            ["/bin/sh", "-c", "echo $$ > '\(cgroup)/cgroup.procs'; exec \"$0\" \"$@\"", CLI.binary] + args
        }
        func cleanup() {
            // Lift the throttle so queued reads drain, then remove the (empty) cgroup.
            sh("echo '\(majMin) 0' > '\(cgroup)/blkio.throttle.read_iops_device'")
            for _ in 0 ..< 50 where sh("rmdir '\(cgroup)'").status != 0 { usleep(100_000) }
            loop.cleanup()
        }
    }

    /// SIGTERM with 32 reads stuck on the throttled device: the run ends within seconds
    /// (it used to wait in io_uring_enter for ~30 s), prints its JSON with what was
    /// measured, and exits 143.
    func testSIGTERMEndsARunOnAStalledDevice() throws {
        let dev = try ThrottledDevice(in: dir)
        defer { dev.cleanup() }
        let p = try backgroundProcess(dev.wrap(["run", "--target", dev.loop.device!, "--engine", "io_uring", "--iodepth", "32",
                                              "--runtime", "60s", "--ramp-time", "0", "--no-progress", "--format", "json"]))
        defer { p.kill() }
        sleep(1)
        dev.throttle()
        sleep(2)
        let sent = Date()
        p.send(SIGTERM)
        let end = p.wait(timeout: 30)
        let took = Date().timeIntervalSince(sent)
        let status = try XCTUnwrap(end, "still running 30 s after SIGTERM").status
        XCTAssertLessThan(took, 10, "SIGTERM took \(took) s to end the run")
        XCTAssertEqual(status, 143, p.stderr)
        let j = try XCTUnwrap(RunJSON(p.stdout), "JSON report after SIGTERM: \(p.stdout.prefix(400)) \(p.stderr)")
        XCTAssertEqual(j.interrupted, true)
        let c = try XCTUnwrap(j.cases.first)
        let first = RunJSON.errors(c)["first_error"] as? String ?? ""
        XCTAssertTrue(first.contains("still in flight"), "the stuck reads are reported: \(c)")
    }

    /// Without a signal: the run's deadline passes with reads stuck; 5 s later the job
    /// stops waiting, counts them as errors and the case fails (exit 3).
    func testStalledDeviceFailsTheCaseAfterAGracePeriod() throws {
        let dev = try ThrottledDevice(in: dir)
        defer { dev.cleanup() }
        let p = try backgroundProcess(dev.wrap(["run", "--target", dev.loop.device!, "--engine", "libaio", "--iodepth", "16",
                                              "--runtime", "3s", "--ramp-time", "0", "--no-progress", "--format", "json"]))
        defer { p.kill() }
        sleep(1)
        dev.throttle()
        // libaio: the kernel waits for in-flight reads when the process exits (exit_aio),
        // so the process may outlive its report by the throttled reads (~16 s).
        let end = p.wait(timeout: 60)
        let status = try XCTUnwrap(end, "hung on the stalled device").status
        XCTAssertEqual(status, 3, p.stderr)
        let named = lines(p.stderr).filter { $0.contains("still in flight") && $0.contains("not completing") }
        XCTAssertEqual(named.count, 1, p.stderr)
        XCTAssertNotNil(RunJSON(p.stdout), p.stdout.prefix(300) + "")
    }

    /// Sync jobs stuck inside pread(2) (uninterruptible in the kernel): after SIGTERM the
    /// session gives up on them, writes the report of the jobs that finished, names the
    /// stuck ones on stderr and exits 143 (the process ends once the kernel returns).
    func testSyncJobsStuckInAReadAreGivenUpAfterSIGTERM() throws {
        let dev = try ThrottledDevice(in: dir)
        defer { dev.cleanup() }
        let output = dir.file("stuck.json")
        let p = try backgroundProcess(dev.wrap(["run", "--target", dev.loop.device!, "--engine", "psync", "--numjobs", "24",
                                              "--runtime", "60s", "--ramp-time", "0", "--no-progress", "--output", output]))
        defer { p.kill() }
        sleep(1)
        dev.throttle()
        sleep(2)
        let sent = Date()
        p.send(SIGTERM)
        while !FileManager.default.fileExists(atPath: output) && Date().timeIntervalSince(sent) < 30 { usleep(100_000) }
        let took = Date().timeIntervalSince(sent)
        XCTAssertLessThan(took, 12, "the report was written \(took) s after SIGTERM")
        let end = p.wait(timeout: 60)
        XCTAssertEqual(try XCTUnwrap(end, "still running 60 s after SIGTERM").status, 143, p.stderr)
        XCTAssertEqual(RunJSON(file: output)?.interrupted, true)
        XCTAssertTrue(p.stderr.contains("still inside a read"), p.stderr)
    }

    // MARK: 5. io_uring restricted to root

    func testIoUringRestrictedIsSkippedInTheSuiteAndAClearErrorWhenAsked() throws {
        guard isRoot(), sh("command -v setpriv").status == 0,
              let old = try? String(contentsOfFile: "/proc/sys/kernel/io_uring_disabled", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines) else {
            throw XCTSkip("needs root, setpriv and kernel.io_uring_disabled")
        }
        let suiteDir = dir.file("suite")
        try FileManager.default.createDirectory(atPath: suiteDir, withIntermediateDirectories: false)
        XCTAssertEqual(sh("chown 65534:65534 '\(suiteDir)'").status, 0)
        XCTAssertEqual(sh("sysctl -qw kernel.io_uring_disabled=1").status, 0)
        defer { sh("sysctl -qw kernel.io_uring_disabled=\(old)") }
        let asNobody = "setpriv --reuid=65534 --regid=65534 --clear-groups "
        let suite = shell("timeout -s KILL 300 " + asNobody + quoted([CLI.binary, "run", "--dir", suiteDir, "--size", "64m", "--runtime", "200ms",
                                                                      "--ramp-time", "0", "--format", "json", "--no-progress"]), name: "suite")
        let j = try XCTUnwrap(RunJSON(suite.stdout), "\(suite.status): \(suite.stdout.prefix(300)) \(suite.stderr.suffix(800))")
        let uring = j.cases.filter { ($0["engine"] as? String ?? $0["id"] as? String ?? "").hasPrefix("io_uring") }
        XCTAssertFalse(uring.isEmpty)
        for c in uring {
            XCTAssertEqual(c["status"] as? String, "skipped", "\(c["id"] ?? "?"): \(c["reason"] ?? "")")
            // Raw cases are skipped earlier, for the block device uid 65534 may not open.
            if !(c["id"] as? String ?? "").hasSuffix("-raw") {
                XCTAssertTrue((c["reason"] as? String ?? "").contains("io_uring_disabled=1"), "\(c["id"] ?? "?"): \(c["reason"] ?? "")")
            }
        }
        XCTAssertFalse(j.cases.contains { $0["status"] as? String == "failed" && ($0["reason"] as? String ?? "").contains("io_uring") },
                       "no io_uring case fails")
        XCTAssertNotEqual(suite.status, 2, suite.stderr.suffix(800) + "")

        let asked = shell(asNobody + quoted([CLI.binary, "run", "--target", target, "--engine", "io_uring", "--runtime", "200ms",
                                             "--ramp-time", "0", "--no-progress"]), name: "asked")
        XCTAssertEqual(asked.status, 2, asked.stderr)
        XCTAssertEqual(lines(asked.stderr).count, 1, asked.stderr)
        XCTAssertTrue(asked.stderr.contains("io_uring_disabled=1") && asked.stderr.contains("--engine libaio"), asked.stderr)
    }
}

/// A background process from a full argv (a shell wrapper around iobench).
func backgroundProcess(_ argv: [String]) throws -> BackgroundIOBench {
    try BackgroundIOBench(executable: argv[0], arguments: Array(argv.dropFirst()))
}

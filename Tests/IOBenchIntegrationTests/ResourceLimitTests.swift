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

/// Resource limits: a locked-memory limit too low for registered buffers, more jobs than
/// CPUs, queue depths beyond what a ring can hold.
final class ResourceLimitTests: XCTestCase {
    var dir: ScratchDirectory!
    var target: String!

    override func setUpWithError() throws {
        dir = try ScratchDirectory()
        target = dir.file("limits.dat")
        try makeStampedFile(target, size: 32 << 20)
    }

    override func tearDown() { dir = nil }

    /// Root has CAP_IPC_LOCK, which exempts it from RLIMIT_MEMLOCK: drop it (capsh) and
    /// set the limit to 16 KiB (prlimit); 64 registered buffers of 64 KiB need 4 MiB.
    func testMemlockTooLowForFixedBuffersIsAClearRunFailure() throws {
        guard isRoot() else { throw XCTSkip("dropping CAP_IPC_LOCK needs root (a non-root user is already subject to RLIMIT_MEMLOCK)") }
        guard sh("command -v capsh && command -v prlimit").status == 0 else {
            throw XCTSkip("capsh or prlimit is missing (apt-get install -y libcap2-bin util-linux)")
        }
        let caps = sh("prlimit --memlock=16384:16384 capsh --drop=cap_ipc_lock -- -c 'grep -E \"^CapEff\" /proc/self/status; ulimit -l'")
        XCTAssertEqual(caps.status, 0, caps.output)
        let args: [String] = ["run", "--target", target!, "--engine", "io_uring", "--fixed-buffers", "--iodepth", "64", "--bs", "64k",
                              "--runtime", "300ms", "--ramp-time", "0", "--no-progress"]
        let outFile = dir.file("memlock.out"), errFile = dir.file("memlock.err")
        let command = "exec '\(CLI.binary)' " + args.map { "'\($0)'" }.joined(separator: " ") + " >'\(outFile)' 2>'\(errFile)'"
        // sh reports a child killed by signal N as 128+N.
        let r = sh("prlimit --memlock=16384:16384 capsh --drop=cap_ipc_lock -- -c \"\(command)\"")
        let stdout = (try? String(contentsOfFile: outFile, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: errFile, encoding: .utf8)) ?? ""
        if r.status == 0 {
            throw XCTSkip("the kernel registered 4 MiB of buffers under a 16 KiB RLIMIT_MEMLOCK without CAP_IPC_LOCK (it does not account registered buffers against memlock here; \(caps.output.replacingOccurrences(of: "\n", with: " ")))")
        }
        let crash = lines(stderr).first { $0.contains("Fatal error") || $0.contains("double free") || $0.contains("Program crashed") } ?? ""
        XCTAssertLessThan(r.status, 128, "iobench crashed (signal \(r.status - 128)): \(crash)")
        // A kernel limit met at set-up is exit 3 (DECISIONS), with the fix on one line.
        XCTAssertEqual(r.status, 3, "stdout: \(stdout)\nstderr: \(stderr.prefix(1500))")
        let named = lines(stderr).filter { $0.contains("RLIMIT_MEMLOCK") || $0.contains("ulimit -l") }
        XCTAssertEqual(named.count, 1, "one stderr line names RLIMIT_MEMLOCK and the fix (ulimit -l): \(stderr.prefix(1500))")
    }

    /// fs.aio-max-nr below what io_setup needs (lowered for a moment, as root, and always
    /// restored): io_setup fails with EAGAIN, exit 3, one line naming the sysctl.
    func testAioMaxNrExhaustedIsExit3WithTheFix() throws {
        guard isRoot() else { throw XCTSkip("changing fs.aio-max-nr needs root") }
        let read = { (name: String) in (try? String(contentsOfFile: "/proc/sys/fs/\(name)", encoding: .utf8)).flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) } }
        guard let old = read("aio-max-nr"), let inUse = read("aio-nr") else { throw XCTSkip("no fs.aio-max-nr") }
        // Room for others' small contexts, not for 2 x 8192 events.
        XCTAssertEqual(sh("sysctl -qw fs.aio-max-nr=\(inUse + 1000)").status, 0)
        defer { sh("sysctl -qw fs.aio-max-nr=\(old)") }
        let r = try CLI.run(["run", "--target", target, "--engine", "libaio", "--iodepth", "8192", "--runtime", "300ms",
                             "--ramp-time", "0", "--no-progress", "--format", "json"])
        sh("sysctl -qw fs.aio-max-nr=\(old)")
        XCTAssertEqual(r.status, 3, r.stderr)
        let named = lines(r.stderr).filter { $0.contains("fs.aio-max-nr") && $0.contains("EAGAIN") && $0.contains("--iodepth") }
        XCTAssertEqual(named.count, 1, r.stderr)
        XCTAssertEqual(lines(r.stderr).count, 1, r.stderr)
        XCTAssertEqual(read("aio-max-nr"), old, "fs.aio-max-nr restored")
    }

    /// An open-file limit too low for one ring per job (prlimit --nofile): io_uring_setup
    /// fails with EMFILE, exit 3, one line naming ulimit -n.
    func testOpenFileLimitIsExit3WithTheFix() throws {
        guard sh("command -v prlimit").status == 0 else { throw XCTSkip("prlimit is missing (util-linux)") }
        let out = dir.file("emfile.out"), err = dir.file("emfile.err")
        let args = [CLI.binary, "run", "--target", target!, "--engine", "io_uring", "--numjobs", "8", "--iodepth", "4",
                    "--runtime", "300ms", "--ramp-time", "0", "--no-progress", "--format", "json"]
        let r = sh("prlimit --nofile=10 " + args.map { "'\($0)'" }.joined(separator: " ") + " >'\(out)' 2>'\(err)'")
        let stderr = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
        XCTAssertEqual(r.status, 3, stderr)
        let named = lines(stderr).filter { $0.contains("EMFILE") && $0.contains("ulimit -n") }
        XCTAssertEqual(named.count, 1, stderr)
        XCTAssertEqual(lines(stderr).count, 1, stderr)
    }

    func testMoreJobsThanCPUsWorks() throws {
        let cpus = ProcessInfo.processInfo.activeProcessorCount
        let jobs = max(8, cpus * 4)
        for (engine, qd) in [("io_uring", "4"), ("psync", "1")] {
            let r = try CLI.run(["run", "--target", target, "--engine", engine, "--iodepth", qd, "--numjobs", "\(jobs)",
                                 "--runtime", "500ms", "--ramp-time", "100ms", "--format", "json", "--no-progress"])
            XCTAssertEqual(r.status, 0, "\(engine): \(r.stderr)")
            let j = try XCTUnwrap(RunJSON(r.stdout), r.stdout)
            let c = try XCTUnwrap(j.cases.first)
            let perJob = c["jobs"] as? [[String: Any]] ?? []
            XCTAssertEqual(perJob.count, jobs, "\(engine): \(jobs) jobs on \(cpus) CPUs")
            let sum = perJob.reduce(UInt64(0)) { $0 + RunJSON.int($1["ios"]) }
            XCTAssertEqual(sum, RunJSON.int(c["ios"]), "\(engine): the case's reads are the sum of its jobs'")
            for job in perJob { XCTAssertGreaterThan(RunJSON.int(job["ios"]), 0, "\(engine): job \(job["job"] ?? "?") read nothing") }
            XCTAssertEqual(RunJSON.int((c["latency"] as? [String: Any])?["count"]), RunJSON.int(c["ios"]))
        }
    }

    /// io_uring rings hold at most 32768 entries; iobench caps --iodepth at 65536.
    func testIodepthBeyondTheRingIsAClearBadInput() throws {
        for (qd, limit) in [("40000", "32768"), ("70000", "65536")] {
            for format in ["text", "json"] {
                let r = try CLI.run(["run", "--target", target, "--engine", "io_uring", "--iodepth", qd, "--runtime", "300ms",
                                     "--ramp-time", "0", "--no-progress", "--format", format])
                XCTAssertEqual(r.status, 2, "--iodepth \(qd) --format \(format): \(r.stdout.prefix(500)) \(r.stderr)")
                XCTAssertTrue((r.stdout + r.stderr).contains(limit), "--iodepth \(qd): the message names the limit \(limit): \(r.stdout.prefix(800)) \(r.stderr)")
                // Exit 2 is bad input: the message is one line on stderr (README), whatever --format is.
                let named = lines(r.stderr).filter { $0.contains("iodepth") }
                XCTAssertEqual(named.count, 1, "--iodepth \(qd) --format \(format): exit 2 without the reason on stderr: stderr was \(r.stderr.debugDescription)")
            }
        }
        // libaio has no such limit below 65536: a deep queue works.
        let deep = try CLI.run(["run", "--target", target, "--engine", "libaio", "--iodepth", "4096", "--runtime", "300ms",
                                "--ramp-time", "0", "--no-progress", "--format", "json"])
        XCTAssertEqual(deep.status, 0, deep.stderr + deep.stdout.prefix(500))
        let over = try CLI.run(["run", "--target", target, "--engine", "libaio", "--iodepth", "70000", "--runtime", "300ms",
                                "--ramp-time", "0", "--no-progress"])
        XCTAssertEqual(over.status, 2, over.stderr)
        XCTAssertEqual(lines(over.stderr).count, 1, over.stderr)
    }
}

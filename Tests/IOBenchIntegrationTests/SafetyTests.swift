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

/// Safety: block devices are only opened read-only; a file iobench did not write is
/// never written, truncated or extended without --force-overwrite; iobench recognises its
/// own files; prepare refuses to replace files and checks free space first.
final class SafetyTests: XCTestCase {
    var dir: ScratchDirectory!

    override func setUpWithError() throws { dir = try ScratchDirectory() }
    override func tearDown() { dir = nil }

    struct FileState: Equatable {
        var size: UInt64
        var mtimeSec: Int
        var mtimeNsec: Int
        var sha256: String
    }

    func state(_ path: String) -> FileState {
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0, "stat \(path)")
        let hash = sh("sha256sum '\(path)'").output.split(separator: " ").first.map(String.init) ?? ""
        return FileState(size: UInt64(st.st_size), mtimeSec: st.st_mtim.tv_sec, mtimeNsec: st.st_mtim.tv_nsec, sha256: hash)
    }

    /// The open flags of every descriptor of `pid` that refers to `path`, from /proc.
    func openFlags(pid: Int32, path: String) -> [Int32: Int] {
        var found: [Int32: Int] = [:]
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        for fd in fds {
            guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"), link == path,
                  let info = try? String(contentsOfFile: "/proc/\(pid)/fdinfo/\(fd)", encoding: .utf8),
                  let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags:") }),
                  let flags = Int(line.dropFirst("flags:".count).trimmingCharacters(in: .whitespaces), radix: 8)
            else { continue }
            found[Int32(fd)!] = flags
        }
        return found
    }

    // MARK: block devices

    func testBlockDeviceIsOpenedReadOnlyAndNeverWritten() throws {
        let loop = try StampedLoopDevice(in: dir)
        addTeardownBlock { loop.cleanup() }
        let device = try XCTUnwrap(loop.device)
        let before = loop.sha256()
        XCTAssertFalse(before.isEmpty)

        let run = try BackgroundIOBench(["run", "--target", device, "--engine", "libaio", "--iodepth", "8", "--runtime", "3s",
                                         "--ramp-time", "0", "--verify", "--format", "json", "--no-progress"])
        addTeardownBlock { run.kill() }
        // Look at the process's descriptors while it reads.
        var seen: [Int32: Int] = [:]
        let deadline = Date().addingTimeInterval(2.5)
        while Date() < deadline && run.isRunning {
            for (fd, flags) in openFlags(pid: run.pid, path: device) { seen[fd] = flags }
            if !seen.isEmpty && Date().timeIntervalSince(run.startedAt) > 1 { break }
            usleep(50_000)
        }
        let exit = run.wait(timeout: 20)
        XCTAssertNotNil(exit, "iobench did not finish within 20 s on \(device)")
        XCTAssertEqual(exit?.status, 0, run.stderr)
        XCTAssertFalse(seen.isEmpty, "no descriptor of iobench (pid \(run.pid)) referred to \(device) while it ran")
        for (fd, flags) in seen {
            XCTAssertEqual(flags & Int(O_ACCMODE), Int(O_RDONLY), "fd \(fd) on \(device) has flags 0\(String(flags, radix: 8)): not read-only")
        }
        XCTAssertTrue(seen.values.contains { $0 & 0o40000 != 0 }, "the reading descriptor uses O_DIRECT: \(seen)")
        let r = try XCTUnwrap(RunJSON(run.stdout), run.stdout)
        let c = try XCTUnwrap(r.cases.first)
        XCTAssertEqual(c["status"] as? String, "ok")
        XCTAssertGreaterThan(RunJSON.int(c["ios"]), 0)
        XCTAssertEqual(RunJSON.int(RunJSON.errors(c)["verify_mismatches"]), 0)
        XCTAssertGreaterThan(RunJSON.int(RunJSON.errors(c)["verified_reads"]), 0, "the loop device holds the stamp, so --verify checks it")
        XCTAssertEqual(loop.sha256(), before, "the device's contents changed")
    }

    /// --size beyond the device and --force-overwrite: a device is never written.
    func testForceOverwriteNeverAppliesToABlockDevice() throws {
        let loop = try StampedLoopDevice(in: dir, sizeMiB: 16)
        addTeardownBlock { loop.cleanup() }
        let device = try XCTUnwrap(loop.device)
        let before = loop.sha256()
        let r = try CLI.run(["run", "--target", device, "--size", "64m", "--force-overwrite", "--engine", "psync",
                             "--runtime", "200ms", "--ramp-time", "0", "--no-progress"])
        XCTAssertEqual(r.status, 2, r.stdout + r.stderr)
        XCTAssertEqual(lines(r.stderr).count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("--size"), r.stderr)
        XCTAssertEqual(loop.sha256(), before, "the device's contents changed")
    }

    // MARK: foreign files

    func testForeignFileSmallerThanSizeIsNeverWritten() throws {
        let f = dir.file("foreign.bin")
        var bytes = [UInt8](repeating: 0, count: 1 << 20)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0 ... 255) }
        try Data(bytes).write(to: URL(fileURLWithPath: f))
        // An mtime in the past, so a write in the same second would still show.
        sh("touch -d '2020-01-02 03:04:05.123456789' '\(f)'")
        let before = state(f)

        let r = try CLI.run(["run", "--target", f, "--size", "2m", "--engine", "psync", "--runtime", "200ms",
                             "--ramp-time", "0", "--no-progress"])
        XCTAssertEqual(r.status, 2, r.stdout + r.stderr)
        XCTAssertEqual(lines(r.stderr).count, 1, "one line on stderr: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("--force-overwrite"), r.stderr)
        XCTAssertEqual(state(f), before, "the foreign file was changed")

        // --verify on it: refused (its data is not iobench's), still untouched.
        let v = try CLI.run(["run", "--target", f, "--engine", "psync", "--runtime", "200ms", "--ramp-time", "0", "--verify", "--no-progress"])
        XCTAssertEqual(v.status, 2, v.stdout + v.stderr)
        XCTAssertEqual(state(f), before)

        // Read within its size: only read.
        let ok = try CLI.run(["run", "--target", f, "--size", "512k", "--engine", "io_uring", "--iodepth", "4",
                              "--runtime", "300ms", "--ramp-time", "0", "--no-progress", "--format", "json"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertFalse(ok.stderr.contains("creating") || ok.stderr.contains("extending"), ok.stderr)
        XCTAssertEqual(state(f), before, "reading the foreign file changed it")

        // With --force-overwrite: replaced by stamped data, and --verify passes on it.
        let forced = try CLI.run(["run", "--target", f, "--size", "2m", "--force-overwrite", "--verify", "--engine", "libaio",
                                  "--iodepth", "4", "--runtime", "300ms", "--ramp-time", "0", "--no-progress", "--format", "json"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertEqual(state(f).size, 2 << 20)
        let head = try XCTUnwrap(FileHandle(forReadingAtPath: f)).readData(ofLength: 4096)
        let stamped = head.withUnsafeBytes { Stamp.matches($0.baseAddress!, count: 4096, fileOffset: 0) }
        XCTAssertTrue(stamped, "the replaced file holds iobench's stamp")
        let j = try XCTUnwrap(RunJSON(forced.stdout))
        let c = try XCTUnwrap(j.cases.first)
        XCTAssertEqual(c["status"] as? String, "ok")
        XCTAssertGreaterThan(RunJSON.int(RunJSON.errors(c)["verified_reads"]), 0)
        XCTAssertEqual(RunJSON.int(RunJSON.errors(c)["verify_mismatches"]), 0)
    }

    func testOwnStampedFileIsRecognised() throws {
        let f = dir.file("own.dat")
        let args = ["run", "--target", f, "--engine", "psync", "--runtime", "100ms", "--ramp-time", "0", "--no-progress", "--format", "json"]
        let first = try CLI.run(args + ["--size", "4m"])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stderr.contains("creating"), first.stderr)
        let afterFirst = state(f)

        let second = try CLI.run(args + ["--size", "4m", "--verify"])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertFalse(second.stderr.contains("creating"), "the second run recreated its own file: \(second.stderr)")
        XCTAssertFalse(second.stderr.contains("extending"), second.stderr)
        let t = try XCTUnwrap(RunJSON(second.stdout)?.root["target"] as? [String: Any])
        XCTAssertEqual(t["stamped"] as? Bool, true)
        XCTAssertEqual(t["created_by_this_run"] as? Bool, false)
        XCTAssertEqual(state(f), afterFirst, "a plain run rewrote iobench's own file")

        // Its own file may be extended when --size asks for more; nothing else.
        let third = try CLI.run(args + ["--size", "8m", "--verify"])
        XCTAssertEqual(third.status, 0, third.stderr)
        XCTAssertTrue(third.stderr.contains("extending"), third.stderr)
        XCTAssertEqual(state(f).size, 8 << 20)
    }

    // MARK: prepare

    func testPrepareRefusesAnExistingFileWithoutForceOverwrite() throws {
        let f = dir.file("existing.dat")
        try Data("someone else's data\n".utf8).write(to: URL(fileURLWithPath: f))
        sh("touch -d '2020-01-02 03:04:05' '\(f)'")
        let before = state(f)
        let r = try CLI.run(["prepare", f, "--size", "8m"])
        XCTAssertEqual(r.status, 2, r.stdout + r.stderr)
        XCTAssertEqual(lines(r.stderr).count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("--force-overwrite"), r.stderr)
        XCTAssertEqual(state(f), before)

        // A directory is never replaced, even with --force-overwrite.
        let d = dir.file("adir")
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: false)
        let rd = try CLI.run(["prepare", d, "--size", "8m", "--force-overwrite"])
        XCTAssertEqual(rd.status, 2, rd.stdout + rd.stderr)
        var isDir: ObjCBool = false
        XCTAssertTrue(FileManager.default.fileExists(atPath: d, isDirectory: &isDir) && isDir.boolValue)
    }

    func testPrepareAndRunRefuseWhenTheLayoutDoesNotFit() throws {
        let fs = try LoopFilesystem(type: "ext4", sizeMiB: 64)
        addTeardownBlock { fs.cleanup() }
        let listing = { (try? FileManager.default.contentsOfDirectory(atPath: fs.mountPoint))?.filter { $0 != "lost+found" }.sorted() ?? [] }

        let f = fs.file("big.dat")
        let r = try CLI.run(["prepare", f, "--size", "256m", "--layout", "fragmented"])
        XCTAssertEqual(r.status, 2, r.stdout + r.stderr)
        XCTAssertEqual(lines(r.stderr).count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("free space"), r.stderr)
        XCTAssertEqual(listing(), [], "prepare left files behind: \(listing())")

        let c = try CLI.run(["prepare", f, "--size", "256m"])
        XCTAssertEqual(c.status, 2, c.stdout + c.stderr)
        XCTAssertTrue(c.stderr.contains("free space"), c.stderr)
        XCTAssertEqual(listing(), [])

        // run checks too, before it creates anything.
        let run = try CLI.run(["run", "--target", f, "--size", "256m", "--engine", "psync", "--runtime", "100ms", "--no-progress"])
        XCTAssertEqual(run.status, 2, run.stdout + run.stderr)
        XCTAssertEqual(lines(run.stderr).count, 1, run.stderr)
        XCTAssertTrue(run.stderr.contains("free space"), run.stderr)
        XCTAssertEqual(listing(), [], "run left files behind: \(listing())")
    }
}

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
import CIOBenchShim

/// Which files `iobench run` treats as its own, and what it does with the others:
/// ownership rests on the data (the stamp in every sampled block, a whole-block length,
/// a stamped tail), never on the `user.iobench.layout` marker alone; a prepared layout is
/// never extended; a new target appears at its path only when it is complete, and
/// concurrent runs on one path wait for each other instead of measuring a partial file.
/// Every test runs the built `iobench` on real files.
final class TargetOwnershipTests: XCTestCase {
    var dir: ScratchDirectory!

    override func setUpWithError() throws { dir = try ScratchDirectory() }
    override func tearDown() { dir = nil }

    struct FileState: Equatable {
        var size: UInt64
        var inode: UInt64
        var mtimeSec: Int
        var mtimeNsec: Int
        var sha256: String
    }

    func state(_ path: String, file: StaticString = #filePath, line: UInt = #line) -> FileState {
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0, "stat \(path)", file: file, line: line)
        let hash = sh("sha256sum '\(path)'").output.split(separator: " ").first.map(String.init) ?? ""
        return FileState(size: UInt64(st.st_size), inode: UInt64(st.st_ino), mtimeSec: st.st_mtim.tv_sec,
                         mtimeNsec: st.st_mtim.tv_nsec, sha256: hash)
    }

    func size(_ path: String) -> UInt64? {
        var st = stat()
        return stat(path, &st) == 0 ? UInt64(st.st_size) : nil
    }

    /// The names in the scratch directory (hidden temporary files included).
    func listing() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted() }

    func quick(_ target: String, _ extra: [String] = []) -> [String] {
        ["run", "--target", target, "--engine", "psync", "--runtime", "200ms", "--ramp-time", "0", "--no-progress"] + extra
    }

    func regionBytes(_ json: String) -> UInt64? {
        guard let t = RunJSON(json)?.root["target"] as? [String: Any] else { return nil }
        return RunJSON.int(t["region_bytes"])
    }

    func setMarker(_ path: String, _ value: String) throws {
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        let rc = value.withCString { iob_fsetxattr(fd, LayoutBuilder.markerName, $0, strlen($0)) }
        guard fd >= 0, rc == 0 else { throw XCTSkip("cannot set \(LayoutBuilder.markerName) on \(path): \(Errno(-rc))") }
    }

    // MARK: 1. the marker alone is not ownership

    /// A foreign text file carrying a copied `user.iobench.layout` is only read: `--size`
    /// beyond it is refused (exit 2, one line) and not a byte of it changes; `--verify`
    /// is refused since its data is not iobench's stamp.
    func testCopiedLayoutMarkerDoesNotMakeAForeignFileOwn() throws {
        let f = dir.file("notes.txt")
        var text = ""
        for i in 0 ..< 3000 { text += "line \(i): somebody's notes, not iobench data\n" }
        try Data(text.utf8).write(to: URL(fileURLWithPath: f))
        try setMarker(f, "contiguous")
        sh("touch -d '2020-01-02 03:04:05.123456789' '\(f)'")
        let before = state(f)
        XCTAssertNotEqual(before.size % 4096, 0)

        let r = try CLI.run(quick(f, ["--size", "1m"]))
        XCTAssertEqual(r.status, 2, r.stdout + r.stderr)
        XCTAssertEqual(lines(r.stderr).count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("--force-overwrite"), r.stderr)
        XCTAssertEqual(state(f), before, "a foreign file with a copied marker was written")

        let v = try CLI.run(quick(f, ["--size", "64k", "--verify"]))
        XCTAssertEqual(v.status, 2, v.stdout + v.stderr)
        XCTAssertEqual(state(f), before)
    }

    /// The same with a whole-block foreign file whose first and last blocks were copied
    /// from an iobench file: the blocks in between give it away.
    func testStampAtBothEndsOnlyIsNotOwnership() throws {
        let own = dir.file("own.dat")
        try makeStampedFile(own, size: 8 << 20)
        let f = dir.file("forged.bin")
        // 8 MiB of zeros with iobench's first and last 4 KiB: what the old check read.
        sh("cp '\(own)' '\(f)' && dd if=/dev/zero of='\(f)' bs=4096 seek=1 count=2046 conv=notrunc status=none")
        try setMarker(f, "contiguous")
        let before = state(f)
        let r = try CLI.run(quick(f, ["--size", "16m"]))
        XCTAssertEqual(r.status, 2, r.stdout + r.stderr)
        XCTAssertEqual(lines(r.stderr).count, 1, r.stderr)
        XCTAssertEqual(state(f), before, "a forged file was extended")
    }

    // MARK: 2. appended bytes are kept

    /// `head -c 8M iobench.dat > own.bin; echo notes >> own.bin`: the file is no longer
    /// iobench's own (its length is not whole blocks), so `--size 16m` is refused and the
    /// appended bytes survive. Within its size it is only read. `--force-overwrite`
    /// replaces it atomically: the old inode keeps its bytes, the path gets a new file.
    func testBytesAppendedToAnIOBenchFileAreNeverOverwritten() throws {
        let own = dir.file("own.bin")
        try makeStampedFile(own, size: 8 << 20)
        sh("echo notes >> '\(own)'")
        sh("touch -d '2020-01-02 03:04:05.123456789' '\(own)'")
        let before = state(own)

        let r = try CLI.run(quick(own, ["--size", "16m"]))
        XCTAssertEqual(r.status, 2, r.stdout + r.stderr)
        XCTAssertEqual(lines(r.stderr).count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("--force-overwrite"), r.stderr)
        XCTAssertEqual(state(own), before, "the appended bytes were overwritten")

        let read = try CLI.run(quick(own, ["--size", "4m", "--format", "json"]))
        XCTAssertEqual(read.status, 0, read.stderr)
        XCTAssertEqual(state(own), before)

        // Replacing: the old file, held open here, is untouched; the path gets a new file.
        let old = try XCTUnwrap(FileHandle(forReadingAtPath: own))
        defer { try? old.close() }
        let forced = try CLI.run(quick(own, ["--size", "16m", "--force-overwrite", "--verify", "--format", "json"]))
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertEqual(size(own), 16 << 20)
        XCTAssertNotEqual(state(own).inode, before.inode, "--force-overwrite replaces the file by rename, not in place")
        try old.seek(toOffset: 8 << 20)
        XCTAssertEqual(String(decoding: old.readDataToEndOfFile(), as: UTF8.self), "notes\n", "the replaced file was written in place")
        XCTAssertEqual(listing(), ["own.bin"], "temporary files left behind")
    }

    /// A whole-block file whose last block is not the stamp (someone overwrote it) is not
    /// iobench's own either.
    func testOverwrittenTailIsNotOwnership() throws {
        let f = dir.file("tail.dat")
        try makeStampedFile(f, size: 8 << 20)
        sh("printf 'edited by hand' | dd of='\(f)' bs=1 seek=\((8 << 20) - 100) conv=notrunc status=none")
        let before = state(f)
        let r = try CLI.run(quick(f, ["--size", "16m"]))
        XCTAssertEqual(r.status, 2, r.stdout + r.stderr)
        XCTAssertEqual(state(f), before)
    }

    // MARK: 3. prepared layouts are never extended

    func testPreparedFileIsNeverExtended() throws {
        let f = dir.file("frag.dat")
        let p = try CLI.run(["prepare", f, "--size", "16m", "--layout", "mixed:64k"])
        guard p.status == 0 else { throw XCTSkip("prepare cannot make a mixed layout here: \(p.stderr)") }
        let before = state(f)

        for extra in [["--size", "64m"], ["--size", "64m", "--force-overwrite"]] {
            let r = try CLI.run(quick(f, extra))
            XCTAssertEqual(r.status, 2, "\(extra): " + r.stdout + r.stderr)
            XCTAssertEqual(lines(r.stderr).count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains("iobench prepare --size"), r.stderr)
            XCTAssertEqual(state(f), before, "\(extra) changed the prepared file")
        }
        // Its written part holds the stamp (the rest reads as zeros): --verify accepts it.
        let v = try CLI.run(quick(f, ["--verify", "--size", "8m", "--format", "json"]))
        XCTAssertEqual(v.status, 0, v.stderr)
        XCTAssertEqual((RunJSON(v.stdout)?.root["target"] as? [String: Any])?["stamped"] as? Bool, true)
        XCTAssertEqual(state(f), before)
    }

    // MARK: 4. partial targets

    /// Two runs started ~80 ms apart on a new scratch file: the first creates it, the
    /// second says it waits, and both measure the full 256 MiB region. While they
    /// measure, each holds a shared lock on the file (an exclusive one is refused).
    func testTwoRunsStartedApartBothMeasureTheWholeNewFile() throws {
        let args = ["run", "--dir", dir.path, "--size", "256m", "--engine", "psync", "--runtime", "2s", "--ramp-time", "0",
                    "--format", "json", "--no-progress"]
        let a = try BackgroundIOBench(args)
        addTeardownBlock { a.kill() }
        usleep(80_000)
        let b = try BackgroundIOBench(args)
        addTeardownBlock { b.kill() }
        let target = dir.file("iobench.dat")
        // While both measure: shared locks held, no exclusive lock possible.
        let deadline = Date().addingTimeInterval(30)
        var sawShared = false
        while Date() < deadline && a.isRunning && b.isRunning {
            if size(target) == 256 << 20 {
                let ex = sh("flock -n -x '\(target)' true").status
                let shared = sh("flock -n -s '\(target)' true").status
                if ex != 0 && shared == 0 { sawShared = true; break }
            }
            usleep(50_000)
        }
        let ea = try XCTUnwrap(a.wait(timeout: 60), "first run hung")
        let eb = try XCTUnwrap(b.wait(timeout: 60), "second run hung")
        XCTAssertEqual(ea.status, 0, a.stderr)
        XCTAssertEqual(eb.status, 0, b.stderr)
        XCTAssertEqual(regionBytes(a.stdout), 256 << 20, a.stderr)
        XCTAssertEqual(regionBytes(b.stdout), 256 << 20, b.stderr)
        XCTAssertEqual([a.stderr, b.stderr].filter { $0.contains("iobench: creating") }.count, 1, a.stderr + b.stderr)
        XCTAssertTrue(b.stderr.contains("waiting") || a.stderr.contains("waiting"), "the second run says it waits: \(b.stderr)")
        XCTAssertTrue(sawShared, "while measuring, a run holds a shared flock on \(target)")
        XCTAssertEqual(size(target), 256 << 20)
        XCTAssertEqual(listing(), ["iobench.dat"], "temporary files left behind")
    }

    /// Started together: neither is refused, both measure the whole file.
    func testTwoRunsStartedTogetherBothMeasureTheWholeNewFile() throws {
        let target = dir.file("t.dat")
        let args = quick(target, ["--size", "64m", "--format", "json"])
        let a = try BackgroundIOBench(args)
        let b = try BackgroundIOBench(args)
        addTeardownBlock { a.kill(); b.kill() }
        let ea = try XCTUnwrap(a.wait(timeout: 60)), eb = try XCTUnwrap(b.wait(timeout: 60))
        XCTAssertEqual(ea.status, 0, a.stderr)
        XCTAssertEqual(eb.status, 0, b.stderr)
        XCTAssertEqual(regionBytes(a.stdout), 64 << 20)
        XCTAssertEqual(regionBytes(b.stdout), 64 << 20)
        XCTAssertEqual(listing(), ["t.dat"])
    }

    /// SIGKILL while the file is being created: nothing appears at the final path (the
    /// data goes to a hidden temporary), and the next run, without --size, removes the
    /// stale temporary and measures a complete file of the default size.
    func testSIGKILLWhileCreatingLeavesNoPartialTarget() throws {
        let f = dir.file("scratch.dat")
        let a = try BackgroundIOBench(quick(f, ["--size", "1g"]))
        addTeardownBlock { a.kill() }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && listing() == [] { usleep(5_000) }
        usleep(300_000)
        XCTAssertTrue(a.isRunning, "the run finished creating 1 GiB within 0.3 s; cannot interrupt it: \(a.stderr)")
        a.send(SIGKILL)
        _ = a.wait(timeout: 10)
        XCTAssertNil(size(f), "a SIGKILLed run left a partial file of \(size(f) ?? 0) bytes at \(f)")
        XCTAssertFalse(listing().isEmpty, "the partial data is under a temporary name")

        let b = try CLI.run(quick(f, ["--format", "json"]))
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertEqual(regionBytes(b.stdout), TargetRequest.defaultNewFileSize, b.stderr)
        XCTAssertEqual(size(f), TargetRequest.defaultNewFileSize)
        XCTAssertEqual(listing(), ["scratch.dat"], "the stale temporary was not removed")
    }

    /// `--force-overwrite` replaces a file by rename: SIGKILL while the new file is being
    /// written leaves the old file whole at its path and a stale temporary beside it,
    /// which the next run removes (nobody holds its lock any more).
    func testKilledReplacementKeepsTheOldFileAndTheNextRunRemovesTheTemporary() throws {
        let f = dir.file("s.dat")
        var bytes = [UInt8](repeating: 0, count: 1 << 20)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0 ... 255) }
        try Data(bytes).write(to: URL(fileURLWithPath: f))
        let before = state(f)
        let a = try BackgroundIOBench(quick(f, ["--size", "1g", "--force-overwrite"]))
        addTeardownBlock { a.kill() }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && listing().count < 2 { usleep(5_000) }
        usleep(200_000)
        XCTAssertTrue(a.isRunning, a.stderr)
        a.send(SIGKILL)
        _ = a.wait(timeout: 10)
        XCTAssertEqual(state(f), before, "the file being replaced was changed before the new one was complete")
        XCTAssertEqual(listing().count, 2, "a temporary beside the old file: \(listing())")
        let b = try CLI.run(quick(f, ["--size", "512k"]))
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertEqual(state(f), before)
        XCTAssertEqual(listing(), ["s.dat"], "the stale temporary was not removed")
    }

    /// A run that must wait for another writer says so once, and SIGINT ends the wait
    /// (exit 130) without touching the file.
    func testWaitingForAWriterSaysSoAndHonoursSIGINT() throws {
        let f = dir.file("busy.dat")
        try makeStampedFile(f, size: 8 << 20)
        let before = state(f)
        let fd = open(f, O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        XCTAssertEqual(flock(fd, LOCK_EX), 0, "the test holds the writer's lock")
        let a = try BackgroundIOBench(quick(f))
        addTeardownBlock { a.kill() }
        usleep(800_000)
        XCTAssertTrue(a.isRunning, "the run did not wait for the exclusive lock: \(a.stderr)")
        let sent = Date()
        a.send(SIGINT)
        let e = try XCTUnwrap(a.wait(timeout: 10), "SIGINT did not end the wait")
        XCTAssertLessThan(Date().timeIntervalSince(sent), 3)
        XCTAssertEqual(e.status, 130, a.stderr)
        XCTAssertTrue(a.stderr.contains("waiting for another iobench"), a.stderr)
        XCTAssertEqual(state(f), before)
    }

    /// Extending iobench's own file: a signal keeps the stamped part (whole blocks, first
    /// bytes unchanged), and the next run accepts it as iobench's own.
    func testInterruptedExtensionKeepsTheStampedPart() throws {
        let f = dir.file("grow.dat")
        try makeStampedFile(f, size: 8 << 20)
        let headBefore = sh("head -c 8388608 '\(f)' | sha256sum").output
        let a = try BackgroundIOBench(quick(f, ["--size", "2g"]))
        addTeardownBlock { a.kill() }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && (size(f) ?? 0) <= 8 << 20 { usleep(5_000) }
        usleep(100_000)
        a.send(SIGTERM)
        let e = try XCTUnwrap(a.wait(timeout: 30))
        XCTAssertEqual(e.status, 143, a.stderr)
        let s = try XCTUnwrap(size(f))
        XCTAssertGreaterThanOrEqual(s, 8 << 20)
        XCTAssertEqual(s % 4096, 0)
        XCTAssertEqual(sh("head -c 8388608 '\(f)' | sha256sum").output, headBefore)
        let v = try CLI.run(quick(f, ["--verify", "--format", "json"]))
        XCTAssertEqual(v.status, 0, v.stderr)
        XCTAssertEqual(regionBytes(v.stdout), s)
        XCTAssertEqual(listing(), ["grow.dat"])
    }

    // MARK: 5. messages

    /// A file the user may not read is reported as such, not as a filesystem refusing O_DIRECT.
    func testPermissionDeniedIsReportedAsSuch() throws {
        guard isRoot() else { throw XCTSkip("needs root to switch to an unprivileged user") }
        let f = dir.file("private.dat")
        try makeStampedFile(f, size: 4 << 20)
        chmod(f, 0o600)
        guard sh("setpriv --reuid=65534 --regid=65534 --clear-groups '\(CLI.binary)' --version").status == 0 else {
            throw XCTSkip("user 65534 cannot run \(CLI.binary)")
        }
        let r = sh("setpriv --reuid=65534 --regid=65534 --clear-groups '\(CLI.binary)' run --target '\(f)' --engine psync --runtime 100ms --ramp-time 0 --no-progress 2>&1 >/dev/null")
        XCTAssertEqual(r.status, 2, r.output)
        XCTAssertEqual(lines(r.output).count, 1, r.output)
        XCTAssertTrue(r.output.contains("EACCES") || r.output.contains("Permission denied"), r.output)
        XCTAssertFalse(r.output.contains("O_DIRECT"), r.output)
    }

    func testFreeSpaceMessageNamesTheMargin() throws {
        let fs = try LoopFilesystem(type: "ext4", sizeMiB: 64)
        addTeardownBlock { fs.cleanup() }
        let f = fs.file("x.dat")
        let r = try CLI.run(quick(f, ["--size", "32m"]))
        XCTAssertEqual(r.status, 2, r.stdout + r.stderr)
        XCTAssertEqual(lines(r.stderr).count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("plus a 64 MiB margin"), r.stderr)
        XCTAssertNil(size(f))
    }

    func testDirThatIsAFileIsCalledNotADirectory() throws {
        let f = dir.file("plain")
        try Data("x".utf8).write(to: URL(fileURLWithPath: f))
        let r = try CLI.run(["run", "--dir", f, "--engine", "psync", "--runtime", "100ms", "--no-progress"])
        XCTAssertEqual(r.status, 2, r.stdout + r.stderr)
        XCTAssertEqual(lines(r.stderr).count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("is not a directory"), r.stderr)
        XCTAssertFalse(r.stderr.contains("does not exist"), r.stderr)
    }
}

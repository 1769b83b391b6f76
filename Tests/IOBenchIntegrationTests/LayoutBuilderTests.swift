import CIOBenchShim
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

/// `iobench prepare`: every layout on ext4 and on XFS, checked independently of the
/// builder's own checks with FIEMAP (ExtentMap.read) and by reading every 4 KiB block
/// back with O_DIRECT; and the CLI's refusals.
final class LayoutBuilderTests: XCTestCase {
    static let size: UInt64 = 64 << 20
    static let extent: UInt64 = 64 << 10

    // MARK: - helpers

    /// A directory on `type`: the temp dir when it is on that filesystem, else a loop
    /// filesystem cleaned up when the test ends (pass or fail).
    func directory(on type: String) throws -> String {
        if type == "ext4" {
            let scratch = try ScratchDirectory()
            if StorageInfo.filesystem(of: scratch.path)?.type == "ext4" {
                // XCTest keeps teardown blocks (and so `scratch`) alive to the end of the
                // run: remove the directory here rather than rely on deinit.
                addTeardownBlock { try? FileManager.default.removeItem(atPath: scratch.path) }
                return scratch.path
            }
        }
        let fs = try LoopFilesystem(type: type)
        addTeardownBlock { fs.cleanup() }
        return fs.mountPoint
    }

    func extentMap(_ path: String) throws -> ExtentMap {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw XCTSkip("cannot open \(path): \(Errno.current)") }
        defer { close(fd) }
        return try ExtentMap.read(fd: fd, path: path)
    }

    /// Reads [from, to) with O_DIRECT and checks every 4 KiB block: returns the blocks
    /// checked and the offsets of those that do not hold the stamp (or, with `zeros`,
    /// are not all zero).
    func checkBlocks(_ path: String, from: UInt64, to: UInt64, zeros: Bool = false) throws -> (checked: Int, bad: [UInt64]) {
        let fd = iob_open(path, O_RDONLY | O_CLOEXEC | IOB_O_DIRECT, 0)
        XCTAssertGreaterThanOrEqual(fd, 0, "open O_DIRECT \(path): \(Errno.current)")
        guard fd >= 0 else { return (0, []) }
        defer { close(fd) }
        let piece = 1 << 20
        let buf = try AlignedBuffers(count: 1, size: piece)
        var checked = 0
        var bad: [UInt64] = []
        var off = from
        while off < to {
            let n = Int(min(UInt64(piece), to - off))
            let r = pread(fd, buf.base, n, off_t(off))
            XCTAssertEqual(r, n, "read \(path) at \(off): \(Errno.current)")
            guard r == n else { return (checked, bad) }
            var b = 0
            while b < n {
                let blockOff = off + UInt64(b)
                let ok: Bool
                if zeros {
                    let words = (buf.base + b).assumingMemoryBound(to: UInt64.self)
                    ok = (0 ..< 512).allSatisfy { words[$0] == 0 }
                } else {
                    ok = Stamp.matches(buf.base + b, count: 4096, fileOffset: blockOff)
                }
                if !ok { bad.append(blockOff) }
                checked += 1
                b += 4096
            }
            off += UInt64(n)
        }
        return (checked, bad)
    }

    /// Prepares every layout in `dir` on `type` and checks each file.
    func checkAllLayouts(in dir: String, type: String, expectMethod: String) throws {
        let size = Self.size, extent = Self.extent
        XCTAssertEqual(StorageInfo.filesystem(of: dir)?.type, type)

        // contiguous: few extents, all written, data verifies.
        do {
            let path = dir + "/contiguous.dat"
            let r = try LayoutBuilder.prepare(path: path, size: size, layout: .contiguous, force: false)
            let map = try extentMap(path)
            print("\(type) contiguous: \(r.extents.records) records, \(r.extents.discontinuities) discontinuities (\(r.method))")
            XCTAssertEqual(r.method, "sequential-writes")
            XCTAssertEqual(map.fileSize, size)
            XCTAssertLessThanOrEqual(map.extents.count, 8, "contiguous should be a few extents: \(map.extents)")
            XCTAssertTrue(map.extents.allSatisfy(\.isPlainWritten), "\(map.extents)")
            XCTAssertEqual(map.extents.reduce(0) { $0 + $1.length }, size)
            let v = try checkBlocks(path, from: 0, to: size)
            XCTAssertEqual(v.checked, Int(size / 4096))
            XCTAssertEqual(v.bad, [])
            XCTAssertEqual(LayoutBuilder.marker(path: path), "contiguous")
            XCTAssertTrue(StampedFileWriter.looksStamped(path: path, size: size))
            unlink(path)
        }

        // fragmented: at least size/extent/2 physical discontinuities, every extent
        // written, every 4 KiB block verifies.
        do {
            let path = dir + "/fragmented.dat"
            let r = try LayoutBuilder.prepare(path: path, size: size, layout: .fragmented(extentBytes: extent), force: false)
            let map = try extentMap(path)
            print("\(type) fragmented:64k: \(r.extents.records) records, \(r.extents.written) written, \(r.extents.discontinuities) discontinuities, lengths \(r.extents.minLength)/\(r.extents.medianLength)/\(r.extents.maxLength) (\(r.method))")
            XCTAssertEqual(r.method, expectMethod)
            XCTAssertEqual(r.expectedChunks, Int(size / extent))
            XCTAssertGreaterThanOrEqual(map.discontinuities, Int(size / extent / 2), "\(map.extents.count) records")
            XCTAssertEqual(map.discontinuities, r.extents.discontinuities)
            XCTAssertTrue(map.extents.allSatisfy(\.isPlainWritten), "every extent written")
            XCTAssertEqual(map.unwrittenExtents, 0)
            XCTAssertEqual(map.extents.reduce(0) { $0 + $1.length }, size)
            let v = try checkBlocks(path, from: 0, to: size)
            XCTAssertEqual(v.checked, Int(size / 4096))
            XCTAssertEqual(v.bad.count, 0, "blocks without the stamp, first at \(v.bad.first ?? 0)")
            XCTAssertEqual(LayoutBuilder.marker(path: path), "fragmented:64k")
            // No donor or spacer left behind.
            let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".iobench-") }
            XCTAssertEqual(left, [])
            unlink(path)
        }

        // unwritten: only unwritten extents, covering the file; reads return zeros.
        do {
            let path = dir + "/unwritten.dat"
            let r = try LayoutBuilder.prepare(path: path, size: size, layout: .unwritten, force: false)
            let map = try extentMap(path)
            print("\(type) unwritten: \(r.extents.records) records, \(r.extents.unwritten) unwritten (\(r.method))")
            XCTAssertEqual(r.method, "fallocate")
            XCTAssertEqual(map.fileSize, size)
            XCTAssertFalse(map.extents.isEmpty)
            XCTAssertTrue(map.extents.allSatisfy(\.isUnwritten), "\(map.extents)")
            XCTAssertEqual(map.extents.reduce(0) { $0 + $1.length }, size)
            let z = try checkBlocks(path, from: 0, to: 1 << 20, zeros: true)
            XCTAssertEqual(z.bad, [])
            XCTAssertEqual(LayoutBuilder.marker(path: path), "unwritten")
            unlink(path)
        }

        // mixed: fragmented written first 3/4, unwritten last 1/4.
        do {
            let path = dir + "/mixed.dat"
            let r = try LayoutBuilder.prepare(path: path, size: size, layout: .mixed(extentBytes: extent), force: false)
            let map = try extentMap(path)
            print("\(type) mixed:64k: \(r.extents.records) records, \(r.extents.written) written, \(r.extents.unwritten) unwritten, \(r.extents.discontinuities) discontinuities (\(r.method))")
            XCTAssertEqual(r.method, expectMethod + "+fallocate")
            XCTAssertEqual(map.fileSize, size)
            let split = size / 4 * 3
            XCTAssertEqual(r.writtenBytes, split)
            XCTAssertGreaterThan(map.writtenExtents, 0)
            XCTAssertGreaterThan(map.unwrittenExtents, 0)
            XCTAssertGreaterThanOrEqual(map.discontinuities, Int(split / extent / 2))
            for e in map.extents {
                if e.logical < split {
                    XCTAssertTrue(e.isPlainWritten && e.end <= split, "written part: \(e)")
                } else {
                    XCTAssertTrue(e.isUnwritten, "unwritten part: \(e)")
                }
            }
            XCTAssertEqual(map.extents.reduce(0) { $0 + $1.length }, size)
            let v = try checkBlocks(path, from: 0, to: split)
            XCTAssertEqual(v.checked, Int(split / 4096))
            XCTAssertEqual(v.bad.count, 0, "blocks without the stamp, first at \(v.bad.first ?? 0)")
            let z = try checkBlocks(path, from: split, to: split + (1 << 20), zeros: true)
            XCTAssertEqual(z.bad, [])
            XCTAssertEqual(LayoutBuilder.marker(path: path), "mixed:64k")
            unlink(path)
        }
    }

    // MARK: - layouts per filesystem

    func testLayoutsOnExt4() throws {
        guard isRoot() else { throw XCTSkip("EXT4_IOC_MOVE_EXT and loop devices need root") }
        let dir = try directory(on: "ext4")
        try checkAllLayouts(in: dir, type: "ext4", expectMethod: "ext4-move-ext")
    }

    func testLayoutsOnXFS() throws {
        let fs = try LoopFilesystem(type: "xfs")
        addTeardownBlock { fs.cleanup() }
        try checkAllLayouts(in: fs.mountPoint, type: "xfs", expectMethod: "xfs-extsize-interleave")
    }

    /// A method that cannot fragment on this filesystem is a failure with the numbers,
    /// and the file is removed: ext4 merges interleaved appends unless it is told not to.
    func testFragmentingThatDoesNotFragmentFailsAndRemovesTheFile() throws {
        guard isRoot() else { throw XCTSkip("needs root for the loop filesystem") }
        let dir = try directory(on: "ext4")
        let path = dir + "/merged.dat"
        do {
            let r = try LayoutBuilder.prepare(path: path, size: 32 << 20, layout: .fragmented(extentBytes: 64 << 10),
                                              force: false, method: .interleavedWrites)
            // Some kernels do keep the chunks apart; then the builder must have checked it.
            XCTAssertGreaterThanOrEqual(r.extents.discontinuities, 256)
            print("ext4 interleaved-writes fragmented anyway: \(r.extents.records) records, \(r.extents.discontinuities) discontinuities")
        } catch {
            guard case .runFailed(let m) = error else { return XCTFail("expected runFailed, got \(error)") }
            print("ext4 interleaved-writes: \(m)")
            XCTAssertTrue(m.contains("could not fragment"), m)
            XCTAssertTrue(m.contains("achieved"), m)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path), "the file must be removed")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".iobench-") }
        XCTAssertEqual(left, [])
    }

    // MARK: - parsing and refusals

    func testLayoutParsing() throws {
        XCTAssertEqual(try Layout.parse("contiguous"), .contiguous)
        XCTAssertEqual(try Layout.parse("fragmented"), .fragmented(extentBytes: 64 << 10))
        XCTAssertEqual(try Layout.parse("fragmented:64k"), .fragmented(extentBytes: 64 << 10))
        XCTAssertEqual(try Layout.parse("unwritten"), .unwritten)
        XCTAssertEqual(try Layout.parse("mixed"), .mixed(extentBytes: 64 << 10))
        XCTAssertEqual(try Layout.parse("mixed:128k"), .mixed(extentBytes: 128 << 10))
        XCTAssertEqual(Layout.mixed(extentBytes: 1 << 20).description, "mixed:1m")
        for bad in ["", "sparse", "fragmented:", "fragmented:abc", "fragmented:0", "contiguous:64k", "mixed:4q"] {
            XCTAssertThrowsError(try Layout.parse(bad), bad) { e in
                guard case IOBenchError.badInput(let m) = e else { return XCTFail("\(e)") }
                XCTAssertTrue(m.contains("--layout"), m)
            }
        }
    }

    func testExtentNotAMultipleOfTheBlockSizeIsBadInput() throws {
        let scratch = try ScratchDirectory()
        for layout in [Layout.fragmented(extentBytes: 6 << 10), .fragmented(extentBytes: 4 << 10), .mixed(extentBytes: 1000)] {
            XCTAssertThrowsError(try LayoutBuilder.prepare(path: scratch.file("x.dat"), size: 8 << 20, layout: layout, force: false)) { e in
                guard case IOBenchError.badInput(let m) = e else { return XCTFail("\(e)") }
                XCTAssertTrue(m.contains("block size"), m)
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.file("x.dat")))
        }
    }

    /// Exit 2, nothing on stdout, exactly one line on stderr that mentions `mentions`.
    func assertBadInput(_ args: [String], mentions: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try CLI.run(args)
        XCTAssertEqual(r.status, 2, "args \(args): \(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.stdout, "", file: file, line: line)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "one line on stderr: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(mentions), "'\(mentions)' in: \(r.stderr)", file: file, line: line)
    }

    func testCLIRefusesAnExistingFileWithoutForceOverwrite() throws {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: CLI.binary), "build iobench first: \(CLI.binary)")
        let scratch = try ScratchDirectory()
        let path = scratch.file("precious.dat")
        let original = Data(repeating: 0x5A, count: 8192)
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: original))
        try assertBadInput(["prepare", path, "--size", "8m", "--layout", "contiguous"], mentions: "--force-overwrite")
        XCTAssertEqual(FileManager.default.contents(atPath: path), original, "the existing file is untouched")

        // With the flag it is replaced; --format json prints the report and nothing else.
        let r = try CLI.run(["prepare", path, "--size", "8m", "--layout", "fragmented:64k", "--force-overwrite", "--format", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let report = try JSONDecoder().decode(PrepareReport.self, from: Data(r.stdout.utf8))
        XCTAssertEqual(report.layout, "fragmented:64k")
        XCTAssertEqual(report.size, 8 << 20)
        XCTAssertEqual(report.expectedChunks, 128)
        XCTAssertGreaterThanOrEqual(report.extents.discontinuities, 64)
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        XCTAssertNotNil(json?["fs_block_size"])
        XCTAssertNotNil((json?["extents"] as? [String: Any])?["discontinuities"])

        // A directory is never replaced, even with the flag.
        try assertBadInput(["prepare", scratch.path, "--size", "8m", "--force-overwrite"], mentions: "directory")
    }

    func testCLIBadLayoutIsExit2WithOneLine() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.file("new.dat")
        try assertBadInput(["prepare", path, "--size", "8m", "--layout", "swiss-cheese"], mentions: "--layout 'swiss-cheese'")
        try assertBadInput(["prepare", path, "--size", "8m", "--layout", "fragmented:lots"], mentions: "--layout")
        try assertBadInput(["prepare", path, "--size", "8m", "--layout", "fragmented:6k"], mentions: "block size")
        try assertBadInput(["prepare", path, "--size", "8m", "--format", "xml"], mentions: "'xml' is invalid for '--format")
        try assertBadInput(["prepare", path, "--size", "lots"], mentions: "--size 'lots'")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "nothing created on bad input")
    }

    func testCLITextReport() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.file("text.dat")
        let r = try CLI.run(["prepare", path, "--size", "4m", "--layout", "mixed"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("prepared \(path): 4m, layout mixed:64k"), r.stdout)
        XCTAssertTrue(r.stdout.contains("physical discontinuities"), r.stdout)
        XCTAssertTrue(r.stdout.contains("unwritten"), r.stdout)
    }
}

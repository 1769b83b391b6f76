import CIOBenchShim
import Foundation
import Glibc
import IOBenchPlatform

/// How `iobench prepare` lays a file out on disk, so that one file serves the path
/// classes (see the brief): written extents for `simple` and `single-extent` reads,
/// many small extents for `multi-extent` reads, unwritten extents for `unwritten` reads.
public enum Layout: Sendable, Equatable, CustomStringConvertible {
    /// Stamped data written front to back: as few extents as the filesystem allows.
    case contiguous
    /// Stamped data in extents of `extentBytes`, each physically apart from the next.
    case fragmented(extentBytes: UInt64)
    /// fallocate(2) only: unwritten extents, no data written (reads return zeros).
    case unwritten
    /// The first 3/4 laid out `fragmented`, the last 1/4 unwritten.
    case mixed(extentBytes: UInt64)

    public static let defaultExtentBytes: UInt64 = 64 << 10
    /// Largest extent a fragmented layout asks for (it must fit XFS's 32-bit extent-size hint).
    public static let maxExtentBytes: UInt64 = 1 << 30

    static let acceptedForms = "contiguous, fragmented[:SIZE], unwritten or mixed[:SIZE] (SIZE is the extent length, default 64k; e.g. fragmented:64k, mixed:128k)"

    /// Parses `contiguous`, `fragmented`, `fragmented:64k`, `unwritten`, `mixed`, `mixed:128k`.
    public static func parse(_ text: String) throws(IOBenchError) -> Layout {
        let t = text.trimmingCharacters(in: " ").lowercased()
        let parts = t.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let name = parts.first.map(String.init) ?? ""
        let argument = parts.count > 1 ? String(parts[1]) : nil
        let unknown = IOBenchError.badInput("--layout '\(text)' is not known; use \(acceptedForms)")
        switch name {
        case "contiguous", "unwritten":
            guard argument == nil else {
                throw .badInput("--layout '\(text)': \(name) takes no extent size; use \(name), or fragmented:SIZE / mixed:SIZE for extents of SIZE")
            }
            return name == "contiguous" ? .contiguous : .unwritten
        case "fragmented", "mixed":
            var extent = defaultExtentBytes
            if let argument {
                guard let v = try? Units.parseSize(argument, option: "layout"), v > 0 else {
                    throw .badInput("--layout '\(text)': '\(argument)' is not an extent size; write e.g. \(name):64k (accepted: \(acceptedForms))")
                }
                extent = v
            }
            guard extent <= maxExtentBytes else {
                throw .badInput("--layout '\(text)': extents of \(Units.formatSize(extent)) are too large to fragment with; use at most \(Units.formatSize(maxExtentBytes)), e.g. \(name):64k")
            }
            return name == "fragmented" ? .fragmented(extentBytes: extent) : .mixed(extentBytes: extent)
        default:
            throw unknown
        }
    }

    /// The canonical text: `contiguous`, `fragmented:64k`, `unwritten`, `mixed:64k`.
    public var description: String {
        switch self {
        case .contiguous: return "contiguous"
        case .unwritten: return "unwritten"
        case .fragmented(let e): return "fragmented:\(Units.formatSize(e))"
        case .mixed(let e): return "mixed:\(Units.formatSize(e))"
        }
    }

    /// The length of each fragmented extent, for the layouts that have them.
    public var extentBytes: UInt64? {
        switch self {
        case .fragmented(let e), .mixed(let e): return e
        case .contiguous, .unwritten: return nil
        }
    }
}

/// What the file's extent map (FIEMAP, with FIEMAP_FLAG_SYNC) shows. Records are
/// counted as FIEMAP returns them: physically adjacent records are not merged
/// (filefrag's summary merges them); `discontinuities` counts the places where the next
/// record does not continue physically, the boundaries a read must be split at.
public struct ExtentSummary: Codable, Sendable, Equatable {
    public var records: Int
    public var written: Int
    public var unwritten: Int
    public var discontinuities: Int
    public var minLength: UInt64
    public var medianLength: UInt64
    public var maxLength: UInt64

    public init(_ map: ExtentMap) {
        records = map.extents.count
        written = map.writtenExtents
        unwritten = map.unwrittenExtents
        discontinuities = map.discontinuities
        let lengths = map.extents.map(\.length).sorted()
        minLength = lengths.first ?? 0
        medianLength = lengths.isEmpty ? 0 : lengths[lengths.count / 2]
        maxLength = lengths.last ?? 0
    }

    enum CodingKeys: String, CodingKey {
        case records, written, unwritten, discontinuities
        case minLength = "min_length"
        case medianLength = "median_length"
        case maxLength = "max_length"
    }
}

/// The outcome of `iobench prepare`: what was asked for, how it was built, and what the
/// extent map shows was achieved.
public struct PrepareReport: Codable, Sendable, Equatable {
    /// Every iobench JSON document names itself (docs/json-schema.md).
    public var schema: String? = "iobench/prepare"
    public var schemaVersion: Int? = 1
    /// The layout, in canonical text (`fragmented:64k`); also stored in the file's
    /// `user.iobench.layout` extended attribute.
    public var layout: String
    public var path: String
    public var size: UInt64
    public var filesystem: String
    public var fsBlockSize: UInt64
    /// How the layout was made: `sequential-writes`, `fallocate`, `ext4-move-ext`,
    /// `xfs-extsize-interleave` or `interleaved-writes` (`+fallocate` for mixed).
    public var method: String
    /// The extent length asked for (fragmented and mixed layouts).
    public var extentBytes: UInt64?
    /// Bytes holding stamped data, from offset 0.
    public var writtenBytes: UInt64
    /// Bytes allocated unwritten, after the written part.
    public var unwrittenBytes: UInt64
    /// Fragmented chunks the layout asked for (fragmented and mixed layouts).
    public var expectedChunks: Int?
    public var extents: ExtentSummary
    /// Filesystem blocks read back with O_DIRECT and found to hold the stamp.
    public var verifiedBlocks: Int
    /// Whether the `user.iobench.layout` marker was set (false where xattrs are unsupported).
    public var marked: Bool

    enum CodingKeys: String, CodingKey {
        case layout, path, size, filesystem, method, extents, marked, schema
        case schemaVersion = "schema_version"
        case fsBlockSize = "fs_block_size"
        case extentBytes = "extent_bytes"
        case writtenBytes = "written_bytes"
        case unwrittenBytes = "unwritten_bytes"
        case expectedChunks = "expected_chunks"
        case verifiedBlocks = "verified_blocks"
    }
}

/// Builds files with a known on-disk layout for the path classes (`iobench prepare`).
public enum LayoutBuilder {
    /// The extended attribute that marks a file as iobench's own, holding the layout text.
    public static let markerName = "user.iobench.layout"
    /// The layout text of a file `iobench prepare` made (its `user.iobench.layout`
    /// attribute), or nil for any other file or where xattrs are unsupported.
    public static func marker(path: String) -> String? {
        let fd = iob_open(path, O_RDONLY | O_CLOEXEC, 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return marker(fd: fd)
    }

    /// The layout marker of the open file `fd`, or nil.
    public static func marker(fd: Int32) -> String? {
        var buf = [UInt8](repeating: 0, count: 256)
        let n = buf.withUnsafeMutableBytes { iob_fgetxattr(fd, markerName, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        return String(decoding: buf[..<n], as: UTF8.self)
    }

    /// Free space kept beyond what the layout needs, so the filesystem never fills up.
    static let freeSpaceMargin: UInt64 = 64 << 20
    /// Writes go through one aligned buffer of this size.
    static let bufferBytes = 1 << 20

    /// Creates `path` holding `size` bytes laid out as `layout`, checks the result with
    /// FIEMAP (and, for written data, by reading it back), and reports what was achieved.
    /// An existing `path` is replaced only when `force` is true. Anything this call
    /// created is removed when it fails.
    public static func prepare(path: String, size: UInt64, layout: Layout, force: Bool,
                               log: (String) -> Void = { _ in }) throws(IOBenchError) -> PrepareReport {
        try prepare(path: path, size: size, layout: layout, force: force, method: nil, log: log)
    }

    /// How fragmented layouts are made; by default chosen from the filesystem type.
    package enum FragmentMethod: Sendable {
        case ext4MoveExt, xfsExtsizeInterleave, interleavedWrites
    }

    /// `prepare` with the fragmenting method forced (tests: a method that cannot work on
    /// a filesystem must be reported as a failure, not as a fragmented file).
    package static func prepare(path: String, size: UInt64, layout: Layout, force: Bool, method: FragmentMethod?,
                        log: (String) -> Void = { _ in }) throws(IOBenchError) -> PrepareReport {
        let dir = Target.parentDirectory(of: path)
        var dst = stat()
        guard stat(dir, &dst) == 0, (dst.st_mode & S_IFMT) == S_IFDIR else {
            throw .badInput("directory \(dir) does not exist; create it first, or choose a path in an existing directory")
        }
        guard size > 0 else {
            throw .badInput("--size 0 is empty; pass the file size to prepare, e.g. --size 1g")
        }

        // What is already at the path: only a regular file (or a link) may be replaced, and only on request.
        var existingBytes: UInt64 = 0
        var lst = stat()
        let exists = lstat(path, &lst) == 0
        if exists {
            let type = lst.st_mode & S_IFMT
            guard type == S_IFREG || type == S_IFLNK else {
                let what = type == S_IFDIR ? "a directory" : type == S_IFBLK ? "a block device" : "not a regular file"
                throw .badInput("\(path) is \(what); iobench prepare only creates regular files, so choose a file path")
            }
            guard force else {
                throw .badInput("\(path) exists; pass --force-overwrite to replace it or choose a new path")
            }
            if type == S_IFREG { existingBytes = UInt64(lst.st_blocks) * 512 }
        }

        // The filesystem, its block size, and what the layout needs of them.
        let fsType = StorageInfo.filesystem(of: dir)?.type ?? "unknown"
        var vfs = statvfs()
        guard statvfs(dir, &vfs) == 0 else {
            throw .badInput("cannot query the filesystem of \(dir): \(Errno.current); choose a path on a local filesystem")
        }
        let blockSize = max(UInt64(vfs.f_bsize), 512)
        var plan = try Plan(layout: layout, size: size, blockSize: blockSize, fsType: fsType, dir: dir)
        plan.method = method ?? (fsType == "ext4" ? .ext4MoveExt : fsType == "xfs" ? .xfsExtsizeInterleave : .interleavedWrites)

        if vfs.f_blocks > 0 {
            let free = UInt64(vfs.f_bavail) * UInt64(vfs.f_frsize) + existingBytes
            let needed = size + plan.scratchBytes + freeSpaceMargin
            if needed > free {
                let scratch = plan.scratchBytes > 0 ? " + \(Units.formatSize(plan.scratchBytes)) scratch" : ""
                throw .badInput("not enough free space for \(path): \(layout) of \(Units.formatSize(size)) needs \(Units.formatSize(size))\(scratch) + 64m margin, \(free >> 20) MiB free in \(dir); lower --size or choose a path on another filesystem")
            }
        }

        if exists, unlink(path) != 0 {
            throw .badInput("cannot replace \(path): \(Errno.current); check the permissions of \(dir)")
        }
        Build.removeStaleTemporaries(of: path)
        return try withoutActuallyEscaping(log) { (log) throws(IOBenchError) -> PrepareReport in
            // Built under a hidden name and renamed into place only when its layout is
            // checked: the path never holds a partial file, even after a SIGKILL.
            let build = try Build(path: path, dir: dir, plan: plan, log: log)
            do throws(IOBenchError) {
                let report = try build.run()
                try build.publish()
                return report
            } catch {
                build.abandon()
                throw error
            }
        }
    }
}

/// The sizes a layout works out to on one filesystem.
struct Plan {
    var layout: Layout
    var size: UInt64
    var blockSize: UInt64
    var fsType: String
    /// [0, writtenBytes) holds stamped data.
    var writtenBytes: UInt64
    /// [0, fragmentedBytes) is laid out in `extentBytes` chunks.
    var fragmentedBytes: UInt64
    var extentBytes: UInt64
    /// Space for the donor or spacer file while fragmenting.
    var scratchBytes: UInt64
    var method: LayoutBuilder.FragmentMethod = .interleavedWrites

    var chunks: Int { extentBytes == 0 ? 0 : Int(fragmentedBytes / extentBytes) }
    var unwrittenBytes: UInt64 { size - writtenBytes }

    init(layout: Layout, size: UInt64, blockSize: UInt64, fsType: String, dir: String) throws(IOBenchError) {
        self.layout = layout; self.size = size; self.blockSize = blockSize; self.fsType = fsType
        let bs = Units.formatSize(blockSize)
        guard size % blockSize == 0 else {
            throw .badInput("--size \(Units.formatSize(size)) is not a multiple of the filesystem block size (\(bs)) at \(dir); use a multiple of \(bs), e.g. --size 64m")
        }
        extentBytes = layout.extentBytes ?? 0
        if extentBytes > 0 {
            guard extentBytes % blockSize == 0, extentBytes >= 2 * blockSize else {
                throw .badInput("--layout \(layout): the extent \(Units.formatSize(extentBytes)) must be a multiple of the filesystem block size (\(bs)) at \(dir) and at least two blocks; use e.g. \(layout.description.split(separator: ":")[0]):\(Units.formatSize(max(Layout.defaultExtentBytes, 2 * blockSize)))")
            }
        }
        switch layout {
        case .contiguous:
            writtenBytes = size; fragmentedBytes = 0
        case .unwritten:
            writtenBytes = 0; fragmentedBytes = 0
        case .fragmented(let e):
            guard size % e == 0, size >= 2 * e else {
                throw .badInput("--size \(Units.formatSize(size)) does not hold whole extents of --layout \(layout): it must be a multiple of \(Units.formatSize(e)) and at least two of them; use e.g. --size \(Units.formatSize(max(2 * e, (size / e + 1) * e)))")
            }
            writtenBytes = size; fragmentedBytes = size
        case .mixed(let e):
            let part = size / 4 * 3 / e * e
            guard part >= 2 * e else {
                throw .badInput("--size \(Units.formatSize(size)) is too small for --layout \(layout): its first 3/4 must hold at least two \(Units.formatSize(e)) extents; use at least --size \(Units.formatSize(3 * e))")
            }
            writtenBytes = part; fragmentedBytes = part
        }
        scratchBytes = fragmentedBytes
    }
}

/// One prepare in progress: the file being built, its scratch files, and the cleanup.
final class Build {
    let path: String
    let dir: String
    let plan: Plan
    let log: (String) -> Void
    /// The file, opened O_RDWR | O_DIRECT.
    let fd: Int32
    let buffer: AlignedBuffers
    /// Scratch files (donor, spacer) to remove whatever happens.
    var scratchPaths: [String] = []

    /// Where the file is built: a hidden name next to `path`, renamed to it by `publish`.
    let buildPath: String

    static func temporaryPrefix(of path: String) -> String {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return Target.parentDirectory(of: path) + "/." + name + ".iobench-prepare-"
    }

    /// Removes hidden build files of `path` left by a prepare that was killed (its pid
    /// no longer runs).
    static func removeStaleTemporaries(of path: String) {
        let prefix = temporaryPrefix(of: path)
        let dir = Target.parentDirectory(of: path)
        let namePrefix = String(prefix.dropFirst(dir.count + 1))
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where entry.hasPrefix(namePrefix) {
            let rest = entry.dropFirst(namePrefix.count)
            guard let pid = rest.split(separator: "-").first.flatMap({ Int32($0) }) else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink(dir + "/" + entry) }
        }
    }

    init(path: String, dir: String, plan: Plan, log: @escaping (String) -> Void) throws(IOBenchError) {
        self.path = path; self.dir = dir; self.plan = plan; self.log = log
        buildPath = Build.temporaryPrefix(of: path) + "\(getpid())-\(String(UInt32.random(in: 0 ... .max), radix: 16))"
        fd = try Build.createFile(buildPath)
        do throws(IOBenchError) {
            buffer = try AlignedBuffers(count: 1, size: LayoutBuilder.bufferBytes)
            // Path classes are checked from the extent map: a filesystem without FIEMAP is
            // found out now, before anything is written.
            var probe = fiemap_extent()
            let rc = iob_fiemap(fd, 0, UInt64.max, IOB_FIEMAP_FLAG_SYNC, &probe, 1)
            if rc == -EOPNOTSUPP || rc == -ENOTTY {
                let fs = StorageInfo.filesystem(of: dir)
                throw .badInput("the \(fs?.type ?? "unknown") filesystem at \(fs?.mountPoint ?? dir) does not report extents (FIEMAP: \(Errno(-rc))), so the layout could not be checked; prepare files on ext4, xfs or btrfs")
            }
        } catch {
            close(fd)
            unlink(buildPath)
            throw error
        }
    }

    /// Creates `path` (it must not exist) and opens it O_RDWR | O_DIRECT. Created first
    /// without O_DIRECT: a filesystem that refuses it would otherwise leave the file behind.
    static func createFile(_ path: String) throws(IOBenchError) -> Int32 {
        let c = iob_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard c >= 0 else {
            throw .badInput("cannot create \(path): \(Errno.current); choose a writable directory")
        }
        close(c)
        let fd = iob_open(path, O_RDWR | O_CLOEXEC | IOB_O_DIRECT, 0)
        guard fd >= 0 else {
            let err = errno
            unlink(path)
            if err == EINVAL {
                let fs = StorageInfo.filesystem(of: Target.parentDirectory(of: path))
                throw .badInput("the \(fs?.type ?? "unknown") filesystem at \(fs?.mountPoint ?? "?") refuses O_DIRECT (EINVAL); put the file on a filesystem that supports direct I/O, such as ext4 or xfs")
            }
            throw .badInput("cannot open \(path) for writing: \(Errno(err)); check its permissions")
        }
        return fd
    }

    /// A new hidden scratch file next to the target, removed when the build ends.
    func createScratch(_ role: String) throws(IOBenchError) -> Int32 {
        let name = "\(dir)/.iobench-\(role)-\(getpid())-\(String(UInt32.random(in: 0 ... .max), radix: 16))"
        let fd = try Build.createFile(name)
        scratchPaths.append(name)
        return fd
    }

    func removeScratch() {
        for p in scratchPaths { unlink(p) }
        scratchPaths = []
    }

    func run() throws(IOBenchError) -> PrepareReport {
        log("iobench: preparing \(path): \(Units.formatSize(plan.size)), \(plan.layout) on \(plan.fsType) (block \(Units.formatSize(plan.blockSize)))")
        var method: String
        switch plan.layout {
        case .contiguous:
            try writeStamped(fd: fd, path: path, from: 0, to: plan.size)
            method = "sequential-writes"
        case .unwritten:
            try allocateUnwritten(from: 0, to: plan.size)
            method = "fallocate"
        case .fragmented, .mixed:
            method = try fragment()
            if plan.unwrittenBytes > 0 {
                try allocateUnwritten(from: plan.writtenBytes, to: plan.size)
                method += "+fallocate"
            }
        }
        guard fsync(fd) == 0 else { throw .runFailed("fsync of \(path) failed: \(Errno.current)") }
        let marked = setMarker()

        let map = try ExtentMap.read(fd: fd, path: path)
        let summary = ExtentSummary(map)
        try checkMap(map, summary: summary, method: method)
        let verified = try verifyData()
        return PrepareReport(layout: plan.layout.description, path: path, size: plan.size, filesystem: plan.fsType,
                             fsBlockSize: plan.blockSize, method: method, extentBytes: plan.layout.extentBytes,
                             writtenBytes: plan.writtenBytes, unwrittenBytes: plan.unwrittenBytes,
                             expectedChunks: plan.extentBytes > 0 ? plan.chunks : nil, extents: summary,
                             verifiedBlocks: verified, marked: marked)
    }

    /// Lays out [0, plan.fragmentedBytes) in separate extents of plan.extentBytes.
    func fragment() throws(IOBenchError) -> String {
        switch plan.method {
        case .ext4MoveExt: return try fragmentExt4()
        case .xfsExtsizeInterleave: return try fragmentXFS()
        case .interleavedWrites: return try fragmentInterleaved(hint: false)
        }
    }

    /// The extent map must show what the layout promises; fragmenting that did not
    /// really fragment is a failure, reported with the numbers.
    func checkMap(_ map: ExtentMap, summary: ExtentSummary, method: String) throws(IOBenchError) {
        let covered = { (from: UInt64, to: UInt64, want: (Extent) -> Bool) -> Bool in
            var at = from
            for e in map.extents where e.end > at && e.logical < to {
                guard e.logical <= at, want(e) else { return false }
                at = e.end
                if at >= to { break }
            }
            return at >= to
        }
        if plan.writtenBytes > 0, !covered(0, plan.writtenBytes, { $0.isPlainWritten }) {
            throw .runFailed("\(path): the extent map does not show [0, \(plan.writtenBytes)) as written extents after \(method) (\(summary.records) records, \(summary.written) written, \(summary.unwritten) unwritten); the file was removed")
        }
        if plan.unwrittenBytes > 0, !covered(plan.writtenBytes, plan.size, { $0.isUnwritten }) {
            throw .runFailed("\(path): the extent map does not show [\(plan.writtenBytes), \(plan.size)) as unwritten extents after fallocate on \(plan.fsType) (\(summary.records) records, \(summary.unwritten) unwritten); the file was removed")
        }
        if plan.extentBytes > 0 {
            let wanted = plan.chunks / 2
            if summary.discontinuities < wanted {
                throw .runFailed("could not fragment \(path) on \(plan.fsType) with \(method): achieved \(summary.records) extents with \(summary.discontinuities) physical discontinuities for \(plan.chunks) chunks of \(Units.formatSize(plan.extentBytes)) (at least \(wanted) needed); the file was removed — try a larger extent, e.g. --layout \(plan.layout.description.split(separator: ":")[0]):1m, or another filesystem")
            }
        }
    }

    /// Reads back the first and last block of each chunk of written data (at most 512
    /// chunks, spread evenly) with O_DIRECT and checks the stamp.
    func verifyData() throws(IOBenchError) -> Int {
        guard plan.writtenBytes > 0 else { return 0 }
        let bs = plan.blockSize
        let unit = plan.extentBytes > 0 ? plan.extentBytes : UInt64(LayoutBuilder.bufferBytes)
        let units = (plan.writtenBytes + unit - 1) / unit
        let step = max(1, (units + 511) / 512)
        var offsets: [UInt64] = []
        var u: UInt64 = 0
        while u < units {
            let start = u * unit
            let end = min(start + unit, plan.writtenBytes)
            offsets.append(start)
            if end - bs != start { offsets.append(end - bs) }
            u += step
        }
        if offsets.last != plan.writtenBytes - bs { offsets.append(plan.writtenBytes - bs) }
        for off in offsets {
            let n = pread(fd, buffer.base, Int(bs), off_t(off))
            guard n == Int(bs) else {
                throw .runFailed("reading back \(path) at offset \(off) failed: \(n < 0 ? "\(Errno.current)" : "short read of \(n) bytes"); the file was removed")
            }
            guard Stamp.matches(buffer.base, count: Int(bs), fileOffset: off) else {
                throw .runFailed("\(path) does not hold the stamped data at offset \(off) after building \(plan.layout); the file was removed")
            }
        }
        return offsets.count
    }

    /// Sets `user.iobench.layout`; false where the filesystem has no user xattrs.
    func setMarker() -> Bool {
        let text = plan.layout.description
        let rc = text.withCString { iob_fsetxattr(fd, LayoutBuilder.markerName, $0, strlen($0)) }
        if rc != 0 {
            log("iobench: note: cannot mark \(path) with \(LayoutBuilder.markerName): \(Errno(-rc))")
        }
        return rc == 0
    }

    /// fallocate(2) mode 0 over [from, to): unwritten extents, i_size extended to `to`.
    func allocateUnwritten(from: UInt64, to: UInt64) throws(IOBenchError) {
        let rc = iob_fallocate(fd, 0, from, to - from)
        guard rc == 0 else {
            if -rc == EOPNOTSUPP {
                throw .badInput("the \(plan.fsType) filesystem at \(dir) cannot allocate unwritten extents (fallocate: \(Errno(-rc))); unwritten and mixed layouts need ext4, xfs or btrfs")
            }
            if -rc == ENOSPC {
                throw .runFailed("fallocate of \(path) [\(from), \(to)) failed: \(Errno(-rc)); free some space or lower --size")
            }
            throw .runFailed("fallocate of \(path) [\(from), \(to)) failed: \(Errno(-rc))")
        }
    }

    /// SIGINT/SIGTERM (when the command installed SignalStop) ends the build; the caller's
    /// cleanup then removes the file and its scratch files.
    func checkInterrupt() throws(IOBenchError) {
        if let signal = SignalStop.received {
            throw .interrupted(signal, "interrupted while preparing \(path); the partial file and its scratch files were removed")
        }
    }

    /// Writes the stamp for [from, to) of the file open as `fd`, through the aligned buffer.
    func writeStamped(fd: Int32, path: String, from: UInt64, to: UInt64) throws(IOBenchError) {
        var offset = from
        while offset < to {
            try checkInterrupt()
            let n = Int(min(UInt64(buffer.size), to - offset))
            Stamp.fill(buffer.base, count: n, fileOffset: offset)
            try writeAll(fd: fd, path: path, count: n, at: offset)
            offset += UInt64(n)
        }
    }

    /// pwrite(2) of `count` bytes of the buffer, until all are written.
    func writeAll(fd: Int32, path: String, count: Int, at offset: UInt64) throws(IOBenchError) {
        var done = 0
        while done < count {
            let w = pwrite(fd, buffer.base + done, count - done, off_t(offset + UInt64(done)))
            if w < 0 {
                let err = errno
                if err == EINTR { continue }
                let hint = err == ENOSPC ? "; free some space or lower --size" : ""
                throw .runFailed("writing \(path) failed at offset \(offset + UInt64(done)): \(Errno(err))\(hint)")
            }
            guard w > 0 else { throw .runFailed("writing \(path) wrote nothing at offset \(offset + UInt64(done))") }
            done += w
        }
    }

    /// Renames the finished file into place, never over a file that appeared at the path
    /// meanwhile (another prepare, another default run): that is an error, and ours is
    /// removed.
    func publish() throws(IOBenchError) {
        removeScratch()
        if let signal = SignalStop.received {
            throw .interrupted(signal, "interrupted while preparing \(path); the partial file was removed")
        }
        var rc = iob_rename_noreplace(buildPath, path)
        if rc == -EINVAL || rc == -ENOSYS {
            // A filesystem without RENAME_NOREPLACE: link fails just the same if the path exists.
            rc = link(buildPath, path) == 0 ? 0 : -errno
            if rc == 0 { unlink(buildPath) }
        }
        guard rc == 0 else {
            if rc == -EEXIST {
                throw .badInput("\(path) appeared while it was being prepared (another iobench made it); it was left alone, use it or pass --force-overwrite to replace it")
            }
            throw .runFailed("cannot rename the prepared file to \(path): \(Errno(-rc))")
        }
        Target.syncDirectory(dir)
        close(fd)
    }

    func abandon() {
        removeScratch()
        close(fd)
        unlink(buildPath)
    }
}

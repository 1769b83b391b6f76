import CIOBenchShim
import Foundation
import Glibc
import IOBenchPlatform

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

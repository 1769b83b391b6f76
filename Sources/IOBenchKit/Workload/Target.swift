import CIOBenchShim
import Glibc

/// What the user asked to read: a path, and the size of the region to read.
public struct TargetRequest: Sendable {
    public var path: String
    /// Bytes to read from the start of the target; nil means the whole target
    /// (or `defaultNewFileSize` when the file must be created).
    public var size: UInt64?
    /// Whether iobench may create the file when it does not exist.
    public var createIfMissing: Bool = true
    /// Whether a regular file iobench did not write may be replaced (--force-overwrite)
    /// when it is too small for `size`. Never applies to block devices.
    public var forceOverwrite = false
    public static let defaultNewFileSize: UInt64 = 1 << 30

    public init(path: String, size: UInt64? = nil, createIfMissing: Bool = true) {
        self.path = path
        self.size = size
        self.createIfMissing = createIfMissing
    }
}

/// An opened O_DIRECT, read-only target: a regular file or a block device.
public final class Target: @unchecked Sendable {
    public enum Kind: String, Codable, Sendable { case file, blockDevice = "block_device" }

    public let path: String
    public let fd: Int32
    public let kind: Kind
    /// Bytes available to read (file size, or device size).
    public let capacity: UInt64
    /// The region the workload reads: [0, regionSize).
    public let regionSize: UInt64
    /// The smallest I/O size and alignment O_DIRECT accepts here.
    public let logicalBlockSize: Int
    public let queue: BlockQueueInfo?
    public let filesystemType: String?
    public let mountPoint: String?
    /// True when iobench wrote this file (now or earlier): its contents are verifiable.
    public let isStamped: Bool
    /// True when this run created or extended the file.
    public let createdNow: Bool

    init(path: String, fd: Int32, kind: Kind, capacity: UInt64, regionSize: UInt64, logicalBlockSize: Int,
         queue: BlockQueueInfo?, filesystemType: String?, mountPoint: String?, isStamped: Bool, createdNow: Bool) {
        self.path = path; self.fd = fd; self.kind = kind; self.capacity = capacity; self.regionSize = regionSize
        self.logicalBlockSize = logicalBlockSize; self.queue = queue; self.filesystemType = filesystemType
        self.mountPoint = mountPoint; self.isStamped = isStamped; self.createdNow = createdNow
    }

    deinit { close(fd) }

    /// Opens (creating and filling it if needed) the target for O_DIRECT reads.
    public static func open(_ request: TargetRequest, log: (String) -> Void = { _ in }) throws(IOBenchError) -> Target {
        let path = request.path
        var st = stat()
        var createdNow = false
        if stat(path, &st) != 0 {
            let err = errno
            guard err == ENOENT else {
                throw .badInput("cannot stat target \(path): \(Errno(err)); pass a readable file or block device with --target")
            }
            let dir = parentDirectory(of: path)
            var dst = stat()
            guard stat(dir, &dst) == 0, (dst.st_mode & S_IFMT) == S_IFDIR else {
                throw .badInput("directory \(dir) does not exist; create it, or pass an existing directory with --dir (or set IOBENCH_DIR)")
            }
            guard request.createIfMissing else {
                throw .badInput("target \(path) does not exist; create it first (iobench prepare) or omit --target to use the scratch file")
            }
            let size = request.size ?? TargetRequest.defaultNewFileSize
            try checkFreeSpace(dir: dir, needed: size, path: path)
            try StampedFileWriter.write(path: path, from: 0, to: size, create: true, log: log)
            createdNow = true
            guard stat(path, &st) == 0 else { throw .runFailed("cannot stat \(path) after creating it: \(Errno.current)") }
        }

        let type = st.st_mode & S_IFMT
        if type == S_IFBLK {
            return try openBlockDevice(path: path, st: st, request: request)
        }
        guard type == S_IFREG else {
            throw .badInput("target \(path) is neither a regular file nor a block device; pass a file or a block device")
        }

        var fileSize = UInt64(st.st_size)
        // iobench's own: its stamp at both ends, or the marker `iobench prepare` sets
        // (files with unwritten extents end in zeros, not in the stamp).
        var stamped = createdNow || StampedFileWriter.looksStamped(path: path, size: fileSize)
            || LayoutBuilder.marker(path: path) != nil
        if let wanted = request.size, wanted > fileSize, !stamped, request.forceOverwrite {
            // The user asked for it: replace the foreign file with iobench's own.
            let dir = parentDirectory(of: path)
            try checkFreeSpace(dir: dir, needed: wanted, path: path)
            guard unlink(path) == 0 else {
                throw .badInput("cannot replace \(path): \(Errno.current); check its permissions")
            }
            try StampedFileWriter.write(path: path, from: 0, to: wanted, create: true, log: log)
            guard stat(path, &st) == 0 else { throw .runFailed("cannot stat \(path) after writing it: \(Errno.current)") }
            fileSize = UInt64(st.st_size)
            createdNow = true
            stamped = true
        }
        if let wanted = request.size, wanted > fileSize {
            guard stamped else {
                throw .badInput("target \(path) holds \(fileSize) bytes, less than --size \(Units.formatSize(wanted)), and iobench did not write it; lower --size, pick a new path so iobench creates the file, or pass --force-overwrite to replace it")
            }
            // iobench's own file: extending it writes only what iobench would have written.
            let dir = parentDirectory(of: path)
            try checkFreeSpace(dir: dir, needed: wanted - fileSize, path: path)
            try StampedFileWriter.write(path: path, from: fileSize & ~4095, to: wanted, create: false, log: log)
            fileSize = wanted
            createdNow = true
            stamped = true
        }

        let fd = iob_open(path, O_RDONLY | IOB_O_DIRECT | O_CLOEXEC, 0)
        let fs = StorageInfo.filesystem(of: path)
        if fd < 0 {
            let err = errno
            if err == EINVAL {
                throw .badInput("the \(fs?.type ?? "unknown") filesystem at \(fs?.mountPoint ?? "?") refuses O_DIRECT for \(path) (EINVAL); put the target on a filesystem that supports direct I/O, such as ext4, xfs or tmpfs")
            }
            throw .badInput("cannot open \(path) for reading: \(Errno(err)); check the path and its permissions")
        }
        let queue = StorageInfo.queueInfo(major: iob_major(st.st_dev), minor: iob_minor(st.st_dev))
        let lbs = queue?.logicalBlockSize ?? 512
        let region = request.size ?? fileSize
        guard region > 0 else {
            close(fd)
            throw .badInput("target \(path) is empty; pass --size, or remove it so iobench creates and fills it")
        }
        return Target(path: path, fd: fd, kind: .file, capacity: fileSize, regionSize: region, logicalBlockSize: lbs,
                      queue: queue, filesystemType: fs?.type, mountPoint: fs?.mountPoint, isStamped: stamped, createdNow: createdNow)
    }

    private static func openBlockDevice(path: String, st: stat, request: TargetRequest) throws(IOBenchError) -> Target {
        // Block devices are only ever opened read-only.
        let fd = iob_open(path, O_RDONLY | IOB_O_DIRECT | O_CLOEXEC, 0)
        guard fd >= 0 else {
            let err = errno
            throw .badInput("cannot open block device \(path) read-only with O_DIRECT: \(Errno(err)); use a device you may open (a loop device works) or a file")
        }
        var lbs: Int32 = 512
        var bytes: UInt64 = 0
        _ = iob_blk_logical_block_size(fd, &lbs)
        _ = iob_blk_size_bytes(fd, &bytes)
        if let wanted = request.size, wanted > bytes {
            close(fd)
            throw .badInput("block device \(path) holds \(bytes) bytes, less than --size \(Units.formatSize(wanted)); lower --size")
        }
        guard bytes > 0 else {
            close(fd)
            throw .badInput("block device \(path) is empty (size 0); attach a backing file or pick another device")
        }
        let queue = StorageInfo.queueInfo(major: iob_major(st.st_rdev), minor: iob_minor(st.st_rdev))
        let stamped = StampedFileWriter.looksStamped(path: path, size: bytes)
        return Target(path: path, fd: fd, kind: .blockDevice, capacity: bytes, regionSize: request.size ?? bytes,
                      logicalBlockSize: Int(lbs), queue: queue, filesystemType: nil, mountPoint: nil,
                      isStamped: stamped, createdNow: false)
    }

    /// The logical block size O_DIRECT needs at `path`, looked up without creating
    /// anything: from the path itself when it exists, else from its directory.
    public static func probeLogicalBlockSize(path: String) -> Int? {
        var st = stat()
        if stat(path, &st) == 0 {
            if (st.st_mode & S_IFMT) == S_IFBLK {
                return StorageInfo.queueInfo(major: iob_major(st.st_rdev), minor: iob_minor(st.st_rdev))?.logicalBlockSize
            }
        } else if stat(parentDirectory(of: path), &st) != 0 {
            return nil
        }
        return StorageInfo.queueInfo(major: iob_major(st.st_dev), minor: iob_minor(st.st_dev))?.logicalBlockSize ?? 512
    }

    public static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let d = String(path[..<slash])
        return d.isEmpty ? "/" : d
    }

    static func checkFreeSpace(dir: String, needed: UInt64, path: String) throws(IOBenchError) {
        var vfs = statvfs()
        // ramfs and some virtual filesystems report no size at all: nothing to check.
        guard statvfs(dir, &vfs) == 0, vfs.f_blocks > 0 else { return }
        let free = UInt64(vfs.f_bavail) * UInt64(vfs.f_frsize)
        // Keep a margin for metadata so a full filesystem does not break the user's system.
        if needed + (64 << 20) > free {
            throw .badInput("not enough free space for \(path): need \(Units.formatSize(needed)), \(free >> 20) MiB free in \(dir); lower --size or use another --dir")
        }
    }
}

/// Writes iobench's stamped data and recognises files that hold it.
public enum StampedFileWriter {
    static let chunk = 1 << 20

    /// Writes stamped data to [from, to) of `path`, with O_DIRECT where the filesystem
    /// allows it (no page-cache pollution), then fsyncs so every extent is written and
    /// allocated: a fresh file has no unwritten or delayed-allocation extents.
    public static func write(path: String, from: UInt64, to: UInt64, create: Bool,
                             log: (String) -> Void = { _ in }) throws(IOBenchError) {
        if create {
            let fd = iob_open(path, O_WRONLY | O_CLOEXEC | O_CREAT | O_EXCL, 0o644)
            guard fd >= 0 else {
                throw .badInput("cannot create \(path): \(Errno.current); pass a writable --dir or another --target")
            }
            close(fd)
        }
        // The reads will need O_DIRECT: a filesystem that refuses it is found out now,
        // before anything is written, and the empty file made here is removed.
        let fd = iob_open(path, O_WRONLY | O_CLOEXEC | IOB_O_DIRECT, 0)
        guard fd >= 0 else {
            let err = errno
            if create { unlink(path) }
            if err == EINVAL {
                let fs = StorageInfo.filesystem(of: Target.parentDirectory(of: path))
                throw .badInput("the \(fs?.type ?? "unknown") filesystem at \(fs?.mountPoint ?? "?") refuses O_DIRECT (EINVAL); put the target on a filesystem that supports direct I/O, such as ext4, xfs or tmpfs")
            }
            throw .badInput("cannot open \(path) for writing: \(Errno(err)); pass a writable --dir or another --target")
        }
        defer { close(fd) }
        log("iobench: \(create ? "creating" : "extending") \(path) (\(Units.formatSize(to))) with stamped data")
        let buffers: AlignedBuffers
        do { buffers = try AlignedBuffers(count: 1, size: chunk) } catch { throw error }
        var offset = from
        while offset < to {
            if let signal = SignalStop.received {
                // Interrupted: a half-written file of ours must not pass for a whole one.
                if create { unlink(path) }
                throw .interrupted(signal, "interrupted while writing \(path); \(create ? "the partial file was removed" : "it is incomplete")")
            }
            let n = Int(min(UInt64(chunk), to - offset))
            Stamp.fill(buffers.base, count: (n + 7) & ~7, fileOffset: offset)
            var w: Int
            if n % 4096 == 0 {
                w = pwrite(fd, buffers.base, n, off_t(offset))
            } else {
                // O_DIRECT needs whole blocks; an odd tail goes through the page cache.
                let tail = iob_open(path, O_WRONLY | O_CLOEXEC, 0)
                w = tail >= 0 ? pwrite(tail, buffers.base, n, off_t(offset)) : -1
                if tail >= 0 { fsync(tail); close(tail) }
            }
            if w < 0 {
                let err = errno
                if err == EINTR { continue }
                if create { unlink(path) }
                throw .runFailed("writing \(path) failed at offset \(offset): \(Errno(err)); free some space or lower --size")
            }
            offset += UInt64(w)
        }
        if fsync(fd) != 0 {
            throw .runFailed("fsync of \(path) failed: \(Errno.current)")
        }
    }

    /// True when the first and last 4 KiB of the target hold iobench's stamp.
    public static func looksStamped(path: String, size: UInt64) -> Bool {
        guard size >= 4096 else { return false }
        let fd = iob_open(path, O_RDONLY | O_CLOEXEC, 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 4096)
        for off in [UInt64(0), (size - 4096) & ~4095] {
            let ok = buf.withUnsafeMutableBytes { raw -> Bool in
                pread(fd, raw.baseAddress, 4096, off_t(off)) == 4096 && Stamp.matches(raw.baseAddress!, count: 4096, fileOffset: off)
            }
            if !ok { return false }
        }
        return true
    }
}

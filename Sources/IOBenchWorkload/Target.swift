import CIOBenchShim
import Glibc
import IOBenchPlatform

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
public final class Target: Sendable {
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
    /// The descriptor holding this run's shared `flock` on the file while it is measured
    /// (-1 for block devices): no other iobench extends or recreates it meanwhile.
    let lockFd: Int32

    package init(path: String, fd: Int32, kind: Kind, capacity: UInt64, regionSize: UInt64, logicalBlockSize: Int,
         queue: BlockQueueInfo?, filesystemType: String?, mountPoint: String?, isStamped: Bool, createdNow: Bool,
         lockFd: Int32 = -1) {
        self.path = path; self.fd = fd; self.kind = kind; self.capacity = capacity; self.regionSize = regionSize
        self.logicalBlockSize = logicalBlockSize; self.queue = queue; self.filesystemType = filesystemType
        self.mountPoint = mountPoint; self.isStamped = isStamped; self.createdNow = createdNow; self.lockFd = lockFd
    }

    deinit {
        close(fd)
        if lockFd >= 0 { close(lockFd) }
    }

    /// Opens (creating and filling it if needed) the target for O_DIRECT reads.
    ///
    /// Files: a missing file is written under a hidden temporary name in the same
    /// directory (`.NAME.iobench-tmp`) while holding an exclusive `flock` on it, fsynced,
    /// and renamed into place only when complete, so the final path never holds a partial
    /// file. Another iobench that finds the temporary locked waits for it, then measures
    /// the complete file. A file is measured under a shared `flock` (held by the returned
    /// Target), and extended only under an exclusive one, only when it is iobench's own
    /// (`StampedFileWriter.ownership`), and only beyond its old end.
    public static func open(_ request: TargetRequest, log: (String) -> Void = { _ in }) throws(IOBenchError) -> Target {
        let path = request.path
        var createdNow = false
        var lockFd: Int32 = -1
        var exclusive = false
        var rounds = 0
        defer { if lockFd >= 0 { close(lockFd) } }
        while true {
            rounds += 1
            guard rounds < 10_000 else {
                throw .runFailed("\(path) kept being replaced by other processes while iobench opened it; try again")
            }
            var st = stat()
            if lockFd < 0 {
                if stat(path, &st) != 0 {
                    let err = errno
                    guard err == ENOENT else {
                        throw .badInput("cannot stat target \(path): \(Errno(err)); pass a readable file or block device with --target")
                    }
                    let dir = parentDirectory(of: path)
                    var dst = stat()
                    guard stat(dir, &dst) == 0 else {
                        throw .badInput("directory \(dir) does not exist; create it, or pass an existing directory with --dir (or set IOBENCH_DIR)")
                    }
                    guard (dst.st_mode & S_IFMT) == S_IFDIR else {
                        throw .badInput("\(dir) is not a directory; pass a directory with --dir, or a --target path inside one")
                    }
                    guard request.createIfMissing else {
                        throw .badInput("target \(path) does not exist; create it first (iobench prepare) or omit --target to use the scratch file")
                    }
                    let size = roundUp4k(request.size ?? TargetRequest.defaultNewFileSize)
                    guard let fd = try createComplete(path: path, size: size, replacing: nil, log: log) else { continue }
                    lockFd = fd; exclusive = true; createdNow = true
                    continue
                }
                let type = st.st_mode & S_IFMT
                if type == S_IFBLK {
                    return try openBlockDevice(path: path, st: st, request: request)
                }
                guard type == S_IFREG else {
                    throw .badInput("target \(path) is neither a regular file nor a block device; pass a file or a block device")
                }
                let fd = iob_open(path, O_RDONLY | O_CLOEXEC, 0)
                guard fd >= 0 else {
                    let err = errno
                    if err == ENOENT { continue }  // replaced or removed meanwhile: look again
                    throw .badInput("cannot open \(path) for reading: \(Errno(err)); check the path and its permissions")
                }
                lockFd = fd
                try FileLock.acquire(fd: fd, exclusive: false, path: path,
                                     waitLine: "iobench: waiting for another iobench to finish writing \(path)", log: log)
                exclusive = false
                guard FileLock.pathRefers(path, to: fd) else { close(lockFd); lockFd = -1; continue }
                removeStaleTemporary(of: path)
            }
            guard fstat(lockFd, &st) == 0 else { throw .runFailed("cannot stat \(path): \(Errno.current)") }
            let fileSize = UInt64(st.st_size)
            let marker = LayoutBuilder.marker(fd: lockFd)
            let owner = StampedFileWriter.ownership(fd: lockFd, path: path, size: fileSize, prepared: marker != nil)
            // A file `iobench prepare` made: its marker, and its data holds the stamp where written.
            let prepared = marker != nil && owner.isStamped

            if let wanted = request.size, wanted > fileSize {
                if prepared {
                    throw .badInput("target \(path) holds \(fileSize) bytes, less than --size \(Units.formatSize(wanted)), and was made by iobench prepare (layout \(marker!)), whose layouts are never extended; lower --size, or make a bigger one with iobench prepare --size \(Units.formatSize(wanted)) --layout \(marker!) --force-overwrite \(path)")
                }
                if owner == .own {
                    // iobench's own file: extended under an exclusive lock, only beyond its old end.
                    if !exclusive {
                        flock(lockFd, LOCK_UN)
                        try FileLock.acquire(fd: lockFd, exclusive: true, path: path,
                                             waitLine: "iobench: waiting for other iobench runs on \(path) to finish before extending it", log: log)
                        exclusive = true
                        guard FileLock.pathRefers(path, to: lockFd) else { close(lockFd); lockFd = -1; continue }
                        continue  // look again: someone may have extended it meanwhile
                    }
                    try checkFreeSpace(dir: parentDirectory(of: path), needed: roundUp4k(wanted) - fileSize, path: path)
                    try StampedFileWriter.extend(path: path, from: fileSize, to: roundUp4k(wanted), log: log)
                    createdNow = true
                    continue
                }
                guard request.forceOverwrite else {
                    throw .badInput("target \(path) holds \(fileSize) bytes, less than --size \(Units.formatSize(wanted)), and is not iobench's own file (\(owner.reason)), so it is only read; lower --size, pick a new path so iobench creates the file, or pass --force-overwrite to replace it")
                }
                // The user asked for it: a new file of iobench's replaces the foreign one by rename.
                guard let fd = try createComplete(path: path, size: roundUp4k(wanted), replacing: st.st_ino, log: log) else {
                    close(lockFd); lockFd = -1
                    continue
                }
                close(lockFd)
                lockFd = fd; exclusive = true; createdNow = true
                continue
            }
            if exclusive {
                // Done writing: measure under a shared lock, like every other run.
                flock(lockFd, LOCK_UN)
                try FileLock.acquire(fd: lockFd, exclusive: false, path: path,
                                     waitLine: "iobench: waiting for another iobench to finish writing \(path)", log: log)
                exclusive = false
                guard FileLock.pathRefers(path, to: lockFd) else { close(lockFd); lockFd = -1; continue }
                continue  // look again under the shared lock
            }

            let fd = iob_open(path, O_RDONLY | IOB_O_DIRECT | O_CLOEXEC, 0)
            let openErrno = errno  // before anything else can change it
            let fs = StorageInfo.filesystem(of: path)
            if fd < 0 {
                if openErrno == EINVAL {
                    throw .badInput("the \(fs?.type ?? "unknown") filesystem at \(fs?.mountPoint ?? "?") refuses O_DIRECT for \(path) (EINVAL); put the target on a filesystem that supports direct I/O, such as ext4, xfs or tmpfs")
                }
                throw .badInput("cannot open \(path) for reading: \(Errno(openErrno)); check the path and its permissions")
            }
            let queue = StorageInfo.queueInfo(major: iob_major(st.st_dev), minor: iob_minor(st.st_dev))
            let lbs = queue?.logicalBlockSize ?? 512
            let region = request.size ?? fileSize
            guard region > 0 else {
                close(fd)
                throw .badInput("target \(path) is empty; pass --size, or remove it so iobench creates and fills it")
            }
            let held = lockFd
            lockFd = -1  // the Target owns it now
            return Target(path: path, fd: fd, kind: .file, capacity: fileSize, regionSize: region, logicalBlockSize: lbs,
                          queue: queue, filesystemType: fs?.type, mountPoint: fs?.mountPoint, isStamped: owner.isStamped,
                          createdNow: createdNow, lockFd: held)
        }
    }
}

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

    static func roundUp4k(_ n: UInt64) -> UInt64 { (n + 4095) & ~4095 }

    /// The hidden name a file is written under before it is renamed to `path`.
    public static func temporaryPath(for path: String) -> String {
        let dir = parentDirectory(of: path)
        let name = path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
        return (dir.hasSuffix("/") ? dir : dir + "/") + "." + name + ".iobench-tmp"
    }

    /// Writes a complete stamped file of `size` bytes under the temporary name and renames
    /// it to `path`. Returns the descriptor of the new file, holding an exclusive flock,
    /// or nil when another process changed things meanwhile (the caller looks again):
    /// another run created `path` (or, when `replacing` is set, replaced that inode).
    static func createComplete(path: String, size: UInt64, replacing: ino_t?,
                               log: (String) -> Void) throws(IOBenchError) -> Int32? {
        let tmp = temporaryPath(for: path)
        let dir = parentDirectory(of: path)
        try checkFreeSpace(dir: dir, needed: size, path: path)
        let fd = iob_open(tmp, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw .badInput("cannot create \(tmp): \(Errno.current); pass a writable --dir or another --target")
        }
        var keep = false
        defer { if !keep { close(fd) } }
        try FileLock.acquire(fd: fd, exclusive: true, path: tmp,
                             waitLine: "iobench: waiting for another iobench to finish creating \(path)", log: log,
                             giveUp: { !FileLock.pathRefers(tmp, to: fd) })
        // The temporary may have been renamed into place (or removed) while we waited.
        guard FileLock.pathRefers(tmp, to: fd) else { return nil }
        var st = stat()
        let finalExists = stat(path, &st) == 0
        if let replacing {
            guard finalExists, st.st_ino == replacing else { unlink(tmp); return nil }
        } else if finalExists {
            unlink(tmp)  // someone else finished it: ours is an unused (or stale) temporary
            return nil
        }
        // Ours to write: a stale temporary of a killed run is started afresh.
        guard ftruncate(fd, 0) == 0 else {
            let err = errno
            unlink(tmp)
            throw .runFailed("cannot truncate \(tmp): \(Errno(err))")
        }
        do {
            try StampedFileWriter.fill(path: tmp, shownAs: path, from: 0, to: size, creating: true, log: log)
        } catch {
            unlink(tmp)
            throw error
        }
        if let signal = SignalStop.received {
            unlink(tmp)
            throw .interrupted(signal, "interrupted while creating \(path); the partial file was removed")
        }
        guard rename(tmp, path) == 0 else {
            let err = errno
            unlink(tmp)
            throw .runFailed("cannot rename \(tmp) to \(path): \(Errno(err))")
        }
        syncDirectory(dir)
        keep = true
        return fd
    }

    /// Removes `.NAME.iobench-tmp` left by a killed run, unless someone holds its lock.
    static func removeStaleTemporary(of path: String) {
        let tmp = temporaryPath(for: path)
        let fd = iob_open(tmp, O_RDONLY | O_CLOEXEC, 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0, FileLock.pathRefers(tmp, to: fd) else { return }
        unlink(tmp)
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

    /// fsyncs a directory, so a rename into it survives a crash.
    static func syncDirectory(_ dir: String) {
        let dfd = iob_open(dir, O_RDONLY | O_CLOEXEC | O_DIRECTORY, 0)
        if dfd >= 0 { fsync(dfd); close(dfd) }
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
            throw .badInput("not enough free space for \(path): need \(Units.formatSize(needed)) plus a 64 MiB margin, \(free >> 20) MiB free in \(dir); lower --size or use another --dir")
        }
    }
}

/// `flock(2)` helpers: iobench runs on one file coordinate through it.
enum FileLock {
    /// Takes a shared or exclusive flock on `fd`, waiting as long as another process holds
    /// a conflicting one. Says once (`waitLine`) that it waits; a SIGINT/SIGTERM while
    /// waiting ends the wait (exit 130/143). Returns without the lock when `giveUp` says
    /// so (the caller looks again), or when the filesystem has no flock at all.
    static func acquire(fd: Int32, exclusive: Bool, path: String, waitLine: String, log: (String) -> Void,
                        giveUp: () -> Bool = { false }) throws(IOBenchError) {
        var said = false
        while true {
            if flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0 { return }
            let err = errno
            if err == EINTR { continue }
            guard err == EWOULDBLOCK else { return }  // no flock here (ENOLCK...): go on unlocked
            if !said { log(waitLine); said = true }
            if let signal = SignalStop.received {
                throw .interrupted(signal, "interrupted while waiting for another iobench using \(path)")
            }
            if giveUp() { return }
            usleep(20_000)
        }
    }

    /// True when `path` names the file open at `fd` (not renamed, removed or replaced).
    static func pathRefers(_ path: String, to fd: Int32) -> Bool {
        var a = stat(), b = stat()
        return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev
    }
}

/// Writes iobench's stamped data and recognises files that hold it.
public enum StampedFileWriter {
    static let chunk = 1 << 20

    /// Whether a file is iobench's own, from its data.
    public enum Ownership: Equatable, Sendable {
        /// Whole 4 KiB blocks, every sampled block holds the stamp: iobench wrote it, and
        /// may extend it (beyond its end, never rewriting a byte of it).
        case own
        /// A prepared file (with the layout marker): the stamp wherever its extent map
        /// says data is written, zeros in its unwritten extents. Verifiable, never written.
        case stampedWhereWritten
        /// Not iobench's: only ever read. The reason says what gave it away.
        case foreign(String)

        public var isStamped: Bool { if case .foreign = self { return false } else { return true } }
        public var reason: String { if case .foreign(let why) = self { return why } else { return "iobench's own" } }
    }

    /// Blocks checked besides the first and the last.
    static let sampledBlocks = 62

    /// Decides from the data whether the file open at `fd` (`size` bytes) is iobench's.
    ///
    /// The length must be a whole number of 4 KiB blocks (iobench writes nothing else:
    /// bytes appended by anyone else make it foreign), and the first block, the last block
    /// and 62 more, one at a random place in each of 62 equal stripes between them, must
    /// each hold the stamp in full. Why that is enough: a 4 KiB block matches only if all
    /// 512 of its words equal their own offset XOR "IOBENCH1", which no other writer
    /// produces (for random data the chance is 2^-32768 per block); so a file passes only
    /// if the checked blocks are copies of iobench's data at their own offsets. A file in
    /// which a fraction f of the blocks was changed passes with probability (1-f)^62
    /// (0.15% for f = 10%, below 10^-18 for f = 50%), drawn afresh every run, and changes
    /// at the end (appended bytes, an edited tail) are always caught. And since iobench
    /// only ever writes beyond the old end of a file it owns, a changed block a sample
    /// missed is still never overwritten.
    ///
    /// `prepared` (the file carries `user.iobench.layout`): a block of zeros inside an
    /// unwritten extent is what such a file holds there; it is accepted, and the result is
    /// `.stampedWhereWritten`.
    public static func ownership(fd: Int32, path: String, size: UInt64, prepared: Bool) -> Ownership {
        guard size >= 4096, size % 4096 == 0 else {
            return .foreign("its length, \(size) bytes, is not a whole number of 4 KiB blocks")
        }
        let blocks = size / 4096
        var picks: [UInt64]
        if blocks <= UInt64(sampledBlocks + 2) {
            picks = Array(0 ..< blocks)
        } else {
            picks = [0, blocks - 1]
            let inner = blocks - 2
            var rng = SystemRandomNumberGenerator()
            for k in 0 ..< UInt64(sampledBlocks) {
                let lo = 1 + inner * k / UInt64(sampledBlocks), hi = 1 + inner * (k + 1) / UInt64(sampledBlocks)
                picks.append(UInt64.random(in: lo ..< hi, using: &rng))
            }
        }
        var words = [UInt64](repeating: 0, count: 512)
        var map: ExtentMap?
        var sawUnwritten = false
        for block in picks {
            let off = block * 4096
            let verdict: Ownership? = words.withUnsafeMutableBytes { raw in
                guard pread(fd, raw.baseAddress, 4096, off_t(off)) == 4096 else {
                    return .foreign("block at offset \(off) cannot be read: \(Errno.current)")
                }
                if Stamp.matches(raw.baseAddress!, count: 4096, fileOffset: off) { return nil }
                guard prepared, Stamp.isZero(raw.baseAddress!, count: 4096) else {
                    return .foreign("its data at offset \(off) is not iobench's stamp")
                }
                return .stampedWhereWritten
            }
            switch verdict {
            case nil: continue
            case .foreign?: return verdict!
            default:
                // Zeros: fine only inside an unwritten extent of a prepared file.
                if map == nil { map = try? ExtentMap.read(fd: fd, path: path) }
                guard let e = map?.extent(containing: off), e.isUnwritten else {
                    return .foreign("its data at offset \(off) is zeros where its extent map says data is written")
                }
                sawUnwritten = true
            }
        }
        return sawUnwritten ? .stampedWhereWritten : .own
    }

    /// Writes stamped data to [from, to) of a new file `path` (created, O_EXCL), with
    /// O_DIRECT where the filesystem allows it (no page-cache pollution), then fsyncs so
    /// every extent is written and allocated. The partial file is removed on failure.
    public static func write(path: String, from: UInt64, to: UInt64, create: Bool,
                             log: (String) -> Void = { _ in }) throws(IOBenchError) {
        if create {
            let fd = iob_open(path, O_WRONLY | O_CLOEXEC | O_CREAT | O_EXCL, 0o644)
            guard fd >= 0 else {
                throw .badInput("cannot create \(path): \(Errno.current); pass a writable --dir or another --target")
            }
            close(fd)
        }
        do {
            try fill(path: path, shownAs: path, from: from, to: to, creating: create, log: log)
        } catch {
            if create { unlink(path) }
            throw error
        }
    }

    /// Extends iobench's own file `path` from its old end `from` (a multiple of 4096) to
    /// `to`: nothing below `from` is written. An interruption keeps what was written.
    static func extend(path: String, from: UInt64, to: UInt64, log: (String) -> Void) throws(IOBenchError) {
        precondition(from % 4096 == 0)
        try fill(path: path, shownAs: path, from: from, to: to, creating: false, log: log)
    }

    /// Writes the stamp to [from, to) of the existing file `path` (named `shownAs` in
    /// messages) and fsyncs it. Stops within one 1 MiB chunk at SIGINT/SIGTERM. The caller
    /// removes a file it was creating when this throws.
    static func fill(path: String, shownAs: String, from: UInt64, to: UInt64, creating: Bool,
                     log: (String) -> Void) throws(IOBenchError) {
        // The reads will need O_DIRECT: a filesystem that refuses it is found out now,
        // before anything is written.
        let fd = iob_open(path, O_WRONLY | O_CLOEXEC | IOB_O_DIRECT, 0)
        guard fd >= 0 else {
            let err = errno
            if err == EINVAL {
                let fs = StorageInfo.filesystem(of: Target.parentDirectory(of: path))
                throw .badInput("the \(fs?.type ?? "unknown") filesystem at \(fs?.mountPoint ?? "?") refuses O_DIRECT (EINVAL); put the target on a filesystem that supports direct I/O, such as ext4, xfs or tmpfs")
            }
            throw .badInput("cannot open \(path) for writing: \(Errno(err)); pass a writable --dir or another --target")
        }
        defer { close(fd) }
        log("iobench: \(creating ? "creating" : "extending") \(shownAs) (\(Units.formatSize(to))) with stamped data")
        let buffers: AlignedBuffers
        do { buffers = try AlignedBuffers(count: 1, size: chunk) } catch { throw error }
        var offset = from
        while offset < to {
            if let signal = SignalStop.received {
                throw .interrupted(signal, "interrupted while writing \(shownAs); \(creating ? "the partial file was removed" : "it keeps the stamped part written so far")")
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
                throw .runFailed("writing \(shownAs) failed at offset \(offset): \(Errno(err)); free some space or lower --size")
            }
            offset += UInt64(w)
        }
        if fsync(fd) != 0 {
            throw .runFailed("fsync of \(shownAs) failed: \(Errno.current)")
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

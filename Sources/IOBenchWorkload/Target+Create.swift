import CIOBenchShim
import Glibc
import IOBenchPlatform

/// Creating, probing and locating targets: what Target.open builds on.
extension Target {
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

    static func openBlockDevice(path: String, st: stat, request: TargetRequest) throws(IOBenchError) -> Target {
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

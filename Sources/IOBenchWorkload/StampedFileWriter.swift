import CIOBenchShim
import Glibc
import IOBenchPlatform

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

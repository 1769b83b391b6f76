import CIOBenchShim
import Foundation
import Glibc

import IOBenchPlatform

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

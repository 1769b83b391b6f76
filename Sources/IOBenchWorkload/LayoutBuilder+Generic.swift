import CIOBenchShim
import Glibc
import IOBenchPlatform

extension Build {
    /// Interleaved O_DIRECT writes of the file and a spacer file, chunk by chunk
    /// (file chunk i, spacer chunk i, ...), so that the allocator places each file
    /// chunk after the spacer's previous one. With `hint` (XFS) both files carry an
    /// extent-size hint of the chunk size; without it (other filesystems) every chunk
    /// is fsynced so that it is allocated before the next one is written. The result
    /// is checked from the extent map by the caller; the spacer is removed.
    func fragmentInterleaved(hint: Bool) throws(IOBenchError) -> String {
        let spacer = try createScratch("spacer")
        defer { close(spacer) }
        let spacerPath = scratchPaths.last!
        var useHint = hint
        if hint {
            let rc = iob_set_extsize_hint(spacer, UInt32(plan.extentBytes))
            if rc != 0 {
                log("iobench: note: no extent-size hint on the spacer file (\(Errno(-rc))); fsyncing each chunk instead")
                useHint = false
            }
        }
        log("iobench: writing \(plan.chunks) chunks of \(Units.formatSize(plan.extentBytes)) interleaved with a spacer file\(useHint ? " (extent-size hint \(Units.formatSize(plan.extentBytes)))" : "")")
        let e = plan.extentBytes
        for i in 0 ..< UInt64(plan.chunks) {
            try writeStamped(fd: fd, path: path, from: i * e, to: (i + 1) * e)
            if !useHint, fdatasync(fd) != 0 { throw .runFailed("fdatasync of \(path) failed: \(Errno.current)") }
            // The spacer's content does not matter; it holds the stamp of its own offsets.
            try writeStamped(fd: spacer, path: spacerPath, from: i * e, to: (i + 1) * e)
            if !useHint, fdatasync(spacer) != 0 { throw .runFailed("fdatasync of the spacer file \(spacerPath) failed: \(Errno.current)") }
        }
        guard fsync(fd) == 0 else { throw .runFailed("fsync of \(path) failed: \(Errno.current)") }
        removeScratch()
        if hint && useHint { return "xfs-extsize-interleave" }
        return "interleaved-writes"
    }
}

import CIOBenchShim
import Glibc
import IOBenchPlatform

extension Build {
    /// ext4: its allocator merges interleaved appends into a few large extents, so the
    /// file is written whole and then every other chunk is exchanged, with
    /// EXT4_IOC_MOVE_EXT, for the same chunk of a donor file written with the SAME
    /// stamped data at the same offsets. The data is unchanged; the exchanged chunks now
    /// sit where the donor's blocks were, away from their neighbours. The donor (holding
    /// the file's old blocks) is then removed.
    func fragmentExt4() throws(IOBenchError) -> String {
        let bytes = plan.fragmentedBytes
        try writeStamped(fd: fd, path: path, from: 0, to: bytes)
        guard fsync(fd) == 0 else { throw .runFailed("fsync of \(path) failed: \(Errno.current)") }

        let donor = try createScratch("donor")
        defer { close(donor) }
        let donorPath = scratchPaths.last!
        try writeStamped(fd: donor, path: donorPath, from: 0, to: bytes)
        guard fsync(donor) == 0 else { throw .runFailed("fsync of the donor file \(donorPath) failed: \(Errno.current)") }

        let blocksPerChunk = plan.extentBytes / plan.blockSize
        log("iobench: exchanging \(plan.chunks / 2) of \(plan.chunks) chunks of \(Units.formatSize(plan.extentBytes)) with a donor file (EXT4_IOC_MOVE_EXT)")
        var chunk = 1
        while chunk < plan.chunks {
            try checkInterrupt()
            var start = UInt64(chunk) * blocksPerChunk
            var left = blocksPerChunk
            var retries = 0
            while left > 0 {
                var moved: UInt64 = 0
                let rc = iob_ext4_move_ext(fd, donor, start, start, left, &moved)
                if rc != 0 {
                    // Transient: pages under writeback or a signal; a few retries, then give up.
                    if (-rc == EINTR || -rc == EAGAIN || -rc == EBUSY) && retries < 100 {
                        retries += 1
                        usleep(1000)
                        continue
                    }
                    let hint: String
                    switch -rc {
                    case ENOTTY, EOPNOTSUPP:
                        hint = "this ext4 cannot move extents (no extents feature, or DAX); use --layout contiguous or another filesystem"
                    default:
                        hint = "the file was removed"
                    }
                    throw .runFailed("could not fragment \(path): EXT4_IOC_MOVE_EXT of chunk \(chunk) (blocks \(start)+\(left)) failed: \(Errno(-rc)); \(hint)")
                }
                guard moved > 0 else {
                    throw .runFailed("could not fragment \(path): EXT4_IOC_MOVE_EXT of chunk \(chunk) moved no blocks; the file was removed")
                }
                start += moved
                left -= min(left, moved)
            }
            chunk += 2
        }
        guard fsync(fd) == 0 else { throw .runFailed("fsync of \(path) failed: \(Errno.current)") }
        removeScratch()
        return "ext4-move-ext"
    }
}

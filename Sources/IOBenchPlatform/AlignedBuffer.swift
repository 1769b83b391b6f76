import Glibc

/// One page-aligned allocation holding `count` I/O buffers of `size` bytes each, as
/// O_DIRECT requires. Owned by one job; freed when the job ends.
public final class AlignedBuffers {
    public let base: UnsafeMutableRawPointer
    public let size: Int
    public let count: Int
    public static let alignment = 4096

    public init(count: Int, size: Int) throws(IOBenchError) {
        var p: UnsafeMutableRawPointer?
        let total = max(1, count) * size
        let rc = posix_memalign(&p, AlignedBuffers.alignment, total)
        guard rc == 0, let p else {
            throw .runFailed("cannot allocate \(total) bytes of aligned I/O buffers: \(Errno(rc)); lower --iodepth or --bs")
        }
        memset(p, 0, total)
        self.base = p
        self.size = size
        self.count = count
    }

    @inlinable @inline(__always)
    public func buffer(_ slot: Int) -> UnsafeMutableRawPointer { base + slot &* size }

    deinit { free(base) }
}

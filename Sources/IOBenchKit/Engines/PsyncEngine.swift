import CIOBenchShim
import Glibc

/// pread(2): one synchronous read in flight per job. The read happens in `commit`.
public final class PsyncEngine: IOEngine {
    public static let kind = EngineKind.psync
    let fd: Int32
    let blockSize: Int
    let buffers: AlignedBuffers
    var pendingSlot = -1
    var pendingOffset: UInt64 = 0
    var lastResult: Int32 = 0

    public init(_ setup: EngineSetup) throws(IOBenchError) {
        guard setup.queueDepth == 1 else {
            throw .badInput("psync is synchronous and keeps one read in flight; use --iodepth 1, or an async engine (libaio, io_uring) for deeper queues")
        }
        fd = setup.fd
        blockSize = setup.blockSize
        buffers = setup.buffers
    }

    @inline(__always)
    public func prepare(slot: Int, offset: UInt64) {
        pendingSlot = slot
        pendingOffset = offset
    }

    @inline(__always)
    public func commit() throws(IOBenchError) {
        var r: Int
        repeat {
            r = pread(fd, buffers.buffer(pendingSlot), blockSize, off_t(Int64(bitPattern: pendingOffset)))
        } while r < 0 && (errno == EINTR || errno == EAGAIN)
        lastResult = r < 0 ? -errno : Int32(truncatingIfNeeded: r)
    }

    @inline(__always)
    public func reap(minimum: Int, into batch: CompletionBatch) throws(IOBenchError) -> Int {
        guard pendingSlot >= 0 else { return 0 }
        batch.slots[0] = UInt64(pendingSlot)
        batch.results[0] = lastResult
        pendingSlot = -1
        return 1
    }
}

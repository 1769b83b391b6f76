import CIOBenchShim
import Glibc
import IOBenchPlatform

/// pread(2): one synchronous read in flight per job. The read happens in `commit`.
public final class PsyncEngine: IOEngine {
    public static let kind = EngineKind.psync
    let fd: Int32
    let blockSize: Int
    let buffers: AlignedBuffers
    var pending = SyncReadSlot()

    public init(_ setup: EngineSetup) throws(IOBenchError) {
        guard setup.queueDepth == 1 else {
            throw .badInput("psync is synchronous and keeps one read in flight; use --iodepth 1, or an async engine (libaio, io_uring) for deeper queues")
        }
        fd = setup.fd
        blockSize = setup.blockSize
        buffers = setup.buffers
    }

    @inline(__always)
    public func prepare(slot: Int, offset: UInt64) { pending.prepare(slot: slot, offset: offset) }

    @inline(__always)
    public func commit(beforeReap: Bool) throws(IOBenchError) {
        var r: Int
        repeat {
            r = pread(fd, buffers.buffer(pending.slot), blockSize, off_t(Int64(bitPattern: pending.offset)))
        } while r < 0 && (errno == EINTR || errno == EAGAIN)
        pending.result = r < 0 ? -errno : Int32(truncatingIfNeeded: r)
    }

    @inline(__always)
    public func reap(minimum: Int) throws(IOBenchError) -> Int { pending.reap() }

    @inline(__always)
    public func completion(_ i: Int) -> Completion { pending.completion() }

    @inline(__always)
    public func consume(_ count: Int) { pending.consume() }
}

extension EngineKind {
    public static let psync = EngineKind(rawValue: "psync")
}

extension PsyncEngine {
    public static let descriptor = EngineDescriptor(
        kind: .psync,
        summary: "pread(2), one synchronous read in flight per job",
        options: [],
        isSynchronous: true,
        defaultDepths: [1],
        classSuiteDepth: 1,
        run: { setup, plan, offsets, stop, progress, deadlineOut, ready throws(IOBenchError) in
            drive(try PsyncEngine(setup), setup, plan, &offsets, stop, progress, deadlineOut, ready)
        })
}

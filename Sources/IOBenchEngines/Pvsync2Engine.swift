import CIOBenchShim
import Glibc
import IOBenchPlatform

/// preadv2(2), optionally with RWF_HIPRI: the sync polled variant, which completes by
/// polling the device's poll queue instead of sleeping for an interrupt.
public final class Pvsync2Engine: IOEngine {
    public static let kind = EngineKind.pvsync2
    let fd: Int32
    let blockSize: Int
    let buffers: AlignedBuffers
    let flags: Int32
    var pending = SyncReadSlot()

    public init(_ setup: EngineSetup) throws(IOBenchError) {
        guard setup.queueDepth == 1 else {
            throw .badInput("pvsync2 is synchronous and keeps one read in flight; use --iodepth 1, or an async engine (libaio, io_uring) for deeper queues")
        }
        fd = setup.fd
        blockSize = setup.blockSize
        buffers = setup.buffers
        flags = setup.options.hipri ? IOB_RWF_HIPRI : 0
    }

    @inline(__always)
    public func prepare(slot: Int, offset: UInt64) { pending.prepare(slot: slot, offset: offset) }

    @inline(__always)
    public func commit(beforeReap: Bool) throws(IOBenchError) {
        var r: Int
        repeat {
            r = iob_preadv2(fd, buffers.buffer(pending.slot), blockSize, off_t(Int64(bitPattern: pending.offset)), flags)
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
    public static let pvsync2 = EngineKind(rawValue: "pvsync2")
}

extension Pvsync2Engine {
    public static let descriptor = EngineDescriptor(
        kind: .pvsync2,
        summary: "preadv2(2), synchronous, optionally polled with --hipri (RWF_HIPRI)",
        options: [.hipri],
        isSynchronous: true,
        defaultDepths: [1],
        classSuiteDepth: 1,
        run: { setup, plan, offsets, stop, progress, deadlineOut, ready throws(IOBenchError) in
            drive(try Pvsync2Engine(setup), setup, plan, &offsets, stop, progress, deadlineOut, ready)
        })
}

import CIOBenchShim
import IOBenchPlatform

/// IORING_OP_NOP through the same ring code as the io_uring engine (as t/io_uring -N1):
/// submit, the kernel's completion of a request that does no I/O, the CQ walk. What a
/// case with it measures is iobench's own cost per I/O plus io_uring's round trip. The
/// ring is set up as for reads, with the same options (registered files and buffers,
/// SQPOLL, the task-run flags), so set-up costs are alike; the NOP SQE itself carries
/// no file and no buffer.
public final class IoUringNopEngine: IOEngine {
    public static let kind = EngineKind.ioUringNop
    let ring: IoUringRing
    /// What the loop counts as a complete read.
    let blockSize: Int32

    public init(_ setup: EngineSetup) throws(IOBenchError) {
        ring = try IoUringRing(setup, polled: false)
        blockSize = Int32(truncatingIfNeeded: setup.blockSize)
    }

    @inline(__always) public func prepare(slot: Int, offset: UInt64) { ring.prepareNop(slot: slot) }
    @inline(__always) public func commit(beforeReap: Bool) throws(IOBenchError) { try ring.commit(beforeReap: beforeReap) }
    @inline(__always) public func reap(minimum: Int) throws(IOBenchError) -> Int { try ring.reap(minimum: minimum) }
    @inline(__always) public func reap(minimum: Int, timeoutNs: Int64) throws(IOBenchError) -> Int { try ring.reap(minimum: minimum, timeoutNs: timeoutNs) }
    /// A NOP completes with res 0; the loop counts res == block size as a full read.
    @inline(__always) public func completion(_ i: Int) -> Completion {
        var c = ring.completion(i)
        if c.result == 0 { c.result = blockSize }
        return c
    }
    @inline(__always) public func consume(_ count: Int) { ring.consume(count) }

    public var ringInfo: RingInfo? { ring.info }
}

extension IoUringRing {
    /// Queues a NOP for `slot` (an SQE is free, or waited for, as for a read).
    @inline(__always)
    func prepareNop(slot: Int) {
        if iob_ring_prep_nop(ring, UInt64(slot)) != 0 { lostSQE = true }
        prepared &+= 1
    }
}

extension EngineKind {
    public static let ioUringNop = EngineKind(rawValue: "io_uring-nop")
}

extension IoUringNopEngine {
    public static let descriptor = EngineDescriptor(
        kind: .ioUringNop,
        summary: "io_uring NOPs, no I/O: iobench's own cost per I/O plus the ring's round trip (t/io_uring -N1)",
        options: ioUringOptions,
        maxQueueDepth: ioUringDepthLimit.depth, queueDepthLimit: ioUringDepthLimit.reason,
        needsIoUring: true,
        measuresStorage: false,
        defaultDepths: [32],
        classSuiteDepth: nil,
        run: { setup, plan, offsets, stop, progress, deadlineOut, ready throws(IOBenchError) in
            drive(try IoUringNopEngine(setup), setup, plan, &offsets, stop, progress, deadlineOut, ready)
        })
}

import IOBenchPlatform
/// io_uring, interrupt-driven: completions are posted by the device's IRQ handler.
/// Options: registered files and buffers, SQPOLL, submit and complete batching.
public final class IoUringEngine: IOEngine {
    public static let kind = EngineKind.ioUring
    let ring: IoUringRing

    public init(_ setup: EngineSetup) throws(IOBenchError) {
        ring = try IoUringRing(setup, polled: false)
    }

    @inline(__always) public func prepare(slot: Int, offset: UInt64) { ring.prepare(slot: slot, offset: offset) }
    @inline(__always) public func commit(beforeReap: Bool) throws(IOBenchError) { try ring.commit(beforeReap: beforeReap) }
    @inline(__always) public func reap(minimum: Int) throws(IOBenchError) -> Int { try ring.reap(minimum: minimum) }
    @inline(__always) public func reap(minimum: Int, timeoutNs: Int64) throws(IOBenchError) -> Int { try ring.reap(minimum: minimum, timeoutNs: timeoutNs) }
    @inline(__always) public func completion(_ i: Int) -> Completion { ring.completion(i) }
    @inline(__always) public func consume(_ count: Int) { ring.consume(count) }

    public var ringInfo: RingInfo? { ring.info }
}

extension EngineKind {
    public static let ioUring = EngineKind(rawValue: "io_uring")
}

/// The options every io_uring engine takes.
let ioUringOptions: Set<EngineOptionKey> = [.fixedBuffers, .registeredFiles, .sqpoll, .plainRing, .submitBatch, .completeBatch]
/// io_uring's ring limit, for the refusal of a deeper queue.
let ioUringDepthLimit = (depth: 32768, reason: "io_uring's ring limit of 32768 entries")

extension IoUringEngine {
    public static let descriptor = EngineDescriptor(
        kind: .ioUring,
        summary: "io_uring, interrupt-driven completions",
        options: ioUringOptions,
        maxQueueDepth: ioUringDepthLimit.depth, queueDepthLimit: ioUringDepthLimit.reason,
        needsIoUring: true,
        defaultDepths: [1, 32],
        classSuiteDepth: 32,
        run: { setup, plan, offsets, stop, progress, deadlineOut, ready throws(IOBenchError) in
            drive(try IoUringEngine(setup), setup, plan, &offsets, stop, progress, deadlineOut, ready)
        })
}

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
    @inline(__always) public func completion(_ i: Int) -> Completion { ring.completion(i) }
    @inline(__always) public func consume(_ count: Int) { ring.consume(count) }

    public var ringInfo: RingInfo? { ring.info }
}

import Glibc
import IOBenchPlatform
/// io_uring with IORING_SETUP_IOPOLL: completions are found by polling the device's
/// poll queues from io_uring_enter, with no interrupt. Only devices with poll queues
/// (NVMe with nvme.poll_queues > 0, null_blk, virtio-blk with poll queues) support it;
/// elsewhere the ring sets up fine and every read fails with EOPNOTSUPP, so the queue's
/// io_poll setting is checked before the ring is made.
public final class IoUringPollEngine: IOEngine {
    public static let kind = EngineKind.ioUringPoll
    let ring: IoUringRing

    /// Why polled I/O cannot work on this target, or nil when it may.
    public static func unsupportedReason(queue: BlockQueueInfo?, targetPath: String) -> String? {
        guard let queue else {
            return "\(targetPath) is not backed by a block device, so there is no poll queue (polled I/O needs a device with io_poll=1)"
        }
        if queue.ioPoll == false {
            return "/sys/block/\(queue.device)/queue/io_poll is 0: \(queue.device) has no poll queues (use NVMe with nvme.poll_queues > 0)"
        }
        return nil
    }

    public init(_ setup: EngineSetup) throws(IOBenchError) {
        if let why = Self.unsupportedReason(queue: setup.queue, targetPath: setup.targetPath) {
            throw .runFailed("polled I/O is unsupported: \(why); use --engine io_uring")
        }
        ring = try IoUringRing(setup, polled: true)
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
    public static let ioUringPoll = EngineKind(rawValue: "io_uring-poll")
}

extension IoUringPollEngine {
    public static let descriptor = EngineDescriptor(
        kind: .ioUringPoll,
        summary: "io_uring with IOPOLL: completions polled from the device's poll queues (needs io_poll=1)",
        options: ioUringOptions,
        maxQueueDepth: ioUringDepthLimit.depth, queueDepthLimit: ioUringDepthLimit.reason,
        needsIoUring: true,
        defaultDepths: [1, 32],
        classSuiteDepth: 32,
        targetCheck: { queue, path in unsupportedReason(queue: queue, targetPath: path) },
        unsupportedCompletion: { errno, path in
            // The ring sets up on any device; polled reads then fail with EOPNOTSUPP.
            guard errno == EOPNOTSUPP else { return nil }
            return ("every polled read failed with EOPNOTSUPP: the device under \(path) has no poll queues",
                    "use --engine io_uring, or a device with io_poll=1")
        },
        run: { setup, plan, offsets, stop, progress, deadlineOut, ready throws(IOBenchError) in
            drive(try IoUringPollEngine(setup), setup, plan, &offsets, stop, progress, deadlineOut, ready)
        })
}

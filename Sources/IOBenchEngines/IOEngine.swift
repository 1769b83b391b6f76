import CIOBenchShim
import IOBenchPlatform

/// The longest an engine's reap blocks in the kernel before it returns (possibly with
/// no completion), so the loop can see a stop or its deadline on a device that has
/// stopped completing reads.
public let reapTimeoutNs: Int64 = 100_000_000

/// Options that shape how an engine talks to the kernel (fio's names where fio has them).
public struct EngineOptions: Codable, Sendable, Equatable {
    /// pvsync2: RWF_HIPRI (the sync polled variant).
    public var hipri = false
    /// io_uring: registered buffers and IORING_OP_READ_FIXED.
    public var fixedBuffers = false
    /// io_uring: the target registered as fixed file 0 (IOSQE_FIXED_FILE).
    public var registeredFiles = false
    /// io_uring: a kernel thread polls the SQ (IORING_SETUP_SQPOLL).
    public var sqpoll = false
    /// io_uring: create the ring without COOP_TASKRUN / SINGLE_ISSUER / DEFER_TASKRUN
    /// (the kernel's default completion handling), to measure what they change.
    public var plainRing = false
    /// Reads prepared before one submit call (fio's iodepth_batch_submit). Default 1.
    public var submitBatch = 1
    /// Completions waited for before reaping (fio's iodepth_batch_complete_min). Default 1:
    /// wait for one, then reap everything that is there.
    public var completeBatch = 1

    public init() {}

    package enum CodingKeys: String, CodingKey {
        case hipri, sqpoll
        case plainRing = "plain_ring"
        case fixedBuffers = "fixed_buffers"
        case registeredFiles = "registered_files"
        case submitBatch = "submit_batch"
        case completeBatch = "complete_batch"
    }
}

/// Everything an engine needs to set itself up for one job.
public struct EngineSetup {
    public var fd: Int32
    public var blockSize: Int
    public var queueDepth: Int
    public var buffers: AlignedBuffers
    public var options: EngineOptions
    /// The block-device queue under the target, when there is one (polling checks it).
    public var queue: BlockQueueInfo?
    public var targetPath: String

    public init(fd: Int32, blockSize: Int, queueDepth: Int, buffers: AlignedBuffers, options: EngineOptions,
                queue: BlockQueueInfo?, targetPath: String) {
        self.fd = fd
        self.blockSize = blockSize
        self.queueDepth = queueDepth
        self.buffers = buffers
        self.options = options
        self.queue = queue
        self.targetPath = targetPath
    }
}

/// One completed read: the slot it was prepared in and the kernel's result (bytes
/// read, or -errno).
public struct Completion {
    public var slot: Int
    public var result: Int32

    @inlinable @inline(__always)
    public init(slot: Int, result: Int32) {
        self.slot = slot
        self.result = result
    }
}

/// The narrow contract every engine meets, after fio's ioengine_ops: prepare reads one
/// at a time, commit them to the kernel as a batch, reap completions. A sync engine
/// performs its read in `commit`; an async one hands it over and returns. The job loop
/// is generic over this protocol and specialised per engine, so none of these calls is
/// dynamically dispatched in the hot loop.
public protocol IOEngine: AnyObject {
    static var kind: EngineKind { get }
    init(_ setup: EngineSetup) throws(IOBenchError)
    /// Queues a read of `blockSize` bytes at `offset` into the buffer of `slot`.
    func prepare(slot: Int, offset: UInt64)
    /// Hands every prepared read to the kernel. `beforeReap` says the loop will reap
    /// next: an engine may then fold this submit into the reap's wait (one system call
    /// for both, as t/io_uring does).
    func commit(beforeReap: Bool) throws(IOBenchError)
    /// Waits for at least `minimum` completions (fewer only if fewer are in flight, or
    /// none when the wait timed out after `reapTimeoutNs`) and returns how many are ready,
    /// at most the queue depth. They are read in place with `completion(_:)` and handed
    /// back with one `consume(_:)`, as t/io_uring walks its CQ ring: nothing is copied
    /// out and the CQ head moves once per batch.
    func reap(minimum: Int) throws(IOBenchError) -> Int
    /// The open loop's reap (`--rate-iops`): as `reap(minimum:)`, but the wait ends after
    /// `timeoutNs` (the time to the next arrival), and with `minimum` 0 it only collects
    /// what has completed. Engines whose reads complete in `commit` (sync, null) never
    /// wait in `reap`; the default serves them.
    func reap(minimum: Int, timeoutNs: Int64) throws(IOBenchError) -> Int
    /// Completion `i` (0 ≤ i < the count the last `reap` returned).
    func completion(_ i: Int) -> Completion
    /// Releases the last reap's `count` completions.
    func consume(_ count: Int)
    /// What an io_uring engine's ring runs with (nil for the others); read once per job,
    /// after the loop.
    var ringInfo: RingInfo? { get }
}

extension IOEngine {
    public var ringInfo: RingInfo? { nil }
    public func reap(minimum: Int, timeoutNs: Int64) throws(IOBenchError) -> Int { try reap(minimum: minimum) }
}

import CIOBenchShim
import Glibc

/// Linux native AIO through libaio: io_submit a batch of iocbs, io_getevents to reap.
public final class LibaioEngine: IOEngine {
    public static let kind = EngineKind.libaio
    let fd: Int32
    let blockSize: Int
    let buffers: AlignedBuffers
    var ctx: io_context_t?
    let iocbs: UnsafeMutablePointer<iocb>
    let pending: UnsafeMutablePointer<UnsafeMutablePointer<iocb>?>
    var pendingCount = 0
    let events: UnsafeMutablePointer<io_event>
    let depth: Int

    public init(_ setup: EngineSetup) throws(IOBenchError) {
        fd = setup.fd
        blockSize = setup.blockSize
        buffers = setup.buffers
        depth = setup.queueDepth
        var c: io_context_t?
        let rc = io_setup(Int32(depth), &c)
        guard rc == 0 else {
            if rc == -EAGAIN {
                throw .badInput("io_setup(\(depth)) failed: EAGAIN, the system-wide AIO limit (fs.aio-max-nr) is too low; lower --iodepth or raise it with sysctl fs.aio-max-nr")
            }
            throw .runFailed("io_setup(\(depth)) failed: \(Errno(-rc)); the kernel refused native AIO")
        }
        ctx = c
        iocbs = .allocate(capacity: depth)
        iocbs.initialize(repeating: iocb(), count: depth)
        pending = .allocate(capacity: depth)
        pending.initialize(repeating: nil, count: depth)
        events = .allocate(capacity: depth)
        events.initialize(repeating: io_event(), count: depth)
    }

    deinit {
        if let ctx { io_destroy(ctx) }
        iocbs.deallocate()
        pending.deallocate()
        events.deallocate()
    }

    @inline(__always)
    public func prepare(slot: Int, offset: UInt64) {
        let cb = iocbs + slot
        iob_aio_prep_pread(cb, fd, buffers.buffer(slot), blockSize, Int64(bitPattern: offset), UInt64(slot))
        pending[pendingCount] = cb
        pendingCount &+= 1
    }

    @inline(__always)
    public func commit(beforeReap: Bool) throws(IOBenchError) {
        var done = 0
        while done < pendingCount {
            let r = io_submit(ctx, pendingCount - done, pending + done)
            if r > 0 { done += Int(r); continue }
            if r == -EINTR || r == -EAGAIN { continue }
            pendingCount = 0
            throw .runFailed("io_submit failed: \(Errno(-r))")
        }
        pendingCount = 0
    }

    @inline(__always)
    public func reap(minimum: Int, into batch: CompletionBatch) throws(IOBenchError) -> Int {
        let cap = min(batch.capacity, depth)
        var n: Int32
        repeat {
            n = io_getevents(ctx, minimum, cap, events, nil)
        } while n == -EINTR
        guard n >= 0 else { throw .runFailed("io_getevents failed: \(Errno(-n))") }
        var i = 0
        while i < Int(n) {
            batch.slots[i] = iob_aio_event_data(events + i)
            batch.results[i] = Int32(truncatingIfNeeded: iob_aio_event_res(events + i))
            i &+= 1
        }
        return Int(n)
    }
}

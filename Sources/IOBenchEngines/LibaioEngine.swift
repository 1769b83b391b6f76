import CIOBenchShim
import Glibc
import IOBenchPlatform

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
    /// io_getevents' timeout (reapTimeoutNs): a device that stops completing cannot
    /// block the job beyond it.
    let timeout: UnsafeMutablePointer<timespec>
    /// The open loop's bounded wait (set before each such reap; no allocation per read).
    let waitTimeout: UnsafeMutablePointer<timespec>

    public init(_ setup: EngineSetup) throws(IOBenchError) {
        fd = setup.fd
        blockSize = setup.blockSize
        buffers = setup.buffers
        depth = setup.queueDepth
        var c: io_context_t?
        let rc = io_setup(Int32(depth), &c)
        guard rc == 0 else {
            if rc == -EAGAIN {
                let maxNr = StorageInfo.readSysfs("/proc/sys/fs/aio-max-nr") ?? "?"
                let nr = StorageInfo.readSysfs("/proc/sys/fs/aio-nr") ?? "?"
                throw .runFailed("io_setup(\(depth)) failed (EAGAIN): the system-wide AIO limit fs.aio-max-nr = \(maxNr) is reached (fs.aio-nr = \(nr); ~2 x depth per job); lower --iodepth or --numjobs, or raise fs.aio-max-nr")
            }
            throw .runFailed("io_setup(\(depth)) failed: \(Errno(-rc)); the kernel refused native AIO")
        }
        let bytes = depth * (MemoryLayout<iocb>.stride + MemoryLayout<UnsafeMutablePointer<iocb>?>.stride + MemoryLayout<io_event>.stride)
            + 2 * MemoryLayout<timespec>.stride
        guard let block = iob_malloc(bytes) else {
            io_destroy(c)
            throw .runFailed("no memory for libaio's \(depth) control blocks (ENOMEM): \(ResourceLimits.memoryFix)")
        }
        memset(block, 0, bytes)
        ctx = c
        iocbs = block.bindMemory(to: iocb.self, capacity: depth)
        let eventsAt = block + depth * MemoryLayout<iocb>.stride
        events = eventsAt.bindMemory(to: io_event.self, capacity: depth)
        let pendingAt = eventsAt + depth * MemoryLayout<io_event>.stride
        pending = pendingAt.bindMemory(to: UnsafeMutablePointer<iocb>?.self, capacity: depth)
        timeout = (pendingAt + depth * MemoryLayout<UnsafeMutablePointer<iocb>?>.stride).bindMemory(to: timespec.self, capacity: 1)
        timeout.pointee = timespec(tv_sec: Int(reapTimeoutNs / 1_000_000_000), tv_nsec: Int(reapTimeoutNs % 1_000_000_000))
        waitTimeout = timeout + 1
    }

    deinit {
        if let ctx { io_destroy(ctx) }
        iob_free(UnsafeMutableRawPointer(iocbs))
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
    public func reap(minimum: Int) throws(IOBenchError) -> Int {
        var n: Int32
        repeat {
            n = io_getevents(ctx, minimum, depth, events, timeout)
        } while n == -EINTR
        guard n >= 0 else { throw .runFailed("io_getevents failed: \(Errno(-n))") }
        return Int(n)
    }

    /// Open loop: at most `timeoutNs` of waiting (0: only what has completed).
    public func reap(minimum: Int, timeoutNs: Int64) throws(IOBenchError) -> Int {
        let t = max(0, min(timeoutNs, reapTimeoutNs))
        waitTimeout.pointee = timespec(tv_sec: Int(t / 1_000_000_000), tv_nsec: Int(t % 1_000_000_000))
        var n: Int32
        repeat {
            n = io_getevents(ctx, minimum, depth, events, waitTimeout)
        } while n == -EINTR
        guard n >= 0 else { throw .runFailed("io_getevents failed: \(Errno(-n))") }
        return Int(n)
    }

    /// io_getevents has already copied the events into this engine's array.
    @inline(__always)
    public func completion(_ i: Int) -> Completion {
        Completion(slot: Int(truncatingIfNeeded: iob_aio_event_data(events + i)),
                   result: Int32(truncatingIfNeeded: iob_aio_event_res(events + i)))
    }

    @inline(__always)
    public func consume(_ count: Int) {}
}

extension EngineKind {
    public static let libaio = EngineKind(rawValue: "libaio")
}

extension LibaioEngine {
    public static let descriptor = EngineDescriptor(
        kind: .libaio,
        summary: "Linux native AIO (io_submit, io_getevents)",
        options: [.submitBatch, .completeBatch],
        defaultDepths: [1, 32],
        classSuiteDepth: 32,
        run: { setup, plan, offsets, stop, progress, deadlineOut, ready throws(IOBenchError) in
            drive(try LibaioEngine(setup), setup, plan, &offsets, stop, progress, deadlineOut, ready)
        })
}

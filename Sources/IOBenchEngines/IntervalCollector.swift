import Atomics
import CIOBenchShim
import Glibc
import IOBenchHistogram
import IOBenchPlatform

/// `--hist-log` off the hot loop. The loop records into one of two counts buffers; when
/// an interval ends it hands the full one to this collector's thread and goes on with
/// the other, which the thread has already emptied. The thread encodes the interval
/// (compressed V2, a few KiB), adds it to the job's total and zeroes the buffer. The
/// loop neither allocates nor touches new pages at an interval's end, and memory grows
/// by the compressed intervals only.
///
/// Handing over is one release store and a sem_post per interval; the loop never waits.
/// If the thread has not emptied the other buffer yet (an interval shorter than the
/// encoding takes), the loop keeps recording into the current one and the interval
/// ends at a later completion: its recorded length says so.
///
/// `@unchecked Sendable`: `buffers[b]`, `pendingStart` and `pendingLength` are written
/// by the loop only while `pending` is -1 and read by the thread only after it loaded
/// `pending` == b (acquire); the thread hands a buffer back by storing -1 (release).
/// `intervals` and `total` are the thread's until `finish` has joined it.
final class IntervalCollector: @unchecked Sendable {
    /// The two buffers (a pointer, not an array: both threads write to it, each to the
    /// buffer it owns at the time, which an array's copy-on-write check would race on).
    private let buffers: UnsafeMutablePointer<JobHistogram>
    private(set) var total: JobHistogram
    private(set) var intervals: [IntervalHistogram] = []
    /// -1: both buffers free; 0 or 1: that buffer holds a finished interval.
    private let pending = ManagedAtomic<Int>(-1)
    private let finishing = ManagedAtomic<Bool>(false)
    private var pendingStart: UInt64 = 0
    private var pendingLength: UInt64 = 0
    private let wake: UnsafeMutablePointer<sem_t>
    private var thread = pthread_t()
    /// `--status-interval`'s running histogram, which every interval is added to as well.
    private var live: LiveHistogram?
    /// Interval ends the loop put off because the thread was still busy.
    private(set) var deferredEnds: UInt64 = 0

    /// The first buffer to record into.
    var first: JobHistogram { buffers[0] }

    /// The buffers and the thread, or the reason there are none (no memory, no thread).
    static func start(expectedIntervals: Int, live: LiveHistogram? = nil) -> Result<IntervalCollector, IOBenchError> {
        guard let a = JobHistogram() else { return .failure(noMemory) }
        guard let b = JobHistogram() else { a.free(); return .failure(noMemory) }
        guard let t = JobHistogram() else { a.free(); b.free(); return .failure(noMemory) }
        let c = IntervalCollector(a, b, total: t, expectedIntervals: expectedIntervals)
        c.live = live
        let ctx = Unmanaged.passRetained(c)
        let rc = iob_thread_create(&c.thread, 256 << 10, intervalCollectorMain, ctx.toOpaque())
        guard rc == 0 else {
            ctx.release()
            return .failure(.runFailed("cannot start --hist-log's encoding thread: \(Errno(rc)) (the process/thread limit, ulimit -u, or memory); raise the limit, lower --numjobs, or drop --hist-log"))
        }
        return .success(c)
    }

    static let noMemory = IOBenchError.runFailed("no memory for --hist-log's interval buffers (ENOMEM): \(ResourceLimits.memoryFix)")

    private init(_ a: JobHistogram, _ b: JobHistogram, total: JobHistogram, expectedIntervals: Int) {
        buffers = .allocate(capacity: 2)
        buffers.initialize(to: a)
        (buffers + 1).initialize(to: b)
        self.total = total
        wake = .allocate(capacity: 1)
        sem_init(wake, 0, 0)
        intervals.reserveCapacity(expectedIntervals)
    }

    deinit {
        buffers[0].free()
        buffers[1].free()
        buffers.deinitialize(count: 2)
        buffers.deallocate()
        total.free()
        sem_destroy(wake)
        wake.deallocate()
    }

    /// The loop: hands over `counts` (the current buffer `index`) as the interval
    /// [start, start + length). Returns the buffer to record into next, or nil when the
    /// thread is still busy with the previous interval (then keep recording).
    @inline(__always)
    func handOff(_ counts: JobHistogram, index: Int, start: UInt64, length: UInt64) -> JobHistogram? {
        guard pending.load(ordering: .acquiring) == -1 else {
            deferredEnds &+= 1
            return nil
        }
        buffers[index] = counts
        pendingStart = start
        pendingLength = length
        pending.store(index, ordering: .releasing)
        sem_post(wake)
        return buffers[1 &- index]
    }

    /// After the loop: hands over the last interval when it holds anything, stops the
    /// thread and joins it. Then `total` and `intervals` are the job's.
    func finish(last counts: JobHistogram, index: Int, start: UInt64, length: UInt64) {
        if !counts.isEmpty {
            while pending.load(ordering: .acquiring) != -1 { sched_yield() }
            _ = handOff(counts, index: index, start: start, length: length)
        }
        finishing.store(true, ordering: .releasing)
        sem_post(wake)
        _ = iob_thread_join(thread)
    }

    /// The thread: encode and add each interval handed over, until finished.
    fileprivate func collect() {
        while true {
            while sem_wait(wake) != 0 && errno == EINTR {}
            let b = pending.load(ordering: .acquiring)
            if b >= 0 {
                var counts = buffers[b]
                intervals.append(IntervalHistogram(startNs: pendingStart, lengthNs: pendingLength, counts: counts))
                total.add(counts)
                live?.add(counts)
                counts.reset()
                buffers[b] = counts
                pending.store(-1, ordering: .releasing)
            }
            if finishing.load(ordering: .acquiring) && pending.load(ordering: .acquiring) == -1 { return }
        }
    }
}

private func intervalCollectorMain(_ arg: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let c = Unmanaged<IntervalCollector>.fromOpaque(arg!).takeRetainedValue()
    c.collect()
    return nil
}

import Atomics
import Glibc
import CIOBenchShim
import IOBenchHistogram
import IOBenchPlatform
import IOBenchWorkload

/// Waiting for the next arrival: a sleep (or a wait in the kernel for a completion)
/// ends late by the time the kernel and, in a VM, the host take to run the thread again
/// (tens of µs here, sometimes ms). The loop wakes that much early and spins on the clock
/// for the rest. The margin tracks the 98th percentile of how late the timed waits
/// ended (a stochastic-gradient quantile estimate: up 49 µs when a wait was later than
/// it, down 1 µs otherwise), between `openLoopMinMarginNs` and `openLoopMaxMarginNs`;
/// rarer, longer delays (the host running another guest) no spin can avoid, and they
/// show in the issue lag. Gaps shorter than the margin are spun through.
let openLoopMinMarginNs: UInt64 = 15_000
let openLoopMaxMarginNs: UInt64 = 500_000

/// The open loop (`--rate-iops`): reads are issued when the arrival schedule says they
/// are due, not when a slot frees up. `queueDepth` caps the reads in flight; arrivals
/// that find it full wait in order and keep their intended times, so a stall delays
/// every read due during it and the response time (completion − intended) shows it,
/// where a closed loop's latency would not (coordinated omission). Per read: one clock
/// read before the commit (the submit time, and the issue lag against the intended
/// time) and one per reaped batch; three histograms recorded (service, response, lag).
/// Generic over the engine and specialised per engine, as `runJobLoop`.
@inline(never)
func runOpenLoop<E: IOEngine>(
    engine: E,
    plan: JobPlan,
    arrivals open: OpenLoopPlan,
    offsets: inout OffsetGenerator,
    buffers: AlignedBuffers,
    stop: ManagedAtomic<Bool>,
    progress: ManagedAtomic<UInt64>,
    deadlineOut: ManagedAtomic<UInt64>? = nil
) -> JobOutcome {
    var out = JobOutcome()
    let qd = plan.queueDepth
    let bs = Int32(plan.blockSize)
    let memory = JobMemory(queueDepth: qd, timelineCapacity: max(1, plan.timelineCapacity) * 2)
    let noMemory = IOBenchError.runFailed("no memory for the job's tables and histograms (ENOMEM): \(ResourceLimits.memoryFix)")
    guard let memory else { out.failure = noMemory; return out }
    defer { memory.free() }
    guard var service = JobHistogram() else { out.failure = noMemory; return out }
    defer { service.free() }
    guard var lag = JobHistogram() else { out.failure = noMemory; return out }
    defer { lag.free() }
    let freeSlots = memory.freeSlots
    let slots = memory.slots
    // Completed reads per second, then the backlog at each second's end.
    let timeline = memory.timeline
    let backlogLine = memory.timeline + max(1, plan.timelineCapacity)
    var freeCount = qd
    var inflight = 0
    // The response time is the open loop's headline: --hist-log logs it.
    let intervalNs = plan.intervalNs ?? 0
    var response: JobHistogram
    let collector: IntervalCollector?
    switch headlineCounts(plan) {
    case .success(let (h, c)): response = h; collector = c
    case .failure(let e): out.failure = e; return out
    }
    var histIndex = 0
    defer { if collector == nil { response.free() } }

    // Timer slack (50 µs by default) would make every sleep that much late.
    let oldSlack = iob_get_timerslack()
    _ = iob_set_timerslack(1)
    defer { if oldSlack > 0 { _ = iob_set_timerslack(UInt(oldSlack)) } }

    var schedule = ArrivalSchedule(ratePerSecond: open.ratePerSecond, process: open.process, seed: open.seed)
    var recorded: UInt64 = 0
    var tally = ReadTally()
    var issuedMeasured: UInt64 = 0
    var timelineCount = 0
    var timelineTruncated = false
    var backlogMax: UInt64 = 0
    var wakeLate: UInt64 = openLoopMinMarginNs
    var issuing = true
    // When the deadline ended issuing (nil: something else did, or nothing yet).
    var stoppedAt: UInt64?

    let start = plan.clock.now()
    // The measured phase is the arrivals intended in [rampEnd, deadline): fixed by the
    // schedule, not by when the loop notices the time.
    let rampEnd = start &+ plan.rampNs
    let deadline = plan.runtimeNs.map { rampEnd &+ $0 } ?? UInt64.max
    // Arrivals due before the deadline still issue after it when the loop is a little
    // behind (a late wake-up), up to 1% of the measured time (at least 10 ms); what is
    // left then is the backlog of a schedule the target could not keep.
    let issueEnd = plan.runtimeNs.map { deadline &+ max(10_000_000, $0 / 100) } ?? UInt64.max
    deadlineOut?.store(issueEnd, ordering: .relaxed)
    var measuring = plan.rampNs == 0
    var usageStart = ThreadUsage.current()
    var drainSince: UInt64 = 0
    var nextSecond = rampEnd &+ 1_000_000_000
    var recordedAtLastSecond: UInt64 = 0
    let limit = plan.ioLimit ?? UInt64.max
    var intervalStart = rampEnd
    var due = start &+ schedule.next()
    var now = start

    loop: while true {
        // Issue every arrival that is due, in order, while there is room.
        while issuing && freeCount > 0 && due <= now {
            if due >= deadline { stoppedAt = now; issuing = false; break }
            if issuedMeasured >= limit { issuing = false; break }
            var n = 0
            while n < plan.submitBatch && freeCount > n && due <= now && due < deadline && issuedMeasured < limit {
                let slot = freeSlots[freeCount &- 1 &- n]
                let offset = offsets.next()
                slots[slot].offset = offset
                slots[slot].fileOffset = offsets.lastFileOffset
                slots[slot].intendedTime = due
                let measured = due >= rampEnd
                slots[slot].measured = measured
                if measured { issuedMeasured &+= 1 }
                engine.prepare(slot: slot, offset: offset)
                due = start &+ schedule.next()
                n &+= 1
            }
            let submitTime = plan.clock.now()
            var i = 0
            while i < n {
                let slot = freeSlots[freeCount &- 1 &- i]
                slots[slot].submitTime = submitTime
                if slots[slot].measured { lag.record(submitTime &- slots[slot].intendedTime) }
                i &+= 1
            }
            freeCount &-= n
            inflight &+= n
            do {
                try engine.commit(beforeReap: false)
            } catch {
                out.failure = error
                inflight = 0
                break loop
            }
            now = submitTime
        }
        if !issuing && inflight == 0 { break }

        // Wait for a completion or the next arrival, whichever comes first.
        var k = 0
        let gap: UInt64 = (issuing && freeCount > 0) ? (due > now ? due &- now : 0) : UInt64(reapTimeoutNs)
        // When a timed wait should end (0: no timed wait this time).
        var wakeAt: UInt64 = 0
        if inflight > 0 {
            do {
                if gap > wakeLate &+ 5_000 {
                    let t = gap &- wakeLate
                    wakeAt = now &+ t
                    k = try engine.reap(minimum: 1, timeoutNs: Int64(t))
                } else {
                    k = try engine.reap(minimum: 0, timeoutNs: 0)
                }
            } catch {
                out.failure = error
                break loop
            }
        } else if gap > wakeLate &+ 5_000 {
            // Nothing in flight: sleep until the margin before the arrival (at most 100 ms,
            // to see a stop), then spin on the clock.
            let ns = min(gap &- wakeLate, 100_000_000)
            wakeAt = now &+ ns
            var ts = timespec(tv_sec: Int(ns / 1_000_000_000), tv_nsec: Int(ns % 1_000_000_000))
            _ = nanosleep(&ts, nil)
        }
        now = plan.clock.now()
        if wakeAt != 0 && k == 0 {
            // A wait that ran its full time: how late it ended.
            let late = now > wakeAt ? now &- wakeAt : 0
            wakeLate = late > wakeLate ? min(wakeLate &+ 49_000, openLoopMaxMarginNs) : max(wakeLate &- 1_000, openLoopMinMarginNs)
        }
        var j = 0
        while j < k {
            let c = engine.completion(j)
            let slot = c.slot
            let res = c.result
            if res == bs {
                if slots[slot].measured {
                    service.record(now &- slots[slot].submitTime)
                    response.record(now &- slots[slot].intendedTime)
                    recorded &+= 1
                }
                if plan.verify { tally.verify(plan, buffers, slot: slot, fileOffset: slots[slot].fileOffset, &out) }
            } else if !tally.failed(res, offset: slots[slot].offset, measuring: slots[slot].measured, plan, &out) {
                issuing = false
            }
            freeSlots[freeCount] = slot
            freeCount &+= 1
            j &+= 1
        }
        if k > 0 { engine.consume(k) }
        inflight &-= k
        if stop.load(ordering: .relaxed) {
            issuing = false
            out.interrupted = true
        }
        if !issuing && inflight > 0 && tally.drainExpired(now: now, since: &drainSince, inflight: inflight, &out) { break loop }

        if !measuring && now >= rampEnd {
            measuring = true
            usageStart = ThreadUsage.current()
        }
        if measuring {
            while now >= nextSecond && nextSecond <= deadline {
                // The backlog: how late the oldest arrival not yet issued is.
                let behind = due < nextSecond ? nextSecond &- due : 0
                if timelineCount < plan.timelineCapacity {
                    timeline[timelineCount] = recorded &- recordedAtLastSecond
                    backlogLine[timelineCount] = behind
                    timelineCount &+= 1
                } else {
                    timelineTruncated = true
                }
                if behind > backlogMax { backlogMax = behind }
                recordedAtLastSecond = recorded
                nextSecond &+= 1_000_000_000
            }
            if let collector, now &- intervalStart >= intervalNs {
                if let next = collector.handOff(response, index: histIndex, start: intervalStart &- rampEnd, length: now &- intervalStart) {
                    response = next
                    histIndex = 1 &- histIndex
                    intervalStart = now
                }
            }
        }
        if issuing && (now >= issueEnd || (now >= deadline && due >= deadline)) {
            // The end: arrivals due before it and not yet issued are the backlog.
            issuing = false
            stoppedAt = now
        }
        progress.store(recorded, ordering: .relaxed)
    }

    let end = plan.clock.now()
    out.usage = ThreadUsage.current() - usageStart
    out.elapsedNs = measuring ? end &- rampEnd : 0
    out.measureStartEpochNs = wallClockNanoseconds() &- (plan.clock.now() &- rampEnd)
    var ol = OpenLoopOutcome()
    // Arrivals intended before the end that were never issued: the backlog at the end
    // (only when the deadline ended the job; a stop, an error or --number-ios is not a
    // schedule that fell behind).
    let windowEnd = min(deadline, max(end, rampEnd))
    var unissued: UInt64 = 0
    if let stoppedAt, due < deadline {
        ol.backlogAtEndNs = stoppedAt > due ? stoppedAt &- due : 0
        var t = due
        while t < deadline { unissued &+= 1; t = start &+ schedule.next() }
    }
    ol.issued = issuedMeasured
    ol.arrivals = issuedMeasured &+ unissued
    ol.backlogMaxNs = max(backlogMax, ol.backlogAtEndNs)
    ol.backlogTimelineNs = Array(UnsafeBufferPointer(start: backlogLine, count: timelineCount))
    ol.windowNs = measuring ? windowEnd &- rampEnd : 0
    var responseCounts = response
    if let collector {
        collector.finish(last: response, index: histIndex, start: intervalStart &- rampEnd, length: end &- intervalStart)
        responseCounts = collector.total
        out.intervals = collector.intervals
    }
    // The three histogram values, stopping at the first whose memory cannot be had.
    if let h = histogramValue(service, &out) {
        out.histogram = h
        if let r = histogramValue(responseCounts, &out) {
            ol.responseTime = r
            if let l = histogramValue(lag, &out) { ol.issueLag = l }
        }
    }
    out.openLoop = ol
    out.ios = recorded
    tally.store(into: &out)
    out.timeline = Array(UnsafeBufferPointer(start: timeline, count: timelineCount))
    out.timelineTruncated = timelineTruncated
    return out
}

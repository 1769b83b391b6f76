import Atomics
import Glibc
import CIOBenchShim
import IOBenchHistogram
import IOBenchPlatform
import IOBenchWorkload

/// The hot loop: keep `queueDepth` reads in flight, submit in batches, reap, timestamp
/// and record. Generic over the engine so each engine gets its own specialised copy (made
/// by `runEngineJob`, in this module); no allocation, locking or dynamic dispatch happens
/// per I/O. Clock reads: one per commit (the submit time of its whole batch) and one per
/// reaped batch. Completions are read where the engine's kernel interface put them (the
/// CQ ring, libaio's event array); latencies go into a counts buffer the job owns
/// (`JobHistogram`), turned into a `LatencyHistogram` value after the loop.
@inline(never)
func runJobLoop<E: IOEngine>(
    engine: E,
    plan: JobPlan,
    offsets: inout OffsetGenerator,
    buffers: AlignedBuffers,
    stop: ManagedAtomic<Bool>,
    progress: ManagedAtomic<UInt64>,
    deadlineOut: ManagedAtomic<UInt64>? = nil
) -> JobOutcome {
    var out = JobOutcome()
    let qd = plan.queueDepth
    let bs = Int32(plan.blockSize)
    // Everything the loop needs is allocated here, before it starts, with malloc, whose
    // failure is an error (Swift's own allocations abort the process).
    let memory = JobMemory(queueDepth: qd, timelineCapacity: max(1, plan.timelineCapacity))
    guard let memory else {
        out.failure = .runFailed("no memory for the job's slot tables (ENOMEM): \(ResourceLimits.memoryFix)")
        return out
    }
    defer { memory.free() }
    let freeSlots = memory.freeSlots
    let slots = memory.slots
    let timeline = memory.timeline
    var freeCount = qd
    var inflight = 0
    // The counts the loop records into: one buffer, or with --hist-log the collector's
    // two (it keeps the job's total).
    let intervalNs = plan.intervalNs ?? 0
    var hist: JobHistogram
    let collector: IntervalCollector?
    switch headlineCounts(plan) {
    case .success(let (h, c)): hist = h; collector = c
    case .failure(let e): out.failure = e; return out
    }
    var histIndex = 0
    defer { if collector == nil { hist.free() } }
    var recorded: UInt64 = 0
    var tally = ReadTally()
    var timelineCount = 0
    var timelineTruncated = false
    var issuing = true

    let start = plan.clock.now()
    var measuring = plan.rampNs == 0
    var measureStart = start
    let rampEnd = start &+ plan.rampNs
    var deadline = plan.runtimeNs.map { rampEnd &+ $0 } ?? UInt64.max
    deadlineOut?.store(deadline, ordering: .relaxed)
    // When the job stopped issuing with reads still in flight (0: not draining yet).
    var drainSince: UInt64 = 0
    var nextSecond = measureStart &+ 1_000_000_000
    var recordedAtLastSecond: UInt64 = 0
    var usageStart = ThreadUsage.current()
    let limit = plan.ioLimit ?? UInt64.max
    var intervalStart = measureStart
    var now = start
    let every = plan.latencyEvery
    var commits: UInt64 = 0
    var reaps: UInt64 = 0

    loop: while true {
        // Fill the queue, one commit per submit batch.
        while issuing && freeCount > 0 {
            var n = min(freeCount, plan.submitBatch)
            if measuring {
                let room = limit &- min(limit, recorded &+ tally.failedMeasured &+ UInt64(inflight))
                if room == 0 { issuing = false; break }
                if UInt64(n) > room { n = Int(room) }
            }
            var i = 0
            while i < n {
                let slot = freeSlots[freeCount &- 1 &- i]
                let offset = offsets.next()
                slots[slot].offset = offset
                slots[slot].fileOffset = offsets.lastFileOffset
                engine.prepare(slot: slot, offset: offset)
                i &+= 1
            }
            // 0 marks a read whose latency is not sampled.
            let sampled = every == 1 || (every > 1 && commits % UInt64(every) == 0)
            commits &+= 1
            let submitTime = sampled ? plan.clock.now() : 0
            i = 0
            while i < n {
                let slot = freeSlots[freeCount &- 1 &- i]
                slots[slot].submitTime = submitTime
                slots[slot].measured = measuring
                i &+= 1
            }
            freeCount &-= n
            inflight &+= n
            do {
                try engine.commit(beforeReap: freeCount == 0)
            } catch {
                out.failure = error
                issuing = false
                // What was prepared may not have reached the kernel; nothing more can be reaped safely.
                inflight = 0
                break loop
            }
        }
        if inflight == 0 { break }

        let k: Int
        do {
            k = try engine.reap(minimum: min(plan.completeBatch, inflight))
        } catch {
            out.failure = error
            break loop
        }
        // One clock read per reaped batch; with sampling, only when a sampled read
        // completed or every 8th reap (for the deadline and the timeline). A reap that
        // timed out with nothing (at most one per reapTimeoutNs) always reads it, so
        // the deadline and the drain's grace period pass on a device that has stalled.
        reaps &+= 1
        var clockRead = every == 1 || reaps & 7 == 0 || k == 0
        if clockRead { now = plan.clock.now() }
        var j = 0
        while j < k {
            let c = engine.completion(j)
            let slot = c.slot
            let res = c.result
            if res == bs {
                // Reads submitted during the ramp are not measured, even if they complete after it.
                if slots[slot].measured {
                    let t0 = slots[slot].submitTime
                    if t0 != 0 {
                        if !clockRead { now = plan.clock.now(); clockRead = true }
                        hist.record(now &- t0)
                    }
                    recorded &+= 1
                }
                if plan.verify { tally.verify(plan, buffers, slot: slot, fileOffset: slots[slot].fileOffset, &out) }
            } else if !tally.failed(res, offset: slots[slot].offset, measuring: measuring, plan, &out) {
                issuing = false
            }
            freeSlots[freeCount] = slot
            freeCount &+= 1
            j &+= 1
        }
        engine.consume(k)
        inflight &-= k
        if stop.load(ordering: .relaxed) {
            issuing = false
            out.interrupted = true
        }
        // The checks below need the time; without a clock read this round they wait for the next.
        if !clockRead { continue }

        if !issuing && inflight > 0 && tally.drainExpired(now: now, since: &drainSince, inflight: inflight, &out) { break loop }

        if measuring {
            while now >= nextSecond {
                if timelineCount < plan.timelineCapacity {
                    timeline[timelineCount] = recorded &- recordedAtLastSecond
                    timelineCount &+= 1
                } else {
                    timelineTruncated = true
                }
                recordedAtLastSecond = recorded
                nextSecond &+= 1_000_000_000
            }
            if let collector, now &- intervalStart >= intervalNs {
                // Once per interval: hand the full buffer to the collector's thread and
                // go on with the other one (already empty). Busy: keep this one.
                if let next = collector.handOff(hist, index: histIndex, start: intervalStart &- measureStart, length: now &- intervalStart) {
                    hist = next
                    histIndex = 1 &- histIndex
                    intervalStart = now
                }
            }
            if recorded &+ tally.failedMeasured >= limit { issuing = false }
        } else if now >= rampEnd {
            // Ramp over. Reads still in flight from the ramp are not measured (slotMeasured).
            measuring = true
            measureStart = now
            intervalStart = now
            nextSecond = now &+ 1_000_000_000
            usageStart = ThreadUsage.current()
            if let runtime = plan.runtimeNs { deadline = now &+ runtime; deadlineOut?.store(deadline, ordering: .relaxed) }
        }
        if now >= deadline { issuing = false }
        progress.store(recorded, ordering: .relaxed)
    }

    let end = plan.clock.now()
    out.usage = ThreadUsage.current() - usageStart
    out.elapsedNs = measuring ? end &- measureStart : 0
    out.measureStartEpochNs = wallClockNanoseconds() &- (plan.clock.now() &- measureStart)
    var counts = hist
    if let collector {
        collector.finish(last: hist, index: histIndex, start: intervalStart &- measureStart, length: end &- intervalStart)
        counts = collector.total
        out.intervals = collector.intervals
    }
    if let h = histogramValue(counts, &out) { out.histogram = h }
    out.ios = recorded
    tally.store(into: &out)
    out.timeline = Array(UnsafeBufferPointer(start: timeline, count: timelineCount))
    out.timelineTruncated = timelineTruncated
    return out
}

/// The counts a loop records its headline latency into: one buffer, or with
/// --hist-log (`plan.intervalNs`) the collector's two, handed over once per interval
/// (the collector keeps the job's total). Allocated before the loop.
func headlineCounts(_ plan: JobPlan) -> Result<(JobHistogram, IntervalCollector?), IOBenchError> {
    if let ns = plan.intervalNs, ns > 0 {
        return IntervalCollector.start(expectedIntervals: plan.timelineCapacity + 1, live: plan.live).map { ($0.first, $0) }
    }
    guard let h = JobHistogram() else {
        return .failure(.runFailed("no memory for the job's histogram (ENOMEM): \(ResourceLimits.memoryFix)"))
    }
    return .success((h, nil))
}

/// The counts as a histogram value for the outcome, its memory checked first (under
/// RLIMIT_AS a Swift allocation that fails aborts the process): nil, with the outcome's
/// failure set, when that memory cannot be had. Once per histogram, after the loop.
func histogramValue(_ counts: JobHistogram, _ out: inout JobOutcome) -> LatencyHistogram? {
    if counts.isEmpty { return LatencyHistogram.empty }
    guard var h = checkedHistogram() else {
        out.failure = .runFailed("no memory for the job's histogram (ENOMEM): \(ResourceLimits.memoryFix)")
        return nil
    }
    counts.latencyHistogram(into: &h)
    return h
}

/// Serialises checkedHistogram across jobs (once per job, never per read).
let histogramAllocation = ManagedAtomic<Bool>(false)

/// A new histogram, or nil when its memory cannot be had. Swift aborts when an
/// allocation fails, so the room is checked with malloc first; the lock keeps other jobs
/// from taking that room between the check and the allocation (under RLIMIT_AS malloc
/// maps large blocks and gives them back at once: CaseRunner.checkLimits).
@inline(never)
func checkedHistogram() -> LatencyHistogram? {
    while !histogramAllocation.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged { sched_yield() }
    defer { histogramAllocation.store(false, ordering: .releasing) }
    guard iob_can_allocate(Int(LatencyHistogram.countsBytes) + (64 << 10)) != 0 else { return nil }
    return LatencyHistogram()
}

/// What the loop knows about one slot's read in flight, in one struct so a completion
/// touches one cache line (where four tables used to take four).
struct SlotState {
    /// Submit time of the read (0: its latency is not sampled).
    var submitTime: UInt64 = 0
    /// The offset read (in the target or, for a class, in the raw device) and the file
    /// offset whose stamp it must carry.
    var offset: UInt64 = 0
    var fileOffset: UInt64 = 0
    /// Submitted in the measured phase (ramp reads are not measured).
    var measured = false
    /// Open loop: when the read was due by the arrival schedule.
    var intendedTime: UInt64 = 0
}

/// The job loop's tables, allocated with malloc before the loop (nil when memory is
/// short) and freed after it.
struct JobMemory {
    let freeSlots: UnsafeMutablePointer<Int>
    let slots: UnsafeMutablePointer<SlotState>
    let timeline: UnsafeMutablePointer<UInt64>

    init?(queueDepth qd: Int, timelineCapacity: Int) {
        let slotBytes = qd * MemoryLayout<SlotState>.stride
        guard let block = iob_malloc(slotBytes + qd * 8 + timelineCapacity * 8) else { return nil }
        slots = block.bindMemory(to: SlotState.self, capacity: qd)
        slots.initialize(repeating: SlotState(), count: qd)
        freeSlots = (block + slotBytes).bindMemory(to: Int.self, capacity: qd)
        timeline = (block + slotBytes + qd * 8).bindMemory(to: UInt64.self, capacity: timelineCapacity)
        // Every slot free, slot 0 on top of the stack.
        for i in 0 ..< qd { freeSlots[i] = qd - 1 - i }
    }

    func free() { iob_free(UnsafeMutableRawPointer(slots)) }
}

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
/// reaped batch.
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
    let submitTimes = memory.submitTimes
    let slotOffsets = memory.slotOffsets
    let slotFileOffsets = memory.slotFileOffsets
    // Whether a slot's read was submitted in the measured phase (sampled or not).
    let slotMeasured = memory.slotMeasured
    let timeline = memory.timeline
    let batch = memory.batch
    for i in 0 ..< qd { freeSlots[i] = qd - 1 - i }
    var freeCount = qd
    var inflight = 0
    // Room reserved by the caller (CaseRunner.runJob), checked again under the lock.
    guard var hist = checkedHistogram() else {
        out.failure = .runFailed("no memory for the job's histogram (ENOMEM): \(ResourceLimits.memoryFix)")
        return out
    }
    var recorded: UInt64 = 0
    var errors: UInt64 = 0
    var shortReads: UInt64 = 0
    var mismatches: UInt64 = 0
    var verified: UInt64 = 0
    // With --continue-on-error, failed reads count toward --number-ios so a failing
    // device cannot keep the job running forever.
    var failedMeasured: UInt64 = 0
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
    // Interval histograms: `hist` then holds the current interval only and is folded
    // into `total` at each boundary (O(buckets) once per interval, nothing per read).
    let intervalNs = plan.intervalNs ?? 0
    var total = LatencyHistogram.empty
    if intervalNs > 0 {
        guard let t = checkedHistogram() else {
            out.failure = .runFailed("no memory for the job's histograms (ENOMEM): \(ResourceLimits.memoryFix)")
            return out
        }
        total = t
    }
    var intervalStart = measureStart
    var intervals: [IntervalHistogram] = []
    if intervalNs > 0 { intervals.reserveCapacity(plan.timelineCapacity + 1) }
    var now = start
    let every = plan.latencyEvery
    var commits: UInt64 = 0
    var reaps: UInt64 = 0

    loop: while true {
        // Fill the queue, one commit per submit batch.
        while issuing && freeCount > 0 {
            var n = min(freeCount, plan.submitBatch)
            if measuring {
                let room = limit &- min(limit, recorded &+ failedMeasured &+ UInt64(inflight))
                if room == 0 { issuing = false; break }
                if UInt64(n) > room { n = Int(room) }
            }
            var i = 0
            while i < n {
                let slot = freeSlots[freeCount &- 1 &- i]
                let offset = offsets.next()
                slotOffsets[slot] = offset
                slotFileOffsets[slot] = offsets.lastFileOffset
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
                submitTimes[slot] = submitTime
                slotMeasured[slot] = measuring
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
            k = try engine.reap(minimum: min(plan.completeBatch, inflight), into: batch)
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
            let slot = Int(truncatingIfNeeded: batch.slots[j])
            let res = batch.results[j]
            if res == bs {
                // Reads submitted during the ramp are not measured, even if they complete after it.
                if slotMeasured[slot] {
                    let t0 = submitTimes[slot]
                    if t0 != 0 {
                        if !clockRead { now = plan.clock.now(); clockRead = true }
                        hist.record(now &- t0)
                    }
                    recorded &+= 1
                }
                if plan.verify {
                    verified &+= 1
                    let ok = plan.verifyZeros
                        ? Stamp.isZero(buffers.buffer(slot), count: plan.blockSize)
                        : Stamp.matches(buffers.buffer(slot), count: plan.blockSize, fileOffset: slotFileOffsets[slot])
                    if !ok {
                        if mismatches == 0 { out.firstMismatchOffset = slotFileOffsets[slot] }
                        mismatches &+= 1
                    }
                }
            } else {
                // Errors and short reads stop new submissions (as fio's default
                // continue_on_error=none does); in-flight reads are still drained.
                if res < 0 {
                    errors &+= 1
                    if out.firstErrno == nil {
                        out.firstErrno = -res
                        out.firstError = "read of \(plan.blockSize) bytes at offset \(slotOffsets[slot]) failed: \(Errno(-res))"
                    }
                } else {
                    shortReads &+= 1
                    if out.firstError == nil {
                        out.firstError = "short read at offset \(slotOffsets[slot]): \(res) of \(plan.blockSize) bytes (end of file or a truncated target)"
                    }
                }
                // Polled reads that the device cannot poll never succeed: stop even when
                // asked to continue, rather than spin on errors.
                if !plan.continueOnError || res == -EOPNOTSUPP { issuing = false }
                if measuring { failedMeasured &+= 1 }
            }
            freeSlots[freeCount] = slot
            freeCount &+= 1
            j &+= 1
        }
        inflight &-= k
        if stop.load(ordering: .relaxed) {
            issuing = false
            out.interrupted = true
        }
        // The checks below need the time; without a clock read this round they wait for the next.
        if !clockRead { continue }

        if !issuing && inflight > 0 {
            // Draining: a device that stopped completing reads must not keep the job
            // (and the run, and a signal) waiting forever.
            if drainSince == 0 {
                drainSince = now
            } else if now &- drainSince >= jobDrainGraceNs {
                out.abandonedReads = UInt64(inflight)
                errors &+= UInt64(inflight)
                let msg = "\(inflight) read\(inflight == 1 ? "" : "s") still in flight \((now &- drainSince) / 1_000_000_000) s after the end: the device is not completing them"
                out.failure = .runFailed(msg)
                if out.firstError == nil { out.firstError = msg }
                break loop
            }
        }

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
            if intervalNs > 0 && now &- intervalStart >= intervalNs {
                // Once per interval, never per read: a new histogram, checked first.
                guard let next = checkedHistogram() else {
                    out.failure = .runFailed("no memory for interval histogram \(intervals.count + 1) (ENOMEM; --hist-log keeps one per interval and job): use a longer --hist-interval, a shorter --runtime, or raise ulimit -v")
                    issuing = false
                    intervalStart = now
                    continue
                }
                intervals.append(IntervalHistogram(startNs: intervalStart &- measureStart, lengthNs: now &- intervalStart, histogram: hist))
                total.add(hist)
                hist = next
                intervalStart = now
            }
            if recorded &+ failedMeasured >= limit { issuing = false }
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
    if intervalNs > 0 {
        if hist.count > 0 || hist.outOfRange > 0 {
            intervals.append(IntervalHistogram(startNs: intervalStart &- measureStart, lengthNs: end &- intervalStart, histogram: hist))
        }
        total.add(hist)
        hist = total
        out.intervals = intervals
    }
    out.measureStartEpochNs = wallClockNanoseconds() &- (plan.clock.now() &- measureStart)
    out.histogram = hist
    out.ios = recorded
    out.errors = errors
    out.shortReads = shortReads
    out.verifyMismatches = mismatches
    out.verifiedReads = verified
    out.timeline = Array(UnsafeBufferPointer(start: timeline, count: timelineCount))
    out.timelineTruncated = timelineTruncated
    return out
}

/// Serialises checkedHistogram across jobs (once per job and interval, never per read).
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

/// The job loop's tables, allocated with malloc before the loop (nil when memory is
/// short) and freed after it.
struct JobMemory {
    let freeSlots: UnsafeMutablePointer<Int>
    let submitTimes: UnsafeMutablePointer<UInt64>
    let slotOffsets: UnsafeMutablePointer<UInt64>
    let slotFileOffsets: UnsafeMutablePointer<UInt64>
    let slotMeasured: UnsafeMutablePointer<Bool>
    let timeline: UnsafeMutablePointer<UInt64>
    let batch: CompletionBatch

    init?(queueDepth qd: Int, timelineCapacity: Int) {
        guard let block = iob_malloc(qd * (8 * 4 + 1 + 7) + timelineCapacity * 8) else { return nil }
        guard let batch = CompletionBatch(allocating: qd) else { iob_free(block); return nil }
        // One block: the 8-byte tables first, then the timeline, then the flags.
        freeSlots = block.bindMemory(to: Int.self, capacity: qd)
        submitTimes = (block + qd * 8).bindMemory(to: UInt64.self, capacity: qd)
        slotOffsets = (block + qd * 16).bindMemory(to: UInt64.self, capacity: qd)
        slotFileOffsets = (block + qd * 24).bindMemory(to: UInt64.self, capacity: qd)
        timeline = (block + qd * 32).bindMemory(to: UInt64.self, capacity: timelineCapacity)
        slotMeasured = (block + qd * 32 + timelineCapacity * 8).bindMemory(to: Bool.self, capacity: qd)
        slotMeasured.initialize(repeating: false, count: qd)
        self.batch = batch
    }

    func free() {
        iob_free(UnsafeMutableRawPointer(freeSlots))
        batch.free()
    }
}

import Atomics
import CIOBenchShim
import Foundation
import IOBenchWorkload
import IOBenchPlatform
import IOBenchEngines
import IOBenchHistogram

/// Runs one case: one thread per job, each with its own engine, buffers and histogram,
/// then merges what the jobs measured.
public struct CaseRunner {
    public let target: Target
    public let spec: CaseSpec
    public let stop: ManagedAtomic<Bool>
    /// The planned positions of the case's path class, if it has one.
    public let classPlan: ClassPlan?
    /// `--hist-log`: the interval length (nil: no interval histograms).
    public var intervalNs: UInt64?
    /// `--status-interval`: every job adds its finished intervals here (needs `intervalNs`).
    public var live: LiveHistogram?
    /// The clock the jobs stamp reads with (CLOCK_MONOTONIC unless a run calibrated the TSC).
    public var clock: LatencyClock = .monotonic
    /// Completed reads so far, per job, for a progress line.
    public let progress: [ManagedAtomic<UInt64>]

    public init(target: Target, spec: CaseSpec, stop: ManagedAtomic<Bool>, classPlan: ClassPlan? = nil) {
        self.target = target
        self.spec = spec
        self.stop = stop
        self.classPlan = classPlan
        self.progress = (0 ..< spec.jobs).map { _ in ManagedAtomic<UInt64>(0) }
    }

    /// Checks the case against the target: sizes and alignment.
    public static func check(_ spec: CaseSpec, against target: Target) throws(IOBenchError) {
        try spec.validate()
        let lbs = target.logicalBlockSize
        guard spec.blockSize % lbs == 0 else {
            throw .badInput("--bs \(spec.blockSize) is not a multiple of \(target.path)'s logical block size (\(lbs) bytes); use a multiple of \(lbs), e.g. --bs 4k")
        }
        guard UInt64(spec.blockSize) <= target.regionSize else {
            throw .badInput("--bs \(Units.formatSize(UInt64(spec.blockSize))) is larger than the region read (\(Units.formatSize(target.regionSize))); raise --size or lower --bs")
        }
        if spec.verify && !target.isStamped {
            throw .badInput("--verify needs a target iobench wrote (its data is stamped with offsets); \(target.path) was not written by iobench")
        }
    }

    /// Runs every job and joins all of them (tests and tools that need no progress or
    /// grace handling). A job thread that cannot be created fails the case.
    public func run() -> [JobOutcome] {
        let running: RunningCase
        do { running = try start() } catch {
            var o = JobOutcome(); o.failure = error
            return [o]
        }
        running.joinFinished(waitForAll: true)
        return running.outcomes
    }

    /// Stack of each job thread. The loop itself needs little; this leaves room for the
    /// runtime and error paths while keeping 1024 jobs within a modest address space.
    public static let jobStackBytes = 512 << 10

    /// Starts one thread per job with pthread_create, so a thread that cannot be created
    /// is an error rather than a wait for a thread that never runs. Jobs wait at a gate
    /// until every thread exists; if one cannot be created, the others are released
    /// without doing any I/O, joined, and the case fails with the limit and the fix.
    public func start() throws(IOBenchError) -> RunningCase {
        try Self.checkLimits(spec, intervalNs: intervalNs)
        let running = RunningCase(jobs: spec.jobs)
        for job in 0 ..< spec.jobs {
            let ctx = Unmanaged.passRetained(JobThreadContext(runner: self, job: job, running: running))
            var tid = pthread_t()
            let rc = iob_thread_create(&tid, Self.jobStackBytes, jobThreadMain, ctx.toOpaque())
            if rc != 0 {
                ctx.release()
                running.created = job
                running.open(.abort)
                running.joinFinished(waitForAll: true)
                throw .runFailed(Self.threadCreationMessage(job: job, of: spec.jobs, rc: rc))
            }
            running.tids[job] = tid
        }
        running.created = spec.jobs
        running.open(.go)
        return running
    }

    static func threadCreationMessage(job: Int, of jobs: Int, rc: Int32) -> String {
        // Kept under 200 characters: the stderr line of a failed case is cut there.
        var text = "cannot create job thread \(job + 1) of \(jobs): \(Errno(rc))"
        if rc == EAGAIN {
            if ResourceLimits.current(IOB_RLIMIT_AS) != nil {
                text += ": the process/thread limit (ulimit -u, RLIMIT_NPROC) or address space (ulimit -v) is exhausted; lower --numjobs or raise ulimit -u / -v"
            } else {
                text += ": the process/thread limit (ulimit -u, RLIMIT_NPROC, or pids.max) is reached; lower --numjobs or raise ulimit -u"
            }
        } else {
            text += "; lower --numjobs"
        }
        return text
    }

    /// The arithmetic of the process limits, checked before any thread starts: the
    /// threads RLIMIT_NPROC still allows this user's process, and the address space
    /// RLIMIT_AS leaves for the jobs' stacks, buffers, rings and histograms. Both are
    /// exit 3 (a system limit met at set-up) with the fix.
    public static func checkLimits(_ spec: CaseSpec, intervalNs: UInt64?) throws(IOBenchError) {
        let jobs = spec.jobs
        // Root (CAP_SYS_RESOURCE / CAP_SYS_ADMIN) is exempt from RLIMIT_NPROC.
        if geteuid() != 0, let limit = ResourceLimits.current(IOB_RLIMIT_NPROC) {
            let existing = UInt64(ResourceLimits.threadsOfThisProcess() ?? 1)
            if existing + UInt64(jobs) > limit {
                let room = limit > existing ? limit - existing : 0
                throw .runFailed("--numjobs \(jobs) needs \(jobs) threads, but the process/thread limit (ulimit -u, RLIMIT_NPROC) is \(limit) with \(existing) in use; lower --numjobs\(room > 0 ? " to \(room)" : "") or raise ulimit -u")
            }
        }
        if let limit = ResourceLimits.current(IOB_RLIMIT_AS) {
            iob_malloc_for_address_limit()
            let used = ResourceLimits.addressSpaceInUse() ?? 0
            let perJob = Self.addressSpacePerJob(spec, intervalNs: intervalNs)
            // --hist-log: the case's merged intervals (compressed) and the two histograms
            // each merge decodes.
            let merged = intervalNs == nil ? 0 : Self.intervalBytes &* Self.expectedIntervals(spec, intervalNs) &+ 2 &* LatencyHistogram.countsBytes
            let need = perJob &* UInt64(jobs) &+ merged
            if used &+ need > limit {
                let room = limit > used ? (limit - used) / perJob : 0
                throw .runFailed("\(jobs) jobs need ~\(ResourceLimits.mib(need)) of address space (\(ResourceLimits.mib(perJob)) each); the limit (ulimit -v, RLIMIT_AS) is \(ResourceLimits.mib(limit)), \(ResourceLimits.mib(used)) in use; lower --numjobs\(room > 0 ? " to \(room)" : ""), --iodepth or --bs, or raise ulimit -v")
            }
        }
    }

    /// Interval histograms a job keeps with --hist-log (one per interval of the measured
    /// time, plus the last partial one); 1 when the run is not timed.
    static func expectedIntervals(_ spec: CaseSpec, _ intervalNs: UInt64?) -> UInt64 {
        guard let iv = intervalNs, iv > 0 else { return 0 }
        guard let runtime = spec.runtimeNs else { return 1 }
        return runtime / iv + 2
    }

    /// An upper bound of one interval's compressed V2 string: a few KiB for a second of
    /// reads spread over every bucket a disk shows.
    static let intervalBytes: UInt64 = 16 << 10

    /// What one job maps, estimated from above: its stack, buffers, the engine's rings,
    /// its histograms and slot tables, and malloc's slack.
    static func addressSpacePerJob(_ spec: CaseSpec, intervalNs: UInt64?) -> UInt64 {
        let qd = UInt64(spec.queueDepth)
        let page: UInt64 = 4096
        let buffers = (qd * UInt64(spec.blockSize) + page - 1) / page * page
        let stack = UInt64(jobStackBytes) + page
        // io_uring: SQEs (64 B), SQ index (4 B) and CQEs (16 B, twice the SQ); libaio's
        // ring is smaller. Rounded to pages, plus the ring headers.
        let rings = (qd * (64 + 4 + 32) + page - 1) / page * page + 4 * page
        let slots = qd * 64
        // The loop's counts buffer (with --hist-log two and the total) and the histogram
        // value made after the loop; each interval kept compressed.
        let hist = LatencyHistogram.countsBytes * (intervalNs == nil ? 2 : 4) + intervalBytes * expectedIntervals(spec, intervalNs)
        return buffers + stack + rings + slots + hist + (256 << 10)
    }

    func runJob(_ job: Int, deadline: ManagedAtomic<UInt64>) -> JobOutcome {
        if !spec.cpus.isEmpty {
            let cpu = spec.cpus[job % spec.cpus.count]
            let rc = iob_pin_to_cpu(Int32(cpu))
            if rc != 0 {
                var o = JobOutcome()
                o.failure = .badInput("cannot pin job \(job) to CPU \(cpu): \(Errno(-rc)); pass CPUs this process may use with --cpus")
                return o
            }
        }
        // Room for the job's counts buffers (1, or 3 with --hist-log) and the histogram
        // value made from them after the loop: reserved here with malloc, which reports
        // a failure, and handed back just before the loop so they take its place.
        let reserveBytes = Int(LatencyHistogram.countsBytes) * (intervalNs != nil ? 4 : 2) + (64 << 10)
        guard let reserve = iob_malloc(reserveBytes) else {
            var o = JobOutcome()
            o.failure = .runFailed("job \(job): no memory for its histograms (ENOMEM): \(ResourceLimits.memoryFix)")
            return o
        }
        var reserveHeld = true
        defer { if reserveHeld { iob_free(reserve) } }
        // The engine allocates its buffers (most take one page-aligned buffer per slot).
        let buffers: AlignedBuffers
        do { buffers = try EngineRegistry.descriptor(for: spec.engine).makeBuffers(spec.queueDepth, spec.blockSize) } catch {
            var o = JobOutcome(); o.failure = error; return o
        }
        let raw = classPlan?.rawDevice
        let setup = EngineSetup(fd: raw?.fd ?? target.fd, blockSize: spec.blockSize, queueDepth: spec.queueDepth, buffers: buffers,
                                options: spec.options, queue: raw?.queue ?? target.queue, targetPath: raw?.path ?? target.path)
        let jobSeed = spec.seed &+ UInt64(job) &* 0x9E37_79B9
        // Sequential jobs start at evenly spread positions so they do not read the same blocks.
        var offsets: OffsetGenerator
        if let table = classPlan?.table {
            offsets = OffsetGenerator(table: table, pattern: spec.pattern, seed: jobSeed,
                                      startIndex: UInt64(table.count / spec.jobs * job))
        } else {
            let blockCount = target.regionSize / UInt64(spec.blockSize)
            offsets = OffsetGenerator(regionStart: 0, blockSize: UInt64(spec.blockSize), blockCount: blockCount,
                                      pattern: spec.pattern, seed: jobSeed,
                                      startBlock: blockCount / UInt64(spec.jobs) * UInt64(job))
        }
        let runtimeSeconds = spec.runtimeNs.map { Int($0 / 1_000_000_000) + 2 } ?? 3600
        var plan = JobPlan(blockSize: spec.blockSize, queueDepth: spec.queueDepth,
                           submitBatch: spec.options.submitBatch, completeBatch: spec.options.completeBatch,
                           runtimeNs: spec.runtimeNs, ioLimit: spec.ioLimit, rampNs: spec.rampNs,
                           verify: spec.verify, verifyZeros: spec.pathClass == .unwritten,
                           continueOnError: spec.continueOnError, latencyEvery: spec.latencySample,
                           timelineCapacity: min(runtimeSeconds, 86_400), intervalNs: intervalNs, clock: clock)
        plan.live = live
        if let rate = spec.rateIOPS {
            plan.openLoop = OpenLoopPlan(ratePerSecond: rate, process: spec.arrival, seed: jobSeed)
        }
        let release = { iob_free(reserve); reserveHeld = false }
        do {
            return try runEngineJob(spec.engine, setup: setup, plan: plan, offsets: &offsets, stop: stop,
                                    progress: progress[job], deadlineOut: deadline, engineReady: release)
        } catch {
            var o = JobOutcome(); o.failure = error; return o
        }
    }
}

/// A case's running jobs: their threads, a start gate and what each one measured, in
/// one place. Each job stores its outcome and signals `changed` when it ends, so the
/// thread that waits for the case sleeps until then (or until its own timeout, to
/// redraw progress and notice a stop or a hung device) and joins the finished threads.
///
/// `@unchecked Sendable`: `gate`, `slots` and `finished` are read and written only with
/// `mutex` held; `tids`, `created` and `joined` only by the thread that started the case.
public final class RunningCase: @unchecked Sendable {
    enum Gate { case wait, go, abort }
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// Signalled when the gate opens and when a job ends. Waits on it are timed on
    /// CLOCK_MONOTONIC, so a change of the wall clock does not stretch them.
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var gate = Gate.wait
    private var slots: [JobOutcome]
    private var finished: [Bool]
    private var finishedCount = 0
    var tids: [pthread_t]
    var created = 0
    var joined: [Bool]
    /// Each job's end of issuing (monotonic ns), once its loop knows it; 0 before.
    public let deadlines: [ManagedAtomic<UInt64>]
    /// Each job thread's kernel id (gettid), set when it starts; 0 before (`--profile`).
    public let kernelTids: [ManagedAtomic<Int32>]

    init(jobs: Int) {
        tids = [pthread_t](repeating: pthread_t(), count: jobs)
        joined = [Bool](repeating: false, count: jobs)
        slots = [JobOutcome](repeating: JobOutcome(), count: jobs)
        finished = [Bool](repeating: false, count: jobs)
        deadlines = (0 ..< jobs).map { _ in ManagedAtomic<UInt64>(0) }
        kernelTids = (0 ..< jobs).map { _ in ManagedAtomic<Int32>(0) }
        pthread_mutex_init(mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(changed, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        changed.deallocate()
        mutex.deallocate()
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    public var jobCount: Int { deadlines.count }
    public func isFinished(_ job: Int) -> Bool { locked { finished[job] } }
    public var allFinished: Bool { locked { finishedCount >= created } }
    /// What each job measured; a job still running has an empty outcome.
    public var outcomes: [JobOutcome] { locked { slots } }

    /// Opens the start gate (`.go`) or releases the jobs without any I/O (`.abort`).
    func open(_ g: Gate) {
        locked { gate = g; pthread_cond_broadcast(changed) }
    }

    /// A job thread: waits at the gate; true when it may run.
    func waitAtGate() -> Bool {
        locked {
            while gate == .wait { pthread_cond_wait(changed, mutex) }
            return gate == .go
        }
    }

    /// A job thread, at its end: stores what it measured and wakes the waiter.
    func finish(_ job: Int, _ outcome: JobOutcome?) {
        locked {
            if let outcome { slots[job] = outcome }
            finished[job] = true
            finishedCount += 1
            pthread_cond_broadcast(changed)
        }
    }

    /// Sleeps until every started job has finished or `timeoutNs` has passed; true when
    /// all have finished.
    public func waitForJobs(timeoutNs: UInt64) -> Bool {
        // The deadline on the condition's own clock.
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let nsec = UInt64(ts.tv_nsec) + min(timeoutNs, 3_600_000_000_000)
        ts.tv_sec += Int(nsec / 1_000_000_000)
        ts.tv_nsec = Int(nsec % 1_000_000_000)
        return locked {
            while finishedCount < created {
                if pthread_cond_timedwait(changed, mutex, &ts) == ETIMEDOUT { break }
            }
            return finishedCount >= created
        }
    }

    /// Joins every thread that has finished (all of them with `waitForAll`).
    func joinFinished(waitForAll: Bool = false) {
        for j in 0 ..< created where !joined[j] {
            if waitForAll || isFinished(j) { _ = iob_thread_join(tids[j]); joined[j] = true }
        }
    }

    /// Joins the finished threads and detaches the rest: a job stuck in a system call
    /// the kernel does not interrupt is left behind, ended by the process's exit.
    public func release() {
        joinFinished()
        for j in 0 ..< created where !joined[j] { _ = iob_thread_detach(tids[j]); joined[j] = true }
    }
}

final class JobThreadContext {
    let runner: CaseRunner
    let job: Int
    let running: RunningCase
    init(runner: CaseRunner, job: Int, running: RunningCase) {
        self.runner = runner
        self.job = job
        self.running = running
    }

    func run() {
        running.kernelTids[job].store(iob_gettid(), ordering: .releasing)
        let outcome = running.waitAtGate() ? runner.runJob(job, deadline: running.deadlines[job]) : nil
        running.finish(job, outcome)
    }
}

private func jobThreadMain(_ arg: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let ctx = Unmanaged<JobThreadContext>.fromOpaque(arg!).takeRetainedValue()
    ctx.run()
    return nil
}

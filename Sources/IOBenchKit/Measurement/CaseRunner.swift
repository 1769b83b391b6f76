import Atomics
import CIOBenchShim
import Foundation

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

    public func run() -> [JobOutcome] {
        let outcomes = OutcomeSlots(count: spec.jobs)
        let group = DispatchGroup()
        var threads: [Thread] = []
        for job in 0 ..< spec.jobs {
            group.enter()
            let t = Thread { [self] in
                let o = self.runJob(job)
                outcomes.set(job, o)
                group.leave()
            }
            t.stackSize = 1 << 20
            threads.append(t)
        }
        for t in threads { t.start() }
        group.wait()
        return outcomes.all
    }

    func runJob(_ job: Int) -> JobOutcome {
        if !spec.cpus.isEmpty {
            let cpu = spec.cpus[job % spec.cpus.count]
            let rc = iob_pin_to_cpu(Int32(cpu))
            if rc != 0 {
                var o = JobOutcome()
                o.failure = .badInput("cannot pin job \(job) to CPU \(cpu): \(Errno(-rc)); pass CPUs this process may use with --cpus")
                return o
            }
        }
        let buffers: AlignedBuffers
        do { buffers = try AlignedBuffers(count: spec.queueDepth, size: spec.blockSize) } catch {
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
        let plan = JobPlan(blockSize: spec.blockSize, queueDepth: spec.queueDepth,
                           submitBatch: spec.options.submitBatch, completeBatch: spec.options.completeBatch,
                           runtimeNs: spec.runtimeNs, ioLimit: spec.ioLimit, rampNs: spec.rampNs,
                           verify: spec.verify, verifyZeros: spec.pathClass == .unwritten,
                           continueOnError: spec.continueOnError, latencyEvery: spec.latencySample,
                           timelineCapacity: min(runtimeSeconds, 86_400), intervalNs: intervalNs)
        do {
            switch spec.engine {
            case .psync:
                return try drive(PsyncEngine(setup), plan, &offsets, buffers, job)
            case .pvsync2:
                return try drive(Pvsync2Engine(setup), plan, &offsets, buffers, job)
            case .libaio:
                return try drive(LibaioEngine(setup), plan, &offsets, buffers, job)
            case .ioUring:
                return try drive(IoUringEngine(setup), plan, &offsets, buffers, job)
            case .ioUringPoll:
                return try drive(IoUringPollEngine(setup), plan, &offsets, buffers, job)
            }
        } catch {
            var o = JobOutcome(); o.failure = error; return o
        }
    }

    func drive<E: IOEngine>(_ engine: E, _ plan: JobPlan, _ offsets: inout OffsetGenerator, _ buffers: AlignedBuffers, _ job: Int) -> JobOutcome {
        runJobLoop(engine: engine, plan: plan, offsets: &offsets, buffers: buffers, stop: stop, progress: progress[job])
    }
}

/// One outcome per job, written by the job's thread and read after all have joined.
final class OutcomeSlots: @unchecked Sendable {
    private var slots: [JobOutcome]
    private let lock = NSLock()
    init(count: Int) { slots = [JobOutcome](repeating: JobOutcome(), count: count) }
    func set(_ i: Int, _ o: JobOutcome) { lock.lock(); slots[i] = o; lock.unlock() }
    func setAll(_ all: [JobOutcome]) { lock.lock(); slots = all; lock.unlock() }
    var all: [JobOutcome] { lock.lock(); defer { lock.unlock() }; return slots }
}

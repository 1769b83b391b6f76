import Atomics
import Foundation
import Glibc

/// One group of cases over one target (with its class plans, if any).
public struct CaseBatch {
    public var target: Target
    public var specs: [CaseSpec]
    /// Class plans by index into `specs`.
    public var plans: [Int: ClassPlan] = [:]
    /// Cases that could not be planned, by index, with the reason.
    public var planFailures: [Int: IOBenchError] = [:]
    /// The target's label (`--target LABEL=PATH`, the lab's `ext4`): part of each case's
    /// identity when set. Nil for an unlabelled target.
    public var label: String?

    public init(target: Target, specs: [CaseSpec], plans: [Int: ClassPlan] = [:], planFailures: [Int: IOBenchError] = [:], label: String? = nil) {
        self.label = label
        self.target = target
        self.specs = specs
        self.plans = plans
        self.planFailures = planFailures
    }
}

/// Runs cases one at a time and gathers the result. Cases the machine cannot run are
/// recorded as skipped with the reason (in the default suite) or fail the run (when the
/// user asked for exactly that case).
public final class RunSession {
    public let stop: ManagedAtomic<Bool>
    public var showProgress: Bool
    /// `--status-interval` (when stderr is not a terminal): a status line this often.
    public var statusIntervalNs: UInt64?
    public var arguments: [String]
    /// An optional hook run after each case (the kernel path check uses it).
    public var afterCase: ((inout CaseResult, CaseSpec, Target, ClassPlan?) -> Void)?
    /// `--hist-log`: record one histogram per interval of this length.
    public var intervalNs: UInt64?
    /// `--clock`: the clock to stamp reads with; nil: the TSC when usable, else
    /// CLOCK_MONOTONIC. Chosen and calibrated when `run` starts.
    public var clockRequest: ClockSource?
    /// Replaces the TSC calibration (tests force a wrong rate to see the fallback).
    package var clockCalibrationOverride: TSCCalibration?
    /// Where the run's warnings go (the clock's fallback): stderr unless replaced.
    public var log: (String) -> Void = { StandardError.write($0 + "\n") }
    /// The run's clock while `run` runs.
    private var runClock: RunClock?
    /// `--profile`: sample each case's job threads at this frequency during its measured
    /// phase (nil: no profile); `profileUserFrames` keeps user frames apart.
    public var profileFrequency: UInt32?
    public var profileUserFrames = false
    private lazy var kernelSymbols = KernelSymbols.load()

    public init(arguments: [String], showProgress: Bool, stop: ManagedAtomic<Bool> = ManagedAtomic(false)) {
        self.stop = stop
        self.arguments = arguments
        self.showProgress = showProgress
    }

    /// Fails with bad input when the machine's configuration rules the engine out, so a
    /// user who asked for it learns the fix before anything runs (the engine's
    /// descriptor decides; an unknown engine name is bad input).
    public static func preflight(_ engine: EngineKind) throws(IOBenchError) {
        try EngineRegistry.descriptor(for: engine).preflight()
    }

    /// Why this process may not create io_uring rings under kernel.io_uring_disabled=1
    /// (only CAP_SYS_ADMIN and members of kernel.io_uring_group may), or nil.
    public static func ioUringRestriction() -> String? { IoUringAvailability.restriction() }

    /// CAP_SYS_ADMIN in the effective set (/proc/self/status CapEff, bit 21).
    static func hasCapSysAdmin() -> Bool { IoUringAvailability.hasCapSysAdmin() }

    /// Why this engine cannot run on this machine and target, or nil (its descriptor's
    /// check, on the raw device when the class reads one).
    public static func unsupportedReason(_ engine: EngineKind, target: Target, plan: ClassPlan?) -> String? {
        guard let d = EngineRegistry.descriptor(engine) else {
            return "unknown engine '\(engine.rawValue)'; this iobench runs \(EngineRegistry.names.joined(separator: ", "))"
        }
        if let raw = plan?.rawDevice {
            return d.unsupportedReason(queue: raw.queue, targetPath: raw.path)
        }
        return d.unsupportedReason(queue: target.queue, targetPath: target.path)
    }

    /// Runs every case of every batch. With `skipUnsupported`, a case the machine cannot
    /// run is recorded as skipped rather than attempted.
    public func run(_ batches: [CaseBatch], skipUnsupported: Bool, repeats: Int = 1) -> RunResult {
        let started = ISO8601DateFormatter().string(from: Date())
        let clock = RunClock(requested: clockRequest, calibration: clockCalibrationOverride, log: log)
        runClock = clock
        defer { runClock = nil }
        let total = batches.reduce(0) { $0 + $1.specs.count } * repeats
        var done = 0
        // Repeats run in rounds (every case once, then every case again) so that slow
        // drift of the device spreads over all cases instead of biasing one.
        var perCase: [[[CaseResult]]] = batches.map { Array(repeating: [], count: $0.specs.count) }
        rounds: for round in 0 ..< max(1, repeats) {
            for (position, (b, index)) in Self.roundOrder(batches.map(\.specs), round: round).enumerated() {
                let batch = batches[b], spec = batch.specs[index]
                done += 1
                if stop.load(ordering: .relaxed) { break rounds }
                // A case skipped or failed in its first round is not run again.
                if round > 0, let first = perCase[b][index].first, first.status != .ok { continue }
                var result = runCase(spec, index: index, in: batch, skipUnsupported: skipUnsupported, position: done, total: total)
                result.roundPosition = position
                if batches.count > 1 { result.targetPath = batch.target.path }
                if let l = batch.label, !l.isEmpty {
                    result.targetKey = l
                    result.label = "\(l): " + result.label
                }
                perCase[b][index].append(result)
            }
        }
        let results = perCase.flatMap { $0 }.filter { !$0.isEmpty }.map { reps in
            repeats > 1 && reps.count > 1 ? CaseResult.aggregate(reps) : reps[0]
        }
        guard let first = batches.first else {
            var r = RunResult(startedAt: started, environment: .current(), target: nil, arguments: arguments, cases: [])
            r.clock = clock.info
            return r
        }
        var r = RunResult(startedAt: started, environment: .current(), target: TargetInfo(first.target),
                          arguments: arguments, cases: results)
        r.clock = clock.info
        if batches.count > 1 { r.targets = batches.map { TargetInfo($0.target, key: $0.label) } }
        if repeats > 1 { r.repeatCount = repeats }
        let comparisons = ClassComparison.compute(results)
        if !comparisons.isEmpty { r.classComparisons = comparisons }
        r.interrupted = stop.load(ordering: .relaxed) || results.contains { $0.interrupted }
        return r
    }

    /// The order of one round, as (batch, case) indices. Cases are grouped by target and
    /// engine setting (everything but class and block size), so the cases a class
    /// comparison pairs run next to each other; each round rotates the targets, the groups
    /// within a target and the cases within a group by one, so that no case always runs
    /// first or last and slow drift within a round does not land on one class.
    public static func roundOrder(_ batches: [[CaseSpec]], round: Int) -> [(Int, Int)] {
        func rotated<T>(_ a: [T]) -> [T] {
            guard !a.isEmpty else { return a }
            let k = round % a.count
            return Array(a[k...] + a[..<k])
        }
        var out: [(Int, Int)] = []
        for b in rotated(Array(batches.indices)) {
            var order: [String] = []
            var groups: [String: [Int]] = [:]
            for (i, s) in batches[b].enumerated() {
                let key = s.settingID
                if groups[key] == nil { order.append(key) }
                groups[key, default: []].append(i)
            }
            for key in rotated(order) {
                for i in rotated(groups[key]!) { out.append((b, i)) }
            }
        }
        return out
    }

    func runCase(_ spec: CaseSpec, index: Int, in batch: CaseBatch, skipUnsupported: Bool, position: Int, total: Int) -> CaseResult {
        let target = batch.target
        if let failure = batch.planFailures[index] {
            var r = CaseResult(spec: spec, status: skipUnsupported ? .skipped : .failed, reason: failure.description)
            if !skipUnsupported { r.failureClass = failure.exitCode == 2 ? .badInput : .runFailed }
            return r
        }
        let plan = batch.plans[index]
        if skipUnsupported, let why = Self.unsupportedReason(spec.engine, target: target, plan: plan) {
            return CaseResult(spec: spec, status: .skipped, reason: why)
        }
        // The case's own stop: a signal (the session's stop) is passed on to it below.
        let caseStop = ManagedAtomic<Bool>(stop.load(ordering: .relaxed))
        var configured = CaseRunner(target: target, spec: spec, stop: caseStop, classPlan: plan)
        configured.intervalNs = intervalNs
        var status = statusIntervalNs.map { StatusLine(intervalNs: $0, label: batch.label.map { "\($0): \(spec.label)" } ?? spec.label,
                                                       position: position, total: total, rampNs: spec.rampNs) }
        if status != nil {
            // The running p99 comes from the jobs' interval histograms (1 s unless --hist-log sets them).
            configured.live = LiveHistogram()
            configured.intervalNs = intervalNs ?? 1_000_000_000
        }
        configured.clock = runClock?.current ?? .monotonic
        let runner = configured
        let running: RunningCase
        do { running = try runner.start() } catch {
            var r = CaseResult(spec: spec, status: .failed, reason: error.description)
            r.failureClass = error.exitCode == 2 ? .badInput : .runFailed
            return r
        }
        let caseStart = monotonicNanoseconds()
        var stopSeenAt: UInt64 = 0
        var stuck: [Int] = []
        var profiler = CaseProfiler(frequency: profileFrequency, startAt: caseStart &+ spec.rampNs)
        profiler.userFrames = profileUserFrames
        // Sleeps until the last job ends; wakes every 50 ms only to pass a stop on, give
        // up on a hung job and redraw the progress line (and, with --profile, once when
        // the ramp ends, to start sampling).
        while !running.waitForJobs(timeoutNs: profiler.nextWake(now: monotonicNanoseconds())) {
            let t = monotonicNanoseconds()
            profiler.startIfDue(now: t, running: running)
            if stopSeenAt == 0 && stop.load(ordering: .relaxed) {
                stopSeenAt = t
                caseStop.store(true, ordering: .relaxed)
            }
            // A job stuck in a system call the kernel does not interrupt (a sync read on
            // a device that stopped completing, a polled wait) is given up on: its
            // grace period plus a margin after the stop or its deadline.
            stuck = (0 ..< running.jobCount).filter { j in
                guard !running.isFinished(j) else { return false }
                let d = running.deadlines[j].load(ordering: .relaxed)
                let end = min(stopSeenAt == 0 ? UInt64.max : stopSeenAt, d == 0 ? UInt64.max : d)
                return end != UInt64.max && t > end && t - end > Self.giveUpAfterNs
            }
            if !stuck.isEmpty { break }
            // The measured phase is over (every job past its deadline or done, or a stop):
            // sampling ends, so a job that overruns is not sampled into its grace period.
            if stopSeenAt != 0 || (0 ..< running.jobCount).allSatisfy({ j in
                running.isFinished(j) || { let d = running.deadlines[j].load(ordering: .relaxed); return d != 0 && t > d }()
            }) {
                profiler.stop()
            }
            let n = runner.progress.reduce(UInt64(0)) { $0 + $1.load(ordering: .relaxed) }
            status?.printIfDue(now: t, caseStart: caseStart, reads: n, live: runner.live)
            if showProgress {
                let secs = Double(monotonicNanoseconds() - caseStart) / 1e9
                let shown = batch.label.map { "\($0): \(spec.label)" } ?? spec.label
                let line = String(format: "\r[%d/%d] %@  %.1fs  %@ reads", position, total, shown, secs, Fmt.count(Double(n)))
                StandardError.write(line.padding(toLength: 78, withPad: " ", startingAt: 0))
            }
        }
        if showProgress { StandardError.write(("\r" + String(repeating: " ", count: 78) + "\r")) }
        var all = running.outcomes
        if !stuck.isEmpty {
            let secs = Self.giveUpAfterNs / 1_000_000_000
            let names = stuck.map(String.init).joined(separator: ", ")
            let msg = "job\(stuck.count == 1 ? "" : "s") \(names) of \(spec.jobs) still inside a read \(secs) s after the end: the device is not completing it (a synchronous read cannot be interrupted); reporting the jobs that finished"
            StandardError.write("iobench: \(spec.label): \(msg)\n")
            for j in stuck {
                var o = JobOutcome()
                o.failure = .runFailed(msg)
                o.interrupted = stopSeenAt != 0
                o.abandonedReads = UInt64(spec.queueDepth)
                o.errors = UInt64(spec.queueDepth)
                all[j] = o
            }
        }
        profiler.stop()
        running.release()
        var result = CaseResult(spec: spec, outcomes: all)
        if profileFrequency != nil { profiler.report(into: &result, symbols: kernelSymbols, userFrames: profileUserFrames) }
        // Right after the jobs: the TSC's drift over everything up to this case.
        runClock?.afterCase(&result)
        result.plan = plan?.summary
        // Reads the target cannot serve with this engine at all (polled reads on a device
        // without poll queues) fail the case even with --continue-on-error.
        if let d = EngineRegistry.descriptor(spec.engine),
           let bad = all.lazy.compactMap({ o in o.firstErrno.flatMap { d.unsupportedCompletionError($0, targetPath: target.path) } }).first {
            if skipUnsupported {
                result = CaseResult(spec: spec, status: .skipped, reason: bad.reason)
            } else {
                result.status = .failed
                result.failureClass = .runFailed
                result.reason = bad.reason + "; " + bad.fix
            }
        }
        if result.status == .ok, let hook = afterCase {
            hook(&result, spec, target, plan)
        }
        return result
    }

    /// How long after a stop or its deadline the session waits for a job before it
    /// gives up on it: the job's own drain grace period, plus a margin.
    public static let giveUpAfterNs: UInt64 = jobDrainGraceNs + 2_000_000_000
}

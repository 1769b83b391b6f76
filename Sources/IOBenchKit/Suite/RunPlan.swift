import Atomics
import Foundation
import Glibc

/// A checked `RunRequest`: its cases, targets and output paths, validated before any
/// file is created or any read measured, so a mistake costs no run.
public struct RunPlan {
    public let request: RunRequest
    /// Every case of the run: each runs on every named target, unless the request lists
    /// its cases with their targets (`targetSpecs`).
    public let specs: [CaseSpec]
    /// Resolved targets with their labels (nil for a run of one target).
    public let targets: [(label: String?, path: String)]
    /// The cases of each target, in the order of `targets`.
    public let targetSpecs: [[CaseSpec]]
    let outputs: OutputGuard

    /// Everything that needs no file created: rounds, cases, targets, output paths
    /// (`--plot`'s directory is created here), block size against the device, engines
    /// the kernel refuses, tracing for `verifyPath`.
    init(_ request: RunRequest) throws(IOBenchError) {
        self.request = request
        let rounds = request.rounds
        guard rounds >= 1 && rounds <= 1000 else {
            throw .badInput("--repeat \(rounds) is invalid; use 1 to 1000 repeats")
        }
        specs = try request.specs()
        // Checked even without --hist-log: a typo is never ignored.
        guard request.outputs.histIntervalNs >= 10_000_000 else {
            throw .badInput("--hist-interval \(Units.formatDuration(request.outputs.histIntervalNs)) is too short; use 10ms or more")
        }
        targets = try RunTargets.resolve(request.targets, scratchDirectory: request.scratchDirectory)
        targetSpecs = request.specsByTarget(specs, targetCount: targets.count)
        let first = targets[0].path
        // Outputs never replace a target (nor the default suite's fragmented file), nor a
        // file that is not iobench's own without --force-overwrite: checked before anything runs.
        let count = targets.count
        var protected = targets.map { t in
            ProtectedFile(t.path, role: count == 1 ? "the target" : "the target \(t.label ?? t.path)")
        }
        if request.isDefaultSuite {
            protected.append(ProtectedFile(DefaultSuite.fragmentedPath(in: Target.parentDirectory(of: first)), role: "the default run's fragmented file"))
        }
        outputs = OutputGuard(forceOverwrite: request.forceOverwrite, protected: protected)
        // --load's cases are made after the peaks are measured; their ids (-loadP) are
        // known now, so their --hgrm files are checked with the others before the run.
        let loadSpecs = (request.loads ?? []).flatMap { load in
            specs.map { s -> CaseSpec in var t = s; t.loadPercent = load; t.arrival = request.arrival; return t }
        }
        // --load is not taken with listed cases, so its cases belong to every target.
        let perCase = zip(targets, targetSpecs).flatMap { t, specs in (specs + loadSpecs).map { (id: $0.id, label: t.label) } }
        try RunFiles.check(request.outputs, guard: outputs, cases: perCase)
        for (t, specs) in zip(targets, targetSpecs) {
            if let lbs = Target.probeLogicalBlockSize(path: t.path), let s = specs.first(where: { $0.blockSize % lbs != 0 }) {
                throw .badInput("--bs \(s.blockSize) is not a multiple of the logical block size at \(t.path) (\(lbs) bytes); use a multiple of \(lbs), e.g. --bs 4k")
            }
        }
        if request.namesEngines {
            for s in specs { try RunSession.preflight(s.engine) }
        }
        if request.clock == .tsc, request.clockCalibrationOverride == nil, let refusal = Self.clockRefusal(TSCSupport.unusableReason()) {
            throw refusal
        }
        if request.profileFrequency != nil, let why = ThreadSampler.unavailableReason() {
            throw .badInput(why.hasPrefix("--profile") ? why : "--profile: \(why)")
        }
        // Under a tight address-space limit the profile's rings, stacks and symbol table
        // would fail to allocate mid-run (which ends the process): refuse now.
        if request.profileFrequency != nil, let room = CaseProfiler.addressSpaceRoom(), room < CaseProfiler.roomNeeded {
            throw .badInput("--profile needs about \(CaseProfiler.roomNeeded >> 20) MiB of address space for its rings, stacks and the kernel's symbols; the limit (ulimit -v) leaves \(room >> 20) MiB: raise ulimit -v or drop --profile")
        }
        if request.verifyPath {
            if request.classes == nil, !request.isDefaultSuite {
                throw .badInput("--verify-path checks path classes; add --class, e.g. --class simple,single-extent:8k,multi-extent:8k")
            }
            if let why = PathTracer.unavailableReason() {
                throw .badInput("--verify-path cannot trace here: \(why)")
            }
        }
    }

    /// The error of `--clock tsc` where the TSC is unusable for `reason` (nil: usable).
    static func clockRefusal(_ reason: String?) -> IOBenchError? {
        reason.map { .badInput("--clock tsc cannot be used here: \($0); use --clock monotonic") }
    }

    /// Opens (creates when missing), checks and plans every target before anything is
    /// measured, runs every case in rounds, then writes the output files. A file that
    /// cannot be written is returned in `saveError`, with the result: what was measured
    /// is not lost. `stop` ends the run early, file creation included.
    public func run(stop: ManagedAtomic<Bool> = ManagedAtomic(false), log: @escaping (String) -> Void = { _ in }) throws -> RunOutcome {
        var batches: [CaseBatch] = []
        for (index, (t, specs)) in zip(targets, targetSpecs).enumerated() {
            var target = TargetRequest(path: t.path, size: request.regionSize(ofTarget: index))
            target.forceOverwrite = request.forceOverwrite
            let opened = try Target.open(target, log: log)
            if let other = batches.first(where: { RunTargets.sameFile($0.target, opened) }) {
                throw IOBenchError.badInput("--target \(other.target.path) and --target \(opened.path) are the same file; name each target once, e.g. --target a=PATH1 --target b=PATH2")
            }
            let (plans, _) = try ClassSuite.planClasses(specs, target: opened, skipFailures: false)
            for (i, spec) in specs.enumerated() {
                if plans[i]?.rawDevice == nil {
                    try CaseRunner.check(spec, against: opened)
                } else if spec.verify && !opened.isStamped {
                    // Raw reads are checked against the file's stamp at their file offsets.
                    throw IOBenchError.badInput("--verify needs a target iobench wrote (its data is stamped with offsets); \(opened.path) was not written by iobench")
                }
            }
            batches.append(CaseBatch(target: opened, specs: specs, plans: plans, label: t.label))
        }
        if request.isDefaultSuite {
            batches.append(try DefaultSuite.classBatch(request, scratchDirectory: Target.parentDirectory(of: targets[0].path), log: log))
        }

        let session = RunSession(arguments: request.arguments, showProgress: request.showProgress, stop: stop)
        session.statusIntervalNs = request.statusIntervalNs
        if request.verifyPath || request.isDefaultSuite {
            // One traced pass per target, planned class and block size, shared by every engine.
            session.afterCase = ClassSuite.verifyPathHook()
        }
        if request.outputs.histLog != nil { session.intervalNs = request.outputs.histIntervalNs }
        session.clockRequest = request.clock
        session.profileFrequency = request.profileFrequency
        session.profileUserFrames = request.profileUserFrames
        session.clockCalibrationOverride = request.clockCalibrationOverride
        session.log = log
        var result = session.run(batches, skipUnsupported: !request.namesEngines, repeats: request.rounds)
        if let loads = request.loads, !result.interrupted {
            // The curve: open-loop cases at each load of the peaks just measured, on the
            // named targets (not the default suite's class batch).
            var loadBatches: [CaseBatch] = []
            var unmeasured: [CaseResult] = []
            for b in batches.prefix(targets.count) {
                let peaks = result.cases.filter { targets.count == 1 || $0.targetPath == b.target.path }
                let (lb, skipped) = LoadSweep.batch(from: b, peakResults: peaks, loads: loads, arrival: request.arrival)
                loadBatches.append(lb)
                unmeasured += skipped
            }
            let loadResult = session.run(loadBatches, skipUnsupported: request.engines == nil, repeats: request.rounds)
            result = LoadSweep.combine(peak: result, load: loadResult, loadSkipped: unmeasured)
        }

        if let list = request.percentiles { result.reportPercentiles(list) }
        var saveError: Error?
        do { try RunFiles.write(result, request.outputs, guard: outputs) } catch { saveError = error }
        return RunOutcome(result: result, saveError: saveError)
    }
}

/// A finished run: its result, and the error that kept an output file from being written.
public struct RunOutcome {
    public var result: RunResult
    /// Set when an output could not be written after the run (its directory vanished).
    public var saveError: Error?
}

extension RunResult {
    /// The cases that failed.
    public var failedCases: [CaseResult] { cases.filter { $0.status == .failed } }

    /// The exit status failed cases call for: nil when none failed, 2 when every failure
    /// is one the user can fix (a limit, a refused option), else 3.
    public var failureExitCode: Int32? {
        let failed = failedCases
        if failed.isEmpty { return nil }
        return failed.allSatisfy { $0.failureClass == .badInput } ? 2 : 3
    }
}

import Atomics
import Foundation

/// A path class to run, optionally at its own block size (`--class single-extent:8k`).
public struct ClassChoice: Sendable, Equatable {
    public var pathClass: PathClass
    /// Nil: the run's block size.
    public var blockSize: Int?
    public init(_ pathClass: PathClass, blockSize: Int? = nil) {
        self.pathClass = pathClass
        self.blockSize = blockSize
    }
}

/// A case given whole (a fio job file's section) with the target it reads.
public struct ListedCase: Sendable {
    public var spec: CaseSpec
    /// Index into `RunRequest.targets`.
    public var target: Int
    public init(spec: CaseSpec, target: Int) {
        self.spec = spec
        self.target = target
    }
}

/// Files a run writes besides its report, each checked before anything is measured.
public struct RunOutputs: Sendable {
    /// The JSON result (`--output`).
    public var json: String?
    /// An HdrHistogram interval log (`--hist-log`), one histogram per `histIntervalNs`.
    public var histLog: String?
    public var histIntervalNs: UInt64 = 1_000_000_000
    /// A directory for one `.hgrm` per case (`--hgrm`); it must exist.
    public var hgrmDirectory: String?
    /// `--profile-folded`: a directory for one `.folded` per profiled case; it must exist.
    public var profileFoldedDirectory: String?
    /// A directory for the plots and report.html (`--plot`), created when missing.
    public var plotDirectory: String?
    public init() {}
}

/// What `iobench run` runs, as a value a library user can fill in: the targets, the cases
/// (engines × queue depths × classes), the timing, the rounds and the outputs. Nil means
/// "as `iobench` without that option": every engine, QD 1 and 32, no class, and the
/// default suite's shorter timing when no engine, class or target is named.
///
/// Plan it (`plan()`: every check that creates nothing), then run the plan; or `run`
/// both at once.
public struct RunRequest: Sendable {
    /// Targets as `--target` takes them: `PATH` or `LABEL=PATH`. Empty: `iobench.dat` in
    /// `scratchDirectory`.
    public var targets: [String] = []
    /// Nil: `$IOBENCH_DIR`, else the system temp directory.
    public var scratchDirectory: String?
    /// Nil: every storage engine (in the default suite also null and io_uring-nop, the
    /// tool-overhead line); those this machine cannot run are listed as skipped.
    public var engines: [EngineKind]?
    /// Nil: plain region reads, no class.
    public var classes: [ClassChoice]?
    /// Nil: each engine's default depths (1 and 32; sync engines and null 1,
    /// io_uring-nop 32). Sync engines always run at 1.
    public var queueDepths: [Int]?
    public var blockSize = 4096
    public var pattern: AccessPattern = .random
    public var jobs = 1
    public var cpus: [Int] = []
    /// Nil: the whole target; 1 GiB for a new file.
    public var regionSize: UInt64?
    /// A region size per target, by index into `targets` (a fio job file's `size=` per
    /// file); a missing or nil entry is `regionSize`.
    public var targetRegionSizes: [UInt64?] = []
    /// Cases given one by one, each on its own target (`--fio-job`), in place of the
    /// product engines × depths × classes; `verify`, `continueOnError` and
    /// `latencySample` still apply to every one.
    public var listedCases: [ListedCase]?
    /// Measured time per case (per round). Nil: 3 s, 500 ms in the default suite.
    public var runtimeNs: UInt64?
    /// Reads per job instead of a runtime.
    public var ioLimit: UInt64?
    /// Warm-up per case. Nil: 500 ms, 200 ms in the default suite.
    public var rampNs: UInt64?
    public var seed: UInt64 = 0x10BE_4C11
    public var verify = false
    /// Trace one pass per class (needs classes, or the default suite).
    public var verifyPath = false
    /// As given: options an engine does not take are refused when engines are named,
    /// and dropped per case otherwise.
    public var engineOptions = EngineOptions()
    /// Rounds. Nil: 1, `defaultSuiteRounds` in the default suite.
    public var repeats: Int?
    /// Time 1 commit in N; 0 times none.
    public var latencySample = 1
    public var continueOnError = false
    /// `--rate-iops`: one open-loop case per rate (per job), after the depth and class.
    public var rates: [Double]?
    public var arrival: ArrivalProcess = .uniform
    /// `--load`: percentages of each case's closed-loop peak, one open-loop case each.
    public var loads: [Double]?
    /// `--profile`: sample the job threads at this frequency (nil: no profile).
    public var profileFrequency: UInt32?
    public var profileUserFrames = false
    /// Replace a foreign target, and output files that are not iobench's own.
    public var forceOverwrite = false
    public var outputs = RunOutputs()
    public var showProgress = false
    /// `--status-interval`: a status line on stderr this often (nil: none, or stderr is a
    /// terminal, where the progress line shows).
    public var statusIntervalNs: UInt64?
    /// `--percentiles`: the list every latency summary reports (nil: the standard 13).
    public var percentiles: [Double]?
    /// `--clock`: the clock that stamps each read. Nil: the TSC when usable (x86_64 with
    /// constant_tsc and nonstop_tsc), else CLOCK_MONOTONIC with the reason recorded. An
    /// explicit `.tsc` where it is not usable is refused by `plan()`.
    public var clock: ClockSource?
    /// Replaces the TSC calibration (tests force a wrong rate to see the fallback).
    package var clockCalibrationOverride: TSCCalibration?
    /// The command line recorded in the result.
    public var arguments: [String] = []

    public init() {}

    /// Rounds of the default suite: paired class Δs need rounds.
    public static let defaultSuiteRounds = 3

    /// No engine, class or target named: compare the engines on the scratch file, then
    /// the path classes on a fragmented scratch file.
    public var isDefaultSuite: Bool { engines == nil && classes == nil && targets.isEmpty && listedCases == nil }

    /// The user named the engines (with --engine, or case by case): one the machine
    /// cannot run fails the run instead of being skipped.
    public var namesEngines: Bool { engines != nil || listedCases != nil }

    /// The region to read on target `index`.
    public func regionSize(ofTarget index: Int) -> UInt64? {
        index < targetRegionSizes.count ? targetRegionSizes[index] ?? regionSize : regionSize
    }

    /// The cases of each of `targetCount` targets, from `specs()`: all of them on every
    /// target, or each listed case on its own.
    func specsByTarget(_ specs: [CaseSpec], targetCount: Int) -> [[CaseSpec]] {
        guard let listedCases else { return Array(repeating: specs, count: targetCount) }
        return (0 ..< targetCount).map { t in zip(listedCases, specs).filter { $0.0.target == t }.map(\.1) }
    }

    public var rounds: Int { repeats ?? (isDefaultSuite ? Self.defaultSuiteRounds : 1) }

    public var effectiveRuntimeNs: UInt64 { runtimeNs ?? (isDefaultSuite ? 500_000_000 : 3_000_000_000) }
    public var effectiveRampNs: UInt64 { rampNs ?? (isDefaultSuite ? 200_000_000 : 500_000_000) }

    /// The scratch directory when none is given: `$IOBENCH_DIR`, else the system temp directory.
    public static var defaultScratchDirectory: String {
        ProcessInfo.processInfo.environment["IOBENCH_DIR"] ?? NSTemporaryDirectory()
    }

    /// Checks everything that needs no file created and nothing measured.
    public func plan() throws(IOBenchError) -> RunPlan { try RunPlan(self) }

    /// Plans and runs. `stop` ends the run early (the result holds what was measured).
    public func run(stop: ManagedAtomic<Bool> = ManagedAtomic(false), log: @escaping (String) -> Void = { _ in }) throws -> RunOutcome {
        try plan().run(stop: stop, log: log)
    }

    // MARK: cases

    /// A spec with the run's shared settings (jobs, CPUs, seed, timing, verify).
    func baseSpec(engine e: EngineKind, queueDepth: Int, blockSize: Int) -> CaseSpec {
        var s = CaseSpec(engine: e)
        s.queueDepth = queueDepth
        s.blockSize = blockSize
        s.jobs = jobs
        s.seed = seed
        s.rampNs = effectiveRampNs
        s.runtimeNs = ioLimit == nil ? effectiveRuntimeNs : nil
        s.ioLimit = ioLimit
        s.verify = verify
        s.continueOnError = continueOnError
        s.latencySample = latencySample
        s.cpus = cpus
        s.pattern = pattern
        return s
    }

    /// The engines of the run: those named, else the storage engines, and in the default
    /// suite also the engines that measure iobench itself (null, io_uring-nop: the
    /// tool-overhead line), unless --verify asks for data they do not read.
    public var effectiveEngines: [EngineKind] {
        if let engines { return engines.reduce(into: []) { if !$0.contains($1) { $0.append($1) } } }
        if isDefaultSuite && !verify { return EngineKind.allCases }
        return EngineRegistry.storageEngines
    }

    /// Every case of the named targets: engine × queue depth × class, in that order.
    /// Queue depths: those given (1 for a sync engine), else each engine's default
    /// depths. Options an engine does not take are dropped for it, and refused when
    /// none of the named engines takes them.
    public func specs() throws(IOBenchError) -> [CaseSpec] {
        guard latencySample >= 0 && latencySample <= 1_000_000 else {
            throw .badInput("--latency-sample \(latencySample) is invalid; use 1 (every read), N up to 1000000 (1 commit in N), or --no-latency")
        }
        if let listedCases { return try listedSpecs(listedCases) }
        if let loads {
            guard rates == nil else {
                throw .badInput("--load and --rate-iops both set the open loop's rate; use one (--load takes percentages of the peak measured first)")
            }
            for l in loads where !(l > 0 && l <= 200) {
                throw .badInput("--load \(CaseSpec.formatRate(l))% is out of range; use percentages of the peak above 0 and up to 200, e.g. --load 10%,50%,90%")
            }
            guard latencySample == 1 else {
                throw .badInput("--load times every read from its intended start; drop --latency-sample and --no-latency")
            }
        }
        var descriptors: [EngineDescriptor] = []
        for e in effectiveEngines { descriptors.append(try EngineRegistry.descriptor(for: e)) }
        var depths: [Int]?
        if let queueDepths {
            for v in queueDepths where v < 1 {
                throw .badInput("--iodepth \(v) is invalid; the queue depth must be at least 1")
            }
            depths = queueDepths.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
        }
        guard blockSize > 0, blockSize <= 64 << 20 else {
            throw .badInput("--bs \(blockSize < 0 ? String(blockSize) : Units.formatSize(UInt64(blockSize))) is out of range; use 512 bytes to 64m")
        }
        let options = engineOptions
        let rates: [Double?]? = self.rates.map { $0.reduce(into: []) { if !$0.contains($1) { $0.append($1) } } }
        let classes: [ClassChoice?] = self.classes ?? [nil]
        var specs: [CaseSpec] = []
        for d in descriptors {
            let engineDepths = d.isSynchronous ? [1] : depths ?? d.defaultDepths
            for qd in engineDepths {
                for choice in classes {
                    var s = baseSpec(engine: d.kind, queueDepth: qd, blockSize: choice?.blockSize ?? blockSize)
                    s.pathClass = choice?.pathClass
                    var o = options
                    for key in EngineOptionKey.allCases where !d.options.contains(key) { key.reset(in: &o) }
                    // Batches never exceed the queue (a QD1 case in a QD1,32 sweep).
                    o.submitBatch = min(o.submitBatch, qd)
                    o.completeBatch = min(o.completeBatch, qd)
                    s.options = o
                    for rate in rates ?? [nil] {
                        s.rateIOPS = rate
                        s.arrival = arrival
                        try s.validate()
                        specs.append(s)
                    }
                }
            }
        }
        // Options the user named for engines that do not take them are a mistake to report.
        if self.engines != nil, let refusal = EngineOptionKey.refusal(options, engines: descriptors, fix: { e, _ in "add --engine \(e.rawValue)" }) {
            throw .badInput(refusal)
        }
        if let queueDepths, self.engines != nil, descriptors.allSatisfy(\.isSynchronous), depths != [1] {
            let names = descriptors.map(\.kind.rawValue).joined(separator: ",")
            throw .badInput("--iodepth \(queueDepths.map(String.init).joined(separator: ",")) with \(names): sync engines keep one read in flight; use --iodepth 1, or an async engine (libaio, io_uring)")
        }
        return specs
    }

    /// The listed cases with the run's own settings (verify, errors, latency sampling).
    private func listedSpecs(_ listed: [ListedCase]) throws(IOBenchError) -> [CaseSpec] {
        guard loads == nil, rates == nil, classes == nil, engines == nil else {
            throw .badInput("cases given one by one take no --engine, --class, --rate-iops or --load")
        }
        var specs: [CaseSpec] = []
        for c in listed {
            guard c.target >= 0 && c.target < max(1, targets.count) else {
                throw .badInput("a listed case names target \(c.target + 1) of \(targets.count)")
            }
            var s = c.spec
            s.verify = verify
            s.continueOnError = continueOnError
            s.latencySample = latencySample
            try s.validate()
            specs.append(s)
        }
        return specs
    }
}

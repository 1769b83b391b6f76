import Atomics
import IOBenchPlatform
import IOBenchWorkload

/// An engine's name, as users type it and as results store it (a plain JSON string).
/// The well-known names are declared beside their engines (`EngineKind.psync` in
/// PsyncEngine.swift); any other string decodes too (a result from a newer iobench), but
/// only a name in `EngineRegistry` runs.
public struct EngineKind: RawRepresentable, Codable, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    /// The registered engines, in registry order.
    public static var allCases: [EngineKind] { EngineRegistry.all.map(\.kind) }
    public var description: String { rawValue }
    /// The engine's descriptor; nil for a name no engine has.
    public var descriptor: EngineDescriptor? { EngineRegistry.descriptor(self) }
    /// Sync engines have one I/O in flight per job.
    public var isSynchronous: Bool { descriptor?.isSynchronous ?? false }
    public var usesIoUring: Bool { descriptor?.needsIoUring ?? false }
}

/// The options an engine may accept, each with its flag, help and case-id suffix. The
/// order of the cases is the order of the suffixes in a case id.
public enum EngineOptionKey: String, CaseIterable, Sendable {
    case fixedBuffers, registeredFiles, sqpoll, hipri, submitBatch, completeBatch, plainRing

    /// The long flag without its dashes.
    public var flagName: String {
        switch self {
        case .fixedBuffers: "fixed-buffers"
        case .registeredFiles: "registered-files"
        case .sqpoll: "sqpoll"
        case .hipri: "hipri"
        case .submitBatch: "submit-batch"
        case .completeBatch: "complete-batch"
        case .plainRing: "plain-ring"
        }
    }

    public var flag: String { "--" + flagName }

    /// What the option does, without the engines it applies to.
    public var help: String {
        switch self {
        case .fixedBuffers: "register the buffers and use READ_FIXED."
        case .registeredFiles: "register the target as a fixed file."
        case .sqpoll: "let a kernel thread poll the submission queue (SQPOLL)."
        case .hipri: "set RWF_HIPRI (polled sync reads)."
        case .submitBatch: "reads prepared per submit call (fio's iodepth_batch_submit)."
        case .completeBatch: "completions to wait for before reaping (fio's iodepth_batch_complete_min); all that are ready are reaped."
        case .plainRing: "create rings without COOP_TASKRUN, SINGLE_ISSUER and DEFER_TASKRUN (the kernel's default completion handling), to see what they change."
        }
    }

    /// A note added to the refusal of the option (what the user may have meant).
    var refusalNote: String {
        self == .hipri ? " (io_uring-poll is the async polled engine)" : ""
    }

    /// The option's part of a case id, or nil when it has its default value.
    public func idSuffix(_ o: EngineOptions) -> String? {
        switch self {
        case .fixedBuffers: o.fixedBuffers ? "fixedbufs" : nil
        case .registeredFiles: o.registeredFiles ? "regfiles" : nil
        case .sqpoll: o.sqpoll ? "sqpoll" : nil
        case .hipri: o.hipri ? "hipri" : nil
        case .submitBatch: o.submitBatch != 1 ? "sb\(o.submitBatch)" : nil
        case .completeBatch: o.completeBatch != 1 ? "cb\(o.completeBatch)" : nil
        case .plainRing: o.plainRing ? "plainring" : nil
        }
    }

    /// Whether `o` sets the option away from its default.
    public func isSet(in o: EngineOptions) -> Bool { idSuffix(o) != nil }

    /// Puts the option back to its default.
    public func reset(in o: inout EngineOptions) {
        switch self {
        case .fixedBuffers: o.fixedBuffers = false
        case .registeredFiles: o.registeredFiles = false
        case .sqpoll: o.sqpoll = false
        case .hipri: o.hipri = false
        case .submitBatch: o.submitBatch = 1
        case .completeBatch: o.completeBatch = 1
        case .plainRing: o.plainRing = false
        }
    }

    /// The registered engines that take the option.
    public var engines: [EngineKind] { EngineRegistry.all.filter { $0.options.contains(self) }.map(\.kind) }

    /// Who the option is for, in words: "io_uring engines" when every engine taking it is
    /// an io_uring engine, else their names.
    public var appliesTo: String {
        let takers = EngineRegistry.all.filter { $0.options.contains(self) }
        if takers.count > 1 && takers.allSatisfy(\.needsIoUring) { return "io_uring engines" }
        return EngineRegistry.list(takers.map(\.kind.rawValue))
    }

    /// The help line of the CLI flag: the engines that take it, then what it does.
    public var helpLine: String { "\(EngineRegistry.list(engines.map(\.rawValue))): \(help)" }

    /// The refusal of `keys` (all applying to the same engines) when no engine in the run
    /// takes them. `fix(engine, pronoun)` says what to do: "add --engine io_uring", "drop
    /// them or use --engine io_uring".
    package static func refusal(_ keys: [EngineOptionKey], fix: (EngineKind, String) -> String) -> String {
        let flags = EngineRegistry.list(keys.map(\.flag))
        let verb = keys.count == 1 ? "applies" : "apply"
        let pronoun = keys.count == 1 ? "it" : "them"
        let suggested = keys[0].engines.first.map { fix($0, pronoun) } ?? "drop \(pronoun)"
        return "\(flags) \(verb) to \(keys[0].appliesTo) only; \(suggested)\(keys[0].refusalNote)"
    }

    /// One refusal per group of set options no engine of `engines` takes, grouped by the
    /// engines that would, in option order; nil when every set option is taken.
    package static func refusal(_ o: EngineOptions, engines: [EngineDescriptor], fix: (EngineKind, String) -> String) -> String? {
        let missing = allCases.filter { k in k.isSet(in: o) && !engines.contains { $0.options.contains(k) } }
        guard let first = missing.first else { return nil }
        let group = missing.filter { $0.engines == first.engines }
        return refusal(group, fix: fix)
    }
}

/// Everything iobench knows about one engine, declared at the end of the engine's own
/// file and listed once in `EngineRegistry.all`: its name and summary, the options it
/// takes, its queue limits, what it needs from the machine and the target, its place in
/// the suites, its buffers, and how to build it and run the job loop with it.
public struct EngineDescriptor: Sendable {
    /// Builds the engine from the set-up and runs the job loop with it. Written in the
    /// engine's file with the concrete type, so the loop is specialised per engine in
    /// this module; called once per job.
    public typealias Run = @Sendable (
        _ setup: EngineSetup, _ plan: JobPlan, _ offsets: inout OffsetGenerator, _ stop: ManagedAtomic<Bool>,
        _ progress: ManagedAtomic<UInt64>, _ deadlineOut: ManagedAtomic<UInt64>?, _ engineReady: () -> Void
    ) throws(IOBenchError) -> JobOutcome

    /// Allocates the job's I/O buffers: `count` (the queue depth) of `size` bytes.
    public typealias MakeBuffers = @Sendable (_ count: Int, _ size: Int) throws(IOBenchError) -> AlignedBuffers

    public let kind: EngineKind
    /// One line for --help.
    public let summary: String
    /// The options it takes; the others are dropped for it, or refused when it alone is named.
    public let options: Set<EngineOptionKey>
    /// One I/O in flight per job.
    public let isSynchronous: Bool
    /// The deepest queue it takes, with the reason for the limit (for the refusal).
    public let maxQueueDepth: Int
    public let queueDepthLimit: String
    /// Needs io_uring: checked before the run (kernel.io_uring_disabled, io_uring_group).
    public let needsIoUring: Bool
    /// Reads storage. False for the engines that measure iobench itself (null,
    /// io_uring-nop): they are left out of runs that name no engine except the default
    /// suite, take no --verify or --class, and are reported as the tool's overhead.
    public let measuresStorage: Bool
    /// Queue depths when the run names none (each is one case).
    public let defaultDepths: [Int]
    /// Queue depth in the path-class suite (the default run's class half, the lab); nil
    /// when the engine is not part of it.
    public let classSuiteDepth: Int?
    /// Why the engine cannot read this target (beyond io_uring's availability), or nil.
    let targetCheck: @Sendable (_ queue: BlockQueueInfo?, _ targetPath: String) -> String?
    /// A completion error that means the target cannot serve this engine at all (not a
    /// failing device): the reason, and the fix for a run that asked for the engine.
    let unsupportedCompletion: (@Sendable (_ errno: Int32, _ targetPath: String) -> (reason: String, fix: String)?)?
    public let makeBuffers: MakeBuffers
    public let run: Run

    /// The I/O buffers most engines use: `count` page-aligned buffers of `size` bytes.
    public static let alignedBuffers: MakeBuffers = { count, size throws(IOBenchError) in
        try AlignedBuffers(count: count, size: size)
    }

    public init(kind: EngineKind, summary: String, options: Set<EngineOptionKey>, isSynchronous: Bool = false,
                maxQueueDepth: Int = 65536, queueDepthLimit: String = "the limit of 65536",
                needsIoUring: Bool = false, measuresStorage: Bool = true,
                defaultDepths: [Int], classSuiteDepth: Int?,
                targetCheck: @escaping @Sendable (_ queue: BlockQueueInfo?, _ targetPath: String) -> String? = { _, _ in nil },
                unsupportedCompletion: (@Sendable (_ errno: Int32, _ targetPath: String) -> (reason: String, fix: String)?)? = nil,
                makeBuffers: @escaping MakeBuffers = EngineDescriptor.alignedBuffers,
                run: @escaping Run) {
        self.kind = kind
        self.summary = summary
        self.options = options
        self.isSynchronous = isSynchronous
        self.maxQueueDepth = isSynchronous ? 1 : maxQueueDepth
        self.queueDepthLimit = queueDepthLimit
        self.needsIoUring = needsIoUring
        self.measuresStorage = measuresStorage
        self.defaultDepths = isSynchronous ? [1] : defaultDepths
        self.classSuiteDepth = classSuiteDepth
        self.targetCheck = targetCheck
        self.unsupportedCompletion = unsupportedCompletion
        self.makeBuffers = makeBuffers
        self.run = run
    }

    /// Fails with bad input when the machine's configuration rules the engine out, so a
    /// user who asked for it learns the fix before anything runs.
    public func preflight() throws(IOBenchError) {
        if needsIoUring { try IoUringAvailability.preflight() }
    }

    /// Why the engine cannot run on this machine and target, or nil.
    public func unsupportedReason(queue: BlockQueueInfo?, targetPath: String) -> String? {
        if needsIoUring, let why = IoUringAvailability.unavailableReason() { return why }
        return targetCheck(queue, targetPath)
    }

    /// What a completion error `errno` says about the target, when it rules the engine
    /// out there (polled reads on a device without poll queues), else nil.
    public func unsupportedCompletionError(_ errno: Int32, targetPath: String) -> (reason: String, fix: String)? {
        unsupportedCompletion?(errno, targetPath)
    }
}

import Foundation
import IOBenchWorkload
import IOBenchMeasurement
import IOBenchHistogram
import IOBenchPlatform
import IOBenchEngines

/// The JSON result of a run: schema `iobench/result`, version 1, documented in
/// docs/json-schema.md. Fields may be added within a version; the meaning of an
/// existing field never changes without a new version.
public struct RunResult: Codable, Sendable {
    public static let schemaName = "iobench/result"
    public static let currentSchemaVersion = 1

    public var schema = RunResult.schemaName
    public var schemaVersion = RunResult.currentSchemaVersion
    public var tool = ToolInfo()
    public var startedAt: String
    public var interrupted = false
    public var environment: EnvironmentInfo
    /// The (first) target read. Nil only for a run that had no target.
    public var target: TargetInfo?
    /// Every target, when the run read more than one (the default suite reads the scratch
    /// file and a fragmented one); each case then names its own in `target_path`.
    public var targets: [TargetInfo]?
    /// The command line as given.
    public var arguments: [String]
    public var cases: [CaseResult]
    /// `--repeat N`: repetitions of every case, run in rounds (all cases once, then again).
    public var repeatCount: Int?
    /// `iobench merge`: the results merged into this one, with their hosts.
    public var mergedFrom: [MergeSource]?
    /// Every classed case against its like-for-like reference, paired by round with a
    /// 95% t interval (see `ClassComparison`). Reports recompute it from the cases.
    public var classComparisons: [ClassComparison]?
    /// `iobench lab`: the filesystems it built, its phase times and its cleanup check.
    public var lab: LabInfo?
    /// The clock that stamped the reads (absent in results written before it existed,
    /// and in merged results).
    public var clock: ClockInfo?
    /// `--percentiles`: the list every latency summary reports (nil: the standard 13).
    public var percentiles: [Double]?

    public init(startedAt: String, environment: EnvironmentInfo, target: TargetInfo?, arguments: [String], cases: [CaseResult]) {
        self.startedAt = startedAt
        self.environment = environment
        self.target = target
        self.arguments = arguments
        self.cases = cases
    }

    enum CodingKeys: String, CodingKey {
        case schema, tool, interrupted, environment, target, targets, arguments, cases, lab, clock, percentiles
        case repeatCount = "repeat_count"
        case mergedFrom = "merged_from"
        case classComparisons = "class_comparisons"
        case schemaVersion = "schema_version"
        case startedAt = "started_at"
    }
}

public struct ToolInfo: Codable, Sendable {
    public var name = "iobench"
    public var version = IOBenchVersion.string
    /// The git commit of the build, absent when the build did not record it.
    public var commit = IOBenchVersion.commit
    /// The build date (YYYY-MM-DD, UTC), absent when the build did not record it.
    public var buildDate = IOBenchVersion.buildDate

    enum CodingKeys: String, CodingKey {
        case name, version, commit
        case buildDate = "build_date"
    }
}

public enum IOBenchVersion {
    public static let string = "0.1.0"
    public static let commit: String? = BuildInfo.commit
    public static let buildDate: String? = BuildInfo.date

    /// What `--version` prints: `0.1.0 (commit 1a2b3c4d5e6f, built 2026-12-02)`, or the bare
    /// version when the build recorded neither.
    public static var long: String {
        let parts = [commit.map { "commit \($0)" }, buildDate.map { "built \($0)" }].compactMap { $0 }
        return parts.isEmpty ? string : string + " (" + parts.joined(separator: ", ") + ")"
    }
}

public struct EnvironmentInfo: Codable, Sendable {
    public var kernel: String
    public var hostname: String
    public var cpuModel: String?
    public var onlineCPUs: Int

    public init(kernel: String, hostname: String, cpuModel: String? = nil, onlineCPUs: Int) {
        self.kernel = kernel
        self.hostname = hostname
        self.cpuModel = cpuModel
        self.onlineCPUs = onlineCPUs
    }

    public static func current() -> EnvironmentInfo {
        EnvironmentInfo(kernel: StorageInfo.kernelRelease(), hostname: StorageInfo.hostname(),
                        cpuModel: StorageInfo.cpuModel(), onlineCPUs: ProcessInfo.processInfo.activeProcessorCount)
    }

    enum CodingKeys: String, CodingKey {
        case kernel, hostname
        case cpuModel = "cpu_model"
        case onlineCPUs = "online_cpus"
    }
}

public struct TargetInfo: Codable, Sendable {
    public var path: String
    public var kind: Target.Kind
    public var capacityBytes: UInt64
    public var regionBytes: UInt64
    public var filesystem: String?
    public var mountPoint: String?
    public var logicalBlockSize: Int
    /// True when the data is iobench's stamp (contents verifiable).
    public var stamped: Bool
    public var createdByThisRun: Bool
    public var queue: BlockQueueInfo?
    /// The target's label in a run of several labelled targets (see `CaseResult.targetKey`).
    public var key: String?

    public init(_ t: Target, key: String? = nil) {
        self.key = key
        path = t.path; kind = t.kind; capacityBytes = t.capacity; regionBytes = t.regionSize
        filesystem = t.filesystemType; mountPoint = t.mountPoint; logicalBlockSize = t.logicalBlockSize
        stamped = t.isStamped; createdByThisRun = t.createdNow; queue = t.queue
    }

    enum CodingKeys: String, CodingKey {
        case path, kind, filesystem, stamped, queue, key
        case capacityBytes = "capacity_bytes"
        case regionBytes = "region_bytes"
        case mountPoint = "mount_point"
        case logicalBlockSize = "logical_block_size"
        case createdByThisRun = "created_by_this_run"
    }
}

public struct PercentileValue: Codable, Sendable, Equatable {
    public var percentile: Double
    public var valueNs: UInt64

    public init(percentile: Double, valueNs: UInt64) {
        self.percentile = percentile
        self.valueNs = valueNs
    }
    enum CodingKeys: String, CodingKey {
        case percentile
        case valueNs = "value_ns"
    }
}

public struct LatencySummary: Codable, Sendable {
    public var count: UInt64
    public var minNs: UInt64
    public var maxNs: UInt64
    /// The mean, exactly the sum over the count (also after merging repeats or files).
    public var meanNs: Double
    /// The exact sum of every recorded latency (within the histogram's range): merged
    /// results add these integers, so their mean stays exact. Absent in files written
    /// before it existed; readers then rebuild it from mean × count.
    public var sumNs: UInt64?
    public var stddevNs: Double
    /// Latencies above the histogram's range (60 s): counted, not in the percentiles.
    public var outOfRange: UInt64
    public var percentiles: [PercentileValue]

    public static let reportedPercentiles: [Double] = [1, 5, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 99.999]

    public init(_ h: LatencyHistogram) {
        count = h.count
        minNs = h.min
        maxNs = h.max
        meanNs = h.mean
        sumNs = h.sum
        stddevNs = h.count == 0 ? 0 : h.histogram.stdDeviation
        outOfRange = h.outOfRange
        percentiles = Self.reportedPercentiles.map { PercentileValue(percentile: $0, valueNs: h.value(atPercentile: $0)) }
        clampPercentiles()
    }

    /// No percentile above the exact maximum (nor below the exact minimum): a decoded
    /// histogram knows each read only as its bucket, whose upper edge may pass the max.
    mutating func clampPercentiles() {
        guard count > 0 else { return }
        percentiles = percentiles.map { PercentileValue(percentile: $0.percentile, valueNs: Swift.max(Swift.min($0.valueNs, maxNs), Swift.min(minNs, maxNs))) }
    }

    /// The exact mean: sum_ns / count when the sum is known.
    public var exactMeanNs: Double {
        if let s = sumNs, count > 0 { return Double(s) / Double(count) }
        return meanNs
    }

    public func value(at p: Double) -> UInt64? { percentiles.first { $0.percentile == p }?.valueNs }

    enum CodingKeys: String, CodingKey {
        case count, percentiles
        case minNs = "min_ns"
        case maxNs = "max_ns"
        case meanNs = "mean_ns"
        case stddevNs = "stddev_ns"
        case sumNs = "sum_ns"
        case outOfRange = "out_of_range"
    }
}

public struct CPUSummary: Codable, Sendable {
    public var userNs: UInt64
    public var systemNs: UInt64
    /// (user + system) CPU time of the job threads divided by measured reads.
    public var perIONs: Double
    public var userPerIONs: Double
    public var systemPerIONs: Double
    public var voluntarySwitches: UInt64
    public var involuntarySwitches: UInt64

    init(_ u: ThreadUsage, ios: UInt64) {
        userNs = u.userNs; systemNs = u.systemNs
        let n = Double(max(ios, 1))
        perIONs = (Double(u.userNs) + Double(u.systemNs)) / n
        userPerIONs = Double(u.userNs) / n
        systemPerIONs = Double(u.systemNs) / n
        voluntarySwitches = u.voluntarySwitches
        involuntarySwitches = u.involuntarySwitches
    }

    enum CodingKeys: String, CodingKey {
        case userNs = "user_ns"
        case systemNs = "system_ns"
        case perIONs = "per_io_ns"
        case userPerIONs = "user_per_io_ns"
        case systemPerIONs = "system_per_io_ns"
        case voluntarySwitches = "voluntary_switches"
        case involuntarySwitches = "involuntary_switches"
    }
}

public struct ErrorSummary: Codable, Sendable {
    public var ioErrors: UInt64 = 0
    public var shortReads: UInt64 = 0
    public var firstError: String?
    public var verifiedReads: UInt64 = 0
    public var verifyMismatches: UInt64 = 0
    public var firstMismatchOffset: UInt64?

    enum CodingKeys: String, CodingKey {
        case ioErrors = "io_errors"
        case shortReads = "short_reads"
        case firstError = "first_error"
        case verifiedReads = "verified_reads"
        case verifyMismatches = "verify_mismatches"
        case firstMismatchOffset = "first_mismatch_offset"
    }
}

public struct JobSummary: Codable, Sendable {
    public var job: Int
    public var ios: UInt64
    public var elapsedNs: UInt64
    public var iops: Double
    public var cpu: CPUSummary
    public var errors: ErrorSummary

    enum CodingKeys: String, CodingKey {
        case job, ios, iops, cpu, errors
        case elapsedNs = "elapsed_ns"
    }
}

public struct CaseResult: Codable, Sendable {
    public enum Status: String, Codable, Sendable {
        /// Ran and every read succeeded.
        case ok
        /// Ran, or tried to, and failed: see `reason` and `errors`.
        case failed
        /// Not run on this machine; `reason` says why.
        case skipped
    }

    /// Who can fix a failure: the user (bad input: a limit, a refused option) or nobody
    /// short of another machine or device (the run failed).
    public enum FailureClass: String, Codable, Sendable {
        case badInput = "bad_input"
        case runFailed = "run_failed"
    }

    public var id: String
    public var label: String
    public var status: Status
    public var reason: String?
    public var failureClass: FailureClass?
    public var config: CaseSpec
    public var ios: UInt64 = 0
    /// The longest job's measured time.
    public var elapsedNs: UInt64 = 0
    /// Sum over jobs of each job's reads per second.
    public var iops: Double = 0
    public var bytesPerSecond: Double = 0
    public var latency: LatencySummary?
    public var cpu: CPUSummary?
    public var errors = ErrorSummary()
    /// Completed reads in each whole second of the measured phase, summed over jobs
    /// (the last, partial second is not included).
    public var timelineIOPS: [UInt64] = []
    /// True when the run outlasted the timeline's capacity and later seconds are missing.
    public var timelineTruncated = false
    public var histogram: HistogramEncoding?
    public var jobs: [JobSummary] = []
    public var interrupted = false
    /// The class plan: positions, what they promise (present when the case has a class).
    public var plan: PlanSummary?
    /// The file or device this case read, when the run read more than one target.
    public var targetPath: String?
    /// The short label of this case's target (`--target LABEL=PATH`, the lab's `ext4`,
    /// `xfs`), when the run read several labelled targets. A case is identified by its id
    /// and this key; absent (empty) for a run of one target, so old baselines keep matching.
    public var targetKey: String?

    /// The case's identity across files: the id, prefixed by the target key when there is one.
    public var identity: String { Self.identity(id: id, targetKey: targetKey) }
    public static func identity(id: String, targetKey: String?) -> String {
        guard let k = targetKey, !k.isEmpty else { return id }
        return k + "/" + id
    }
    /// `--verify-path`: the kernel's own count of mappings and bios per read of this
    /// case's class, from a short traced pass.
    public var pathVerification: PathVerification?
    /// Where the case ran in its round (0 = first): rounds rotate the order.
    public var roundPosition: Int?
    /// io_uring engines: what the ring really ran with (job 0's; every job asks for the
    /// same and gets the same unless the kernel changes under it).
    public var ring: RingInfo?
    /// The clock that stamped this case's reads and, for the TSC, the drift check after it.
    public var clock: CaseClock?
    /// `--rate-iops`: the open loop's response time, issue lag, achieved rate and
    /// whether the point is saturated (`latency` stays the service time).
    public var openLoop: OpenLoopSummary?
    /// `--profile`: where the case's CPU time went (sampled kernel stacks).
    public var profile: ProfileSummary?
    /// `--profile` asked for, but this case has no profile: why (no permission, no perf
    /// events, the case too short).
    public var profileNote: String?
    /// `--repeat N`: every repetition, whole. The case's own fields are then the
    /// aggregate (merged histogram, summed reads, mean IOPS).
    public var repeats: [RepeatResult]?
    /// `--repeat N`: min, median and max across repeats.
    public var spread: RepeatSpread?
    /// `iobench merge`: the results this case was merged from.
    public var sources: [MergeSource]?
    /// `--hist-log`: per-interval histograms merged over jobs (not part of the JSON; the
    /// interval log file carries them), and when the measured phase began.
    public var intervals: [IntervalHistogram] = []
    public var measureStartEpochNs: UInt64 = 0

    public init(spec: CaseSpec, status: Status, reason: String? = nil) {
        id = spec.id
        label = spec.label
        config = spec
        self.status = status
        self.reason = reason
    }

    /// The case's target (key, else path) and engine setting: the cases a class
    /// comparison pairs share it (they differ only in class and block size).
    public var classGroup: String { (targetKey ?? targetPath ?? "") + "\u{0}" + config.settingID }

    enum CodingKeys: String, CodingKey {
        case id, label, status, reason, config, ios, iops, latency, cpu, errors, histogram, jobs, interrupted, plan
        case failureClass = "failure_class"
        case elapsedNs = "elapsed_ns"
        case targetPath = "target_path"
        case targetKey = "target_key"
        case roundPosition = "round_position"
        case pathVerification = "path_verification"
        case repeats, spread, sources, ring, clock
        case openLoop = "open_loop"
        case profile
        case profileNote = "profile_note"
        case bytesPerSecond = "bytes_per_second"
        case timelineIOPS = "timeline_iops"
        case timelineTruncated = "timeline_truncated"
    }
}

import Atomics
import Glibc
import CIOBenchShim
import IOBenchHistogram
import IOBenchPlatform
import IOBenchWorkload

/// One job's workload, fixed before the loop starts.
public struct JobPlan: Sendable {
    public var blockSize: Int
    public var queueDepth: Int
    public var submitBatch: Int
    public var completeBatch: Int
    /// Measured time after the ramp; nil when `ioLimit` ends the job.
    public var runtimeNs: UInt64?
    /// Completions to measure; nil when `runtimeNs` ends the job.
    public var ioLimit: UInt64?
    public var rampNs: UInt64
    /// Check every read's contents against iobench's stamp.
    public var verify: Bool
    /// With `verify`: the reads must return zeros (unwritten extents) instead of the stamp.
    public var verifyZeros = false
    /// Keep issuing after an I/O error or short read (counted and reported either way).
    public var continueOnError = false
    /// Latency sampling: 1 times every read, N times the reads of 1 commit in N (one
    /// clock read per sampled commit), 0 times none (the clock is then read every 8th
    /// reap, only to end the run and fill the timeline).
    public var latencyEvery = 1
    /// Seconds of timeline to keep (one IOPS value per second).
    public var timelineCapacity: Int
    /// `--hist-log`: also keep one histogram per interval of this length (nil: none).
    public var intervalNs: UInt64? = nil
    /// `--status-interval`: the case's running histogram each interval is added to (with
    /// `intervalNs`).
    public var live: LiveHistogram? = nil
    /// The clock of every time the loop takes (submit and completion stamps, ramp,
    /// deadline, timeline, intervals, drain): one timebase for the whole job.
    public var clock: LatencyClock = .monotonic
    /// `--rate-iops`: issue reads on an arrival schedule instead of whenever a slot is
    /// free (nil: closed loop).
    public var openLoop: OpenLoopPlan? = nil

    public init(blockSize: Int, queueDepth: Int, submitBatch: Int, completeBatch: Int, runtimeNs: UInt64?,
                ioLimit: UInt64?, rampNs: UInt64, verify: Bool, verifyZeros: Bool = false,
                continueOnError: Bool = false, latencyEvery: Int = 1, timelineCapacity: Int,
                intervalNs: UInt64? = nil, clock: LatencyClock = .monotonic) {
        self.blockSize = blockSize
        self.queueDepth = queueDepth
        self.submitBatch = submitBatch
        self.completeBatch = completeBatch
        self.runtimeNs = runtimeNs
        self.ioLimit = ioLimit
        self.rampNs = rampNs
        self.verify = verify
        self.verifyZeros = verifyZeros
        self.continueOnError = continueOnError
        self.latencyEvery = latencyEvery
        self.timelineCapacity = timelineCapacity
        self.intervalNs = intervalNs
        self.clock = clock
    }
}

/// What one job measured. Everything the loop saw is here: successes in the histogram,
/// errors, short reads, contents mismatches and out-of-range latencies as counts.
public struct JobOutcome: Sendable {
    /// Starts as the shared empty histogram: an outcome costs no histogram allocation
    /// until a job replaces it with what it measured.
    public var histogram = LatencyHistogram.empty
    /// Reads completed in full during the measured phase.
    public var ios: UInt64 = 0
    public var errors: UInt64 = 0
    public var shortReads: UInt64 = 0
    public var firstError: String?
    /// The errno of the first failed read (positive), for callers that react to it.
    public var firstErrno: Int32?
    public var verifyMismatches: UInt64 = 0
    public var verifiedReads: UInt64 = 0
    public var firstMismatchOffset: UInt64?
    /// Completed reads per second of the measured phase.
    public var timeline: [UInt64] = []
    public var timelineTruncated = false
    public var usage = ThreadUsage()
    public var elapsedNs: UInt64 = 0
    /// Set when the engine could not be set up or the kernel refused a call.
    public var failure: IOBenchError?
    public var interrupted = false
    /// `--hist-log`: one histogram per interval, `startNs` relative to `measureStartEpochNs`.
    public var intervals: [IntervalHistogram] = []
    /// Wall-clock time (ns since the epoch) when the measured phase began.
    public var measureStartEpochNs: UInt64 = 0
    /// Reads still in flight when the job gave up waiting for them (`jobDrainGraceNs`
    /// after the end); also counted in `errors`.
    public var abandonedReads: UInt64 = 0
    /// io_uring: what the job's ring ran with.
    public var ring: RingInfo?
    /// `--rate-iops`: the open loop's own measurements (`histogram` is then the
    /// service time, submit to completion, as in a closed loop).
    public var openLoop: OpenLoopOutcome?

    public init() {}
}

/// How long a job waits for reads still in flight after its end (deadline, --number-ios,
/// an error or a stop) before it counts them as errors and stops waiting.
public let jobDrainGraceNs: UInt64 = 5_000_000_000


/// An open-loop job's arrivals (`--rate-iops`, `--arrival`).
public struct OpenLoopPlan: Sendable, Equatable {
    /// Reads per second asked of this job.
    public var ratePerSecond: Double
    public var process: ArrivalProcess
    /// The schedule's seed (reproducible arrivals).
    public var seed: UInt64

    public init(ratePerSecond: Double, process: ArrivalProcess, seed: UInt64) {
        self.ratePerSecond = ratePerSecond
        self.process = process
        self.seed = seed
    }
}

/// What an open-loop job measured besides the service time.
public struct OpenLoopOutcome: Sendable {
    /// Completion minus intended issue time, per read: what a caller issuing at this
    /// rate waits (coordinated-omission-correct).
    public var responseTime = LatencyHistogram.empty
    /// Actual submit minus intended issue time, per read.
    public var issueLag = LatencyHistogram.empty
    /// Arrivals intended in the measured phase, and how many of them were issued.
    public var arrivals: UInt64 = 0
    public var issued: UInt64 = 0
    /// How late the oldest arrival not yet issued was at the end of the measured
    /// phase (0: the schedule was kept), and the most it was at any second's end.
    public var backlogAtEndNs: UInt64 = 0
    public var backlogMaxNs: UInt64 = 0
    /// The backlog at the end of each second of the measured phase.
    public var backlogTimelineNs: [UInt64] = []
    /// The measured phase's length: arrivals intended in it are measured.
    public var windowNs: UInt64 = 0

    public init() {}
}

import IOBenchEngines
import IOBenchPlatform
import IOBenchWorkload
/// One case of a run: an engine and a workload shape. A run is a list of cases over one
/// target; each case gives one row of results.
public struct CaseSpec: Codable, Sendable, Equatable {
    public var engine: EngineKind
    public var options = EngineOptions()
    public var pattern: AccessPattern = .random
    public var blockSize: Int = 4096
    public var queueDepth: Int = 1
    public var jobs: Int = 1
    /// Measured time, excluding ramp; nil when `ioLimit` ends the case.
    public var runtimeNs: UInt64? = 5_000_000_000
    /// Reads to measure per job; nil when `runtimeNs` ends the case.
    public var ioLimit: UInt64?
    public var rampNs: UInt64 = 0
    public var seed: UInt64 = 0x10BE_4C11
    /// CPUs to pin jobs to, round-robin; empty for no pinning.
    public var cpus: [Int] = []
    public var verify = false
    /// The path class every read meets, planned from the extent map; nil for plain
    /// offsets over the whole region.
    public var pathClass: PathClass?
    /// Keep reading after I/O errors and short reads; they are still counted and
    /// reported, but the case does not fail for them.
    public var continueOnError = false
    /// Latency sampling: 1 every read, N one commit in N, 0 none (peak mode).
    public var latencySample = 1
    /// `--rate-iops`: open loop at this many reads per second per job (nil: closed loop).
    public var rateIOPS: Double?
    /// `--arrival`: how the open loop's arrivals are spaced.
    public var arrival: ArrivalProcess = .uniform
    /// `--load`: the rate is this percentage of the peak IOPS the same setting measured
    /// closed-loop earlier in the run; the id then names the percentage, not the rate.
    public var loadPercent: Double?
    /// `run --fio-job`: the job file's section this case came from. It is the case's
    /// label, and not part of its id (the same settings given as flags compare with it).
    public var fioSection: String?

    public init(engine: EngineKind) { self.engine = engine }

    enum CodingKeys: String, CodingKey {
        case engine, options, pattern, jobs, seed, cpus, verify
        case pathClass = "class"
        case continueOnError = "continue_on_error"
        case latencySample = "latency_sample"
        case rateIOPS = "rate_iops"
        case arrival
        case loadPercent = "load_percent"
        case fioSection = "fio_section"
        case blockSize = "bs"
        case queueDepth = "iodepth"
        case runtimeNs = "runtime_ns"
        case ioLimit = "number_ios"
        case rampNs = "ramp_time_ns"
    }

    /// The case id: engine, pattern, block size, depth, jobs, then a suffix per setting
    /// that differs from its default (old baselines keep matching), the class, and the
    /// latency sampling.
    public var id: String {
        var id = "\(engine.rawValue)-\(pattern.rawValue)-bs\(Units.formatSize(UInt64(blockSize)))-qd\(queueDepth)-j\(jobs)"
        for key in EngineOptionKey.allCases { if let suffix = key.idSuffix(options) { id += "-" + suffix } }
        if let c = pathClass { id += "-\(c.rawValue)" }
        if latencySample == 0 { id += "-nolat" } else if latencySample > 1 { id += "-lat\(latencySample)" }
        if let loadPercent {
            id += "-load\(Self.formatRate(loadPercent))" + (arrival == .uniform ? "" : "-\(arrival.rawValue)")
        } else if let rateIOPS {
            id += "-r\(Self.formatRate(rateIOPS))" + (arrival == .uniform ? "" : "-\(arrival.rawValue)")
        }
        return id
    }

    /// The spec without its open-loop rate (`rate_iops`, `load_percent`): the setting a
    /// latency–throughput curve is drawn for, one point per rate.
    public var withoutRate: CaseSpec {
        var s = self
        s.rateIOPS = nil
        s.loadPercent = nil
        return s
    }

    /// A rate as ids and labels show it: whole numbers as they are, others to 0.1.
    public static func formatRate(_ r: Double) -> String {
        r == r.rounded() ? String(UInt64(r)) : Units.oneDecimal(r)
    }

    /// The engine setting: the id of this spec without its class and block size (engine,
    /// pattern, depth, jobs, options). Cases compared across classes share it.
    public var settingID: String {
        var s = self
        s.pathClass = nil
        s.blockSize = 0
        return s.id
    }

    /// The engine setting for people: `psync QD1`, `io_uring QD32 x2`.
    public var settingLabel: String {
        "\(engine.rawValue) QD\(queueDepth)" + (jobs > 1 ? " x\(jobs)" : "")
    }

    public var label: String {
        if let fioSection { return fioSection }
        var s = "\(engine.rawValue) \(Units.formatSize(UInt64(blockSize))) QD\(queueDepth)"
        if jobs > 1 { s += " x\(jobs)" }
        if pattern == .sequential { s += " seq" }
        if let pathClass { s += " \(pathClass.rawValue)" }
        if latencySample == 0 { s += " nolat" } else if latencySample > 1 { s += " lat1/\(latencySample)" }
        if let loadPercent {
            s += " @\(Self.formatRate(loadPercent))%" + (rateIOPS.map { " (\(Units.formatRate($0))/s)" } ?? "")
            if arrival != .uniform { s += " \(arrival.rawValue)" }
        } else if let rateIOPS {
            s += " @\(Units.formatRate(rateIOPS))/s" + (arrival == .uniform ? "" : " \(arrival.rawValue)")
        }
        return s
    }

    /// Checks what can be checked before touching the target.
    public static let maxNumberIOs: UInt64 = 1_000_000_000_000

    public func validate() throws(IOBenchError) {
        guard queueDepth >= 1 else {
            throw .badInput("--iodepth \(queueDepth) is invalid; the queue depth must be at least 1")
        }
        guard queueDepth <= 65536 else {
            throw .badInput("--iodepth \(queueDepth) is too deep; use at most 65536 (io_uring allows 32768)")
        }
        let d = try EngineRegistry.descriptor(for: engine)
        if d.isSynchronous && queueDepth != 1 {
            throw .badInput("\(engine.rawValue) is synchronous and keeps one read in flight; use --iodepth 1, or --engine libaio or io_uring for QD \(queueDepth)")
        }
        if queueDepth > d.maxQueueDepth {
            throw .badInput("--iodepth \(queueDepth) exceeds \(d.queueDepthLimit); lower --iodepth")
        }
        guard jobs >= 1 && jobs <= 1024 else {
            throw .badInput("--numjobs \(jobs) is invalid; use 1 to 1024 jobs")
        }
        guard blockSize > 0 && blockSize <= 64 << 20 else {
            throw .badInput("--bs \(blockSize) is out of range; use 512 bytes to 64m")
        }
        guard options.submitBatch >= 1 && options.completeBatch >= 1 else {
            throw .badInput("--submit-batch and --complete-batch must be at least 1")
        }
        if options.submitBatch > queueDepth || options.completeBatch > queueDepth {
            throw .badInput("--submit-batch \(options.submitBatch) / --complete-batch \(options.completeBatch) exceed --iodepth \(queueDepth); a batch cannot be larger than the queue")
        }
        if let refusal = EngineOptionKey.refusal(options, engines: [d], fix: { "drop \($1) or use --engine \($0.rawValue)" }) {
            throw .badInput(refusal)
        }
        if !d.measuresStorage && verify {
            throw .badInput("--verify checks the data each read returns, and \(engine.rawValue) reads no data; drop --verify or use a storage engine (\(EngineRegistry.storageEngines.map(\.rawValue).joined(separator: ", ")))")
        }
        if !d.measuresStorage, let c = pathClass {
            throw .badInput("--class \(c.rawValue) places reads on the file's extents, and \(engine.rawValue) reads nothing; drop --class or use a storage engine (\(EngineRegistry.storageEngines.map(\.rawValue).joined(separator: ", ")))")
        }
        if runtimeNs == nil && ioLimit == nil {
            throw .badInput("a case needs --runtime or --number-ios to end")
        }
        if let r = runtimeNs, r == 0 {
            throw .badInput("--runtime must be longer than 0")
        }
        if let n = ioLimit, n == 0 {
            throw .badInput("--number-ios must be at least 1")
        }
        // 10^12 reads take over a day at 10M IOPS; beyond that a number is a typo that
        // would keep the run going for ever.
        if let n = ioLimit, n > Self.maxNumberIOs {
            throw .badInput("--number-ios \(n) is too large; use at most \(Self.maxNumberIOs) reads per job (for long runs use --runtime)")
        }
        if let r = rateIOPS {
            guard r.isFinite && r >= 1 && r <= 100_000_000 else {
                throw .badInput("--rate-iops \(r) is out of range; use 1 to 100M reads per second per job")
            }
            if latencySample != 1 {
                throw .badInput("--rate-iops times every read from its intended start; drop --latency-sample and --no-latency")
            }
        }
        for cpu in cpus where cpu < 0 || cpu >= 4096 {
            throw .badInput("--cpus \(cpu) is not a CPU number (0 to 4095); list CPUs this machine has, e.g. --cpus 0,1 (see nproc)")
        }
    }
}

// Readers accept v1 results written before a field existed: it takes its default.
extension CaseSpec {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        engine = try c.decode(EngineKind.self, forKey: .engine)
        options = try c.decodeIfPresent(EngineOptions.self, forKey: .options) ?? EngineOptions()
        pattern = try c.decodeIfPresent(AccessPattern.self, forKey: .pattern) ?? .random
        blockSize = try c.decodeIfPresent(Int.self, forKey: .blockSize) ?? 4096
        queueDepth = try c.decodeIfPresent(Int.self, forKey: .queueDepth) ?? 1
        jobs = try c.decodeIfPresent(Int.self, forKey: .jobs) ?? 1
        runtimeNs = try c.decodeIfPresent(UInt64.self, forKey: .runtimeNs)
        ioLimit = try c.decodeIfPresent(UInt64.self, forKey: .ioLimit)
        rampNs = try c.decodeIfPresent(UInt64.self, forKey: .rampNs) ?? 0
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0
        cpus = try c.decodeIfPresent([Int].self, forKey: .cpus) ?? []
        verify = try c.decodeIfPresent(Bool.self, forKey: .verify) ?? false
        pathClass = try c.decodeIfPresent(PathClass.self, forKey: .pathClass)
        continueOnError = try c.decodeIfPresent(Bool.self, forKey: .continueOnError) ?? false
        latencySample = try c.decodeIfPresent(Int.self, forKey: .latencySample) ?? 1
        rateIOPS = try c.decodeIfPresent(Double.self, forKey: .rateIOPS)
        arrival = try c.decodeIfPresent(ArrivalProcess.self, forKey: .arrival) ?? .uniform
        loadPercent = try c.decodeIfPresent(Double.self, forKey: .loadPercent)
        fioSection = try c.decodeIfPresent(String.self, forKey: .fioSection)
    }
}

extension EngineOptions {
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        hipri = try c.decodeIfPresent(Bool.self, forKey: .hipri) ?? false
        fixedBuffers = try c.decodeIfPresent(Bool.self, forKey: .fixedBuffers) ?? false
        registeredFiles = try c.decodeIfPresent(Bool.self, forKey: .registeredFiles) ?? false
        sqpoll = try c.decodeIfPresent(Bool.self, forKey: .sqpoll) ?? false
        plainRing = try c.decodeIfPresent(Bool.self, forKey: .plainRing) ?? false
        submitBatch = try c.decodeIfPresent(Int.self, forKey: .submitBatch) ?? 1
        completeBatch = try c.decodeIfPresent(Int.self, forKey: .completeBatch) ?? 1
    }
}

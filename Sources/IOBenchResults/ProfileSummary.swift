import IOBenchMeasurement

/// `run --profile`: where a case's CPU time went, from stacks sampled during its measured
/// phase on its job threads (and the io_uring worker threads that served them). JSON
/// `profile`. Shares are of the samples; ns per read are the shares times the case's
/// measured CPU time per read.
public struct ProfileSummary: Codable, Sendable {
    /// `cpu-clock` (software, ns) or `cycles` (the PMU).
    public var event: String
    public var frequencyHz: UInt32
    public var samples: UInt64
    /// Samples the kernel dropped (a ring buffer that filled up).
    public var lost: UInt64
    /// Threads sampled: the jobs' and their io_uring workers (`iou-wrk-*`, `iou-sqp-*`).
    public var threads: Int
    /// The cpu-clock event's own count of CPU time on the sampled threads, and the job
    /// threads' getrusage CPU time over the measured phase, for checking one against the
    /// other (workers are in the first only).
    public var sampledCPUNs: UInt64?
    public var rusageCPUNs: UInt64?
    /// The kernel functions (and `[iobench]` for user space) with the most samples, by
    /// self share.
    public var functions: [FunctionShare]
    /// Self samples rolled up into layers (`KernelLayers`), every layer listed.
    public var layers: [LayerShare]
    /// The folded stacks (`outer;...;inner count`), for `--profile-folded`; not in JSON.
    public var folded: FoldedStacks?

    public struct LayerShare: Codable, Sendable, Equatable {
        public var layer: String
        public var share: Double
        public var nsPerRead: Double?

        enum CodingKeys: String, CodingKey {
            case layer, share
            case nsPerRead = "ns_per_read"
        }
    }

    public struct FunctionShare: Codable, Sendable, Equatable {
        public var function: String
        public var selfShare: Double
        public var inclusiveShare: Double
        public var selfNsPerRead: Double?
        public var inclusiveNsPerRead: Double?

        enum CodingKeys: String, CodingKey {
            case function
            case selfShare = "self_share"
            case inclusiveShare = "inclusive_share"
            case selfNsPerRead = "self_ns_per_read"
            case inclusiveNsPerRead = "inclusive_ns_per_read"
        }
    }

    enum CodingKeys: String, CodingKey {
        case event, samples, lost, threads, functions, layers
        case frequencyHz = "frequency_hz"
        case sampledCPUNs = "sampled_cpu_ns"
        case rusageCPUNs = "rusage_cpu_ns"
    }

    public init(_ f: FoldedStacks, frequencyHz: UInt32, threads: Int, cpuNsPerRead: Double?, rusageCPUNs: UInt64?, top: Int = 60) {
        event = f.hardware ? "cycles" : "cpu-clock"
        self.frequencyHz = frequencyHz
        samples = f.samples
        lost = f.lost
        self.threads = threads
        sampledCPUNs = f.countedNs
        self.rusageCPUNs = rusageCPUNs
        let n = Double(max(f.samples, 1))
        let shares = f.shares()
        var bySelf: [String: UInt64] = [:]
        for s in shares { bySelf[KernelLayers.layer(of: s.function), default: 0] &+= s.selfSamples }
        layers = KernelLayers.names.map { name in
            let share = Double(bySelf[name] ?? 0) / n
            return LayerShare(layer: name, share: share, nsPerRead: cpuNsPerRead.map { $0 * share })
        }
        functions = shares.prefix(top).map { s in
            let selfShare = Double(s.selfSamples) / n, inclusive = Double(s.inclusiveSamples) / n
            return FunctionShare(function: s.function, selfShare: selfShare, inclusiveShare: inclusive,
                                 selfNsPerRead: cpuNsPerRead.map { $0 * selfShare },
                                 inclusiveNsPerRead: cpuNsPerRead.map { $0 * inclusive })
        }
        folded = f
    }
}

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
    /// Samples × period: the sum of the samples' periods (ns of CPU time for cpu-clock),
    /// what the samples stand for.
    public var samplePeriodNs: UInt64?
    /// The CPU time of every sampled thread (workers too) over the sampled window, from
    /// the scheduler (/proc/self/task/TID/schedstat).
    public var threadsCPUNs: UInt64?
    /// Threads that should have been sampled but could not be (an io_uring worker when
    /// the locked-memory or file limit ran out), and why: their CPU time is missing from
    /// the profile.
    public var unsampledThreads: Int?
    public var unsampledReason: String?
    /// The kernel functions (and `[iobench]` for user space) with the most samples, by
    /// self share.
    public var functions: [FunctionShare]
    /// Self samples rolled up into layers (`KernelLayers`), every layer listed.
    public var layers: [LayerShare]
    /// Every sampled stack with its count (JSON `stacks`): what `--profile-folded`
    /// writes and the flame graphs draw, kept so `report` can draw them from the JSON.
    public var stacks: StackTable?

    /// The stacks as folded text (`outer;...;inner count`).
    public var folded: FoldedStacks? {
        stacks.map { FoldedStacks(counts: $0.counts, periodNs: 0, countedNs: sampledCPUNs, lost: lost, hardware: event == "cycles") }
    }

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
        case event, samples, lost, threads, functions, layers, stacks
        case frequencyHz = "frequency_hz"
        case sampledCPUNs = "sampled_cpu_ns"
        case rusageCPUNs = "rusage_cpu_ns"
        case samplePeriodNs = "sample_period_ns"
        case threadsCPUNs = "threads_cpu_ns"
        case unsampledThreads = "unsampled_threads"
        case unsampledReason = "unsampled_reason"
    }

    public init(_ f: FoldedStacks, frequencyHz: UInt32, threads: Int, cpuNsPerRead: Double?, rusageCPUNs: UInt64?, top: Int = 60) {
        event = f.hardware ? "cycles" : "cpu-clock"
        self.frequencyHz = frequencyHz
        samples = f.samples
        lost = f.lost
        self.threads = threads
        sampledCPUNs = f.countedNs
        self.rusageCPUNs = rusageCPUNs
        samplePeriodNs = f.hardware || f.periodNs == 0 ? nil : f.periodNs
        threadsCPUNs = f.threadsCPUNs
        let n = Double(max(f.samples, 1))
        let shares = f.shares()
        var bySelf: [String: UInt64] = [:]
        for (stack, count) in f.counts { bySelf[KernelLayers.layer(ofStack: stack.split(separator: ";")), default: 0] &+= count }
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
        stacks = StackTable(f.counts)
    }
}

/// Folded stacks stored compactly: each distinct frame name once, each stack as its
/// count followed by its frames' indices, outermost first. JSON
/// `{"frames": [...], "stacks": [[count, i, j, ...], ...]}`.
public struct StackTable: Codable, Sendable, Equatable {
    public var frames: [String]
    public var stacks: [[UInt64]]

    public init(_ counts: [String: UInt64]) {
        var index: [Substring: UInt64] = [:]
        var frames: [String] = []
        stacks = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { stack, count in
            [count] + stack.split(separator: ";").map { name in
                if let i = index[name] { return i }
                frames.append(String(name))
                index[name] = UInt64(frames.count - 1)
                return UInt64(frames.count - 1)
            }
        }
        self.frames = frames
    }

    /// Back to `outer;...;inner` → count (indices out of range are dropped).
    public var counts: [String: UInt64] {
        var out: [String: UInt64] = [:]
        for s in stacks where !s.isEmpty {
            let names = s.dropFirst().compactMap { $0 < UInt64(frames.count) ? frames[Int($0)] : nil }
            out[names.joined(separator: ";"), default: 0] &+= s[0]
        }
        return out
    }
}

extension ProfileSummary {
    /// The profile of an aggregate (repeats, or the sources of a merge) and a note on
    /// what it does not cover: rounds that were not profiled are named (the profile is
    /// of the others only), and profiles of different events or frequencies are not
    /// added (their samples weigh differently), so there is then none.
    public static func combine(_ rounds: [(profile: ProfileSummary?, ios: UInt64)]) -> (profile: ProfileSummary?, note: String?) {
        let profiled = rounds.compactMap { r in r.profile.map { (profile: $0, ios: r.ios) } }
        guard !profiled.isEmpty else { return (nil, nil) }
        let kinds = Set(profiled.map { "\($0.profile.event) at \($0.profile.frequencyHz) Hz" })
        guard kinds.count == 1 else {
            return (nil, "not merged: the rounds were sampled differently (\(kinds.sorted().joined(separator: ", "))), so their samples cannot be added")
        }
        let merged = Self.merged(profiled)
        guard profiled.count < rounds.count else { return (merged, nil) }
        let reads = profiled.map(\.ios).reduce(0, &+), total = rounds.map(\.ios).reduce(0, &+)
        return (merged, "the profile covers \(profiled.count) of \(rounds.count) rounds (\(reads) of \(total) reads): the others were not profiled")
    }

    /// The profile of several rounds of one case (`--repeat`, `iobench merge`): every
    /// round's stacks added, samples, losses and CPU times summed, shares and ns per read
    /// recomputed over all of them. `ios` is each round's reads (for the CPU per read).
    /// Nil when no round was profiled; rounds without stacks (older files) are left out.
    public static func merged(_ rounds: [(profile: ProfileSummary, ios: UInt64)]) -> ProfileSummary? {
        let parts = rounds.filter { $0.profile.stacks != nil }
        guard let first = parts.first else { return rounds.first?.profile }
        guard parts.count > 1 else { return first.profile }
        var counts: [String: UInt64] = [:]
        for p in parts { for (k, v) in p.profile.stacks!.counts { counts[k, default: 0] &+= v } }
        func sum(_ key: KeyPath<ProfileSummary, UInt64?>) -> UInt64? {
            let v = parts.compactMap { $0.profile[keyPath: key] }
            return v.count == parts.count ? v.reduce(0, &+) : nil
        }
        let sampled = sum(\.sampledCPUNs)
        let ios = parts.map(\.ios).reduce(0, &+)
        let f = FoldedStacks(counts: counts, periodNs: sum(\.samplePeriodNs) ?? 0, countedNs: sampled,
                             lost: parts.map(\.profile.lost).reduce(0, &+), hardware: first.profile.event == "cycles",
                             threadsCPUNs: sum(\.threadsCPUNs))
        // CPU per read: the counted CPU time over the reads, else the rounds' layers'
        // ns per read weighted by their reads.
        let perRead: Double? = sampled.map { Double($0) / Double(max(ios, 1)) } ?? {
            let w = parts.map { p in (p.profile.layers.compactMap(\.nsPerRead).reduce(0, +), Double(p.ios)) }
            let n = w.map(\.1).reduce(0, +)
            return n > 0 ? w.map { $0.0 * $0.1 }.reduce(0, +) / n : nil
        }()
        var out = ProfileSummary(f, frequencyHz: first.profile.frequencyHz, threads: parts.map(\.profile.threads).max() ?? 0,
                                 cpuNsPerRead: perRead, rusageCPUNs: sum(\.rusageCPUNs))
        let unsampled = parts.compactMap(\.profile.unsampledThreads).reduce(0, +)
        if unsampled > 0 {
            out.unsampledThreads = unsampled
            out.unsampledReason = parts.compactMap(\.profile.unsampledReason).first
        }
        return out
    }
}

/// One round's profile reduced to what a paired difference between classes needs: ns
/// per read by layer and by function (self and inclusive), for functions with at least
/// 0.2% of the round's samples (the rest count as 0). JSON `repeats[i].profile`.
public struct ProfileRound: Codable, Sendable, Equatable {
    public var samples: UInt64
    public var cpuNsPerRead: Double
    public var layers: [String: Double]
    public var selfNsPerRead: [String: Double]
    public var inclusiveNsPerRead: [String: Double]
    /// Inclusive shares, to leave out the frames nearly every sample passes through.
    public var inclusiveShare: [String: Double]

    public static let minimumShare = 0.002

    enum CodingKeys: String, CodingKey {
        case samples, layers
        case cpuNsPerRead = "cpu_ns_per_read"
        case selfNsPerRead = "self_ns_per_read"
        case inclusiveNsPerRead = "inclusive_ns_per_read"
        case inclusiveShare = "inclusive_share"
    }

    public init(_ p: ProfileSummary) {
        samples = p.samples
        cpuNsPerRead = p.layers.compactMap(\.nsPerRead).reduce(0, +)
        layers = Dictionary(p.layers.map { ($0.layer, $0.nsPerRead ?? 0) }, uniquingKeysWith: +)
        var s: [String: Double] = [:], i: [String: Double] = [:], share: [String: Double] = [:]
        if let f = p.folded, f.samples > 0 {
            let n = Double(f.samples)
            for x in f.shares() {
                let ss = Double(x.selfSamples) / n, inc = Double(x.inclusiveSamples) / n
                if ss >= Self.minimumShare { s[x.function] = ss * cpuNsPerRead }
                if inc >= Self.minimumShare { i[x.function] = inc * cpuNsPerRead; share[x.function] = inc }
            }
        } else {
            for f in p.functions {
                if f.selfShare >= Self.minimumShare { s[f.function, default: 0] += f.selfShare * cpuNsPerRead }
                if f.inclusiveShare >= Self.minimumShare {
                    i[f.function, default: 0] += f.inclusiveShare * cpuNsPerRead
                    share[f.function, default: 0] += f.inclusiveShare
                }
            }
        }
        selfNsPerRead = s
        inclusiveNsPerRead = i
        inclusiveShare = share
    }
}

import Foundation
import IOBenchHistogram

/// The spread of one metric across repeats or sources.
public struct Spread: Codable, Sendable, Equatable {
    public var min: Double
    public var median: Double
    public var max: Double

    public init(_ values: [Double]) {
        let s = values.sorted()
        min = s.first ?? 0
        max = s.last ?? 0
        if s.isEmpty {
            median = 0
        } else if s.count % 2 == 1 {
            median = s[s.count / 2]
        } else {
            median = (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
    }
}

/// Min, median and max across repeats of IOPS, CPU time per read and each percentile.
public struct RepeatSpread: Codable, Sendable, Equatable {
    public var count: Int
    public var iops: Spread
    public var meanNs: Spread
    public var cpuPerIONs: Spread
    /// Keyed by percentile as text ("50", "99", "99.9").
    public var percentilesNs: [String: Spread]

    enum CodingKeys: String, CodingKey {
        case count, iops
        case meanNs = "mean_ns"
        case cpuPerIONs = "cpu_per_io_ns"
        case percentilesNs = "percentiles_ns"
    }

    public static func key(_ p: Double) -> String {
        p == p.rounded() ? String(Int(p)) : String(p)
    }
}

/// One repetition of a case, kept whole in the JSON.
public struct RepeatResult: Codable, Sendable {
    public var index: Int
    public var ios: UInt64
    public var elapsedNs: UInt64
    public var iops: Double
    public var latency: LatencySummary?
    public var cpu: CPUSummary?
    public var errors: ErrorSummary
    public var histogram: HistogramEncoding?
    public var timelineIOPS: [UInt64]
    /// Where this repetition ran in its round (0 = first).
    public var roundPosition: Int?
    /// `iobench merge`: the file this repeat came from, and its `index` (round) there.
    public var source: String?
    public var sourceRound: Int?
    /// `--rate-iops`: this repetition's open-loop results (response time, saturation).
    public var openLoop: OpenLoopSummary?
    /// `--profile`: this repetition's profile, by layer and function (for the paired
    /// differences between classes).
    public var profile: ProfileRound? = nil

    enum CodingKeys: String, CodingKey {
        case index, ios, iops, latency, cpu, errors, histogram, profile
        case openLoop = "open_loop"
        case roundPosition = "round_position"
        case source
        case sourceRound = "source_round"
        case elapsedNs = "elapsed_ns"
        case timelineIOPS = "timeline_iops"
    }
}

extension CaseResult {
    /// The case over all its repeats: the merged histogram (lossless), summed reads, the
    /// mean IOPS and CPU time per read, and the spread of each metric across repeats.
    public static func aggregate(_ repeats: [CaseResult]) -> CaseResult {
        guard var out = repeats.first else { fatalError("aggregate of no repeats") }
        guard repeats.count > 1 else { return out }
        var totals = CaseTotals()
        out.elapsedNs = 0
        out.jobs = []
        var kept: [RepeatResult] = []
        // Position i is round i + 1. A round in which the case was skipped (the machine
        // changed between rounds: an engine disabled meanwhile) measured nothing: it is
        // not averaged in as zero reads, and it fails the case, because the rounds are
        // no longer complete.
        var measured: [CaseResult] = []
        for (i, r) in repeats.enumerated() {
            if r.status == .skipped {
                if out.status != .failed {
                    out.status = .failed
                    out.failureClass = .runFailed
                    out.reason = "round \(i + 1) was skipped: \(r.reason ?? "no reason recorded") (the machine changed during the run; its rounds are incomplete)"
                }
                continue
            }
            measured.append(r)
            totals.add(r)
            out.elapsedNs = sat(out.elapsedNs, r.elapsedNs)
            if r.status == .failed && out.status != .failed {
                out.status = .failed
                out.reason = "repeat \(i + 1): \(r.reason ?? "failed")"
                out.failureClass = r.failureClass
            }
            out.interrupted = out.interrupted || r.interrupted
            kept.append(RepeatResult(index: i + 1, ios: r.ios, elapsedNs: r.elapsedNs, iops: r.iops, latency: r.latency,
                                     cpu: r.cpu, errors: r.errors, histogram: r.histogram, timelineIOPS: r.timelineIOPS, roundPosition: r.roundPosition,
                                     openLoop: r.openLoop, profile: r.profile.map(ProfileRound.init)))
        }
        let repeats = measured
        guard !repeats.isEmpty else { return out }
        out.clock = CaseClock.combine(repeats.map(\.clock))
        out.ios = totals.ios
        out.errors = totals.errors
        out.latency = totals.latency
        out.histogram = HistogramEncoding(totals.histogram)
        out.iops = repeats.map(\.iops).reduce(0, +) / Double(repeats.count)
        out.bytesPerSecond = out.iops * Double(out.config.blockSize)
        out.cpu = totals.cpu
        out.timelineIOPS = repeats.flatMap(\.timelineIOPS)
        out.timelineTruncated = repeats.contains { $0.timelineTruncated }
        // Intervals of every repeat, each at its own time since the first repeat began.
        let origin = repeats.map(\.measureStartEpochNs).filter { $0 > 0 }.min() ?? 0
        out.measureStartEpochNs = origin
        out.intervals = repeats.flatMap { r in
            r.intervals.map { iv in
                var shifted = iv
                shifted.startNs = sat(shifted.startNs, r.measureStartEpochNs) &- origin
                return shifted
            }
        }
        out.openLoop = OpenLoopSummary.merged(repeats.compactMap(\.openLoop))
        // Every round's samples, not the first round's alone.
        let profile = ProfileSummary.combine(repeats.map { ($0.profile, $0.ios) })
        out.profile = profile.profile
        out.profileNote = profile.note ?? (profile.profile == nil ? repeats.compactMap(\.profileNote).first : nil)
        out.repeats = kept
        out.spread = RepeatSpread(units: repeats.map { ($0.iops, $0.latency, $0.cpu) })
        return out
    }
}

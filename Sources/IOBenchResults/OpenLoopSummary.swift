import IOBenchHistogram
import IOBenchEngines
import IOBenchMeasurement
import IOBenchWorkload

/// An open-loop case's own results (`--rate-iops`), JSON `open_loop`. The case's
/// `latency` and `histogram` keep their meaning (submit to completion: the service time);
/// the response time, from each read's intended issue time, is here.
public struct OpenLoopSummary: Codable, Sendable {
    public var arrival: ArrivalProcess
    /// Reads per second asked of the case (the per-job rate × jobs).
    public var askedIOPS: Double
    /// Reads of the measured phase completed per second of it, summed over jobs.
    public var achievedIOPS: Double
    /// achieved / asked.
    public var achievedFraction: Double
    /// Arrivals intended in the measured phase, and how many were issued.
    public var arrivals: UInt64
    public var issued: UInt64
    /// How late the oldest arrival not yet issued was at the end of the measured phase,
    /// and the most at any second's end (the largest over jobs).
    public var backlogAtEndNs: UInt64
    public var backlogMaxNs: UInt64
    /// The backlog at the end of each second of the measured phase (largest over jobs).
    public var backlogTimelineNs: [UInt64]
    /// Not a valid latency-at-load point: the rate was not achieved (< 99%) or arrivals
    /// were still waiting at the end (more than 1% of the measured time, and over 1 ms).
    public var saturated: Bool
    public var saturatedReason: String?
    /// Completion minus intended issue time: the headline latency of an open-loop case.
    public var responseTime: LatencySummary
    public var responseTimeHistogram: HistogramEncoding?
    /// Actual minus intended issue time.
    public var issueLag: LatencySummary
    public var issueLagHistogram: HistogramEncoding?

    /// The fraction of the asked rate below which a point is saturated.
    public static let minimumAchieved = 0.99

    enum CodingKeys: String, CodingKey {
        case arrival, arrivals, issued, saturated
        case askedIOPS = "asked_iops"
        case achievedIOPS = "achieved_iops"
        case achievedFraction = "achieved_fraction"
        case backlogAtEndNs = "backlog_at_end_ns"
        case backlogMaxNs = "backlog_max_ns"
        case backlogTimelineNs = "backlog_timeline_ns"
        case saturatedReason = "saturated_reason"
        case responseTime = "response_time"
        case responseTimeHistogram = "response_time_histogram"
        case issueLag = "issue_lag"
        case issueLagHistogram = "issue_lag_histogram"
    }

    /// The jobs' open-loop outcomes of one case, added.
    public init?(spec: CaseSpec, outcomes: [JobOutcome]) {
        guard let rate = spec.rateIOPS else { return nil }
        let parts = outcomes.compactMap(\.openLoop)
        guard !parts.isEmpty else { return nil }
        arrival = spec.arrival
        askedIOPS = rate * Double(spec.jobs)
        var response = LatencyHistogram()
        var lag = LatencyHistogram()
        achievedIOPS = 0
        arrivals = 0
        issued = 0
        backlogAtEndNs = 0
        backlogMaxNs = 0
        backlogTimelineNs = []
        for o in outcomes {
            guard let p = o.openLoop else { continue }
            response.add(p.responseTime)
            lag.add(p.issueLag)
            if p.windowNs > 0 { achievedIOPS += Double(o.ios) * 1e9 / Double(p.windowNs) }
            arrivals = sat(arrivals, p.arrivals)
            issued = sat(issued, p.issued)
            backlogAtEndNs = max(backlogAtEndNs, p.backlogAtEndNs)
            backlogMaxNs = max(backlogMaxNs, p.backlogMaxNs)
            for (s, v) in p.backlogTimelineNs.enumerated() {
                if s < backlogTimelineNs.count { backlogTimelineNs[s] = max(backlogTimelineNs[s], v) } else { backlogTimelineNs.append(v) }
            }
        }
        achievedFraction = askedIOPS > 0 ? achievedIOPS / askedIOPS : 0
        let window = parts.map(\.windowNs).max() ?? 0
        if achievedFraction < Self.minimumAchieved {
            saturated = true
            saturatedReason = "achieved \(Units.oneDecimal(achievedFraction * 100))% of the asked rate (\(Units.formatRate(achievedIOPS)) of \(Units.formatRate(askedIOPS)) reads/s)"
        } else if backlogAtEndNs > max(1_000_000, window / 100) {
            saturated = true
            saturatedReason = "arrivals were \(Units.oneDecimal(Double(backlogAtEndNs) / 1e6)) ms behind schedule at the end: the backlog grew"
        } else {
            saturated = false
            saturatedReason = nil
        }
        responseTime = LatencySummary(response)
        responseTimeHistogram = HistogramEncoding(response)
        issueLag = LatencySummary(lag)
        issueLagHistogram = HistogramEncoding(lag)
    }

    /// Several measurements of one load point (repeats, merged files) as one: the
    /// histograms added, the counts summed, the achieved rate averaged, the largest
    /// backlog; saturated when any part was (each part's reason kept, the first shown).
    public static func merged(_ parts: [OpenLoopSummary]) -> OpenLoopSummary? {
        guard var out = parts.first else { return nil }
        guard parts.count > 1 else { return out }
        var response = LatencyTotals()
        var lag = LatencyTotals()
        out.arrivals = 0
        out.issued = 0
        for p in parts {
            response.add(p.responseTimeHistogram?.live, summary: p.responseTime)
            lag.add(p.issueLagHistogram?.live, summary: p.issueLag)
            out.arrivals = sat(out.arrivals, p.arrivals)
            out.issued = sat(out.issued, p.issued)
        }
        out.askedIOPS = parts.map(\.askedIOPS).reduce(0, +) / Double(parts.count)
        out.achievedIOPS = parts.map(\.achievedIOPS).reduce(0, +) / Double(parts.count)
        out.achievedFraction = out.askedIOPS > 0 ? out.achievedIOPS / out.askedIOPS : 0
        out.backlogAtEndNs = parts.map(\.backlogAtEndNs).max() ?? 0
        out.backlogMaxNs = parts.map(\.backlogMaxNs).max() ?? 0
        out.backlogTimelineNs = parts.flatMap(\.backlogTimelineNs)
        let saturatedParts = parts.enumerated().filter { $0.element.saturated }
        out.saturated = !saturatedParts.isEmpty
        out.saturatedReason = saturatedParts.first.map { i, p in
            "\(saturatedParts.count) of \(parts.count) repeats saturated; repeat \(i + 1): \(p.saturatedReason ?? "the rate was not kept")"
        }
        out.responseTime = response.summary
        out.responseTimeHistogram = HistogramEncoding(response.histogram)
        out.issueLag = lag.summary
        out.issueLagHistogram = HistogramEncoding(lag.histogram)
        return out
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        arrival = try c.decodeIfPresent(ArrivalProcess.self, forKey: .arrival) ?? .uniform
        askedIOPS = try c.decode(Double.self, forKey: .askedIOPS)
        achievedIOPS = try c.decode(Double.self, forKey: .achievedIOPS)
        achievedFraction = try c.decodeIfPresent(Double.self, forKey: .achievedFraction) ?? (askedIOPS > 0 ? achievedIOPS / askedIOPS : 0)
        arrivals = try c.decodeIfPresent(UInt64.self, forKey: .arrivals) ?? 0
        issued = try c.decodeIfPresent(UInt64.self, forKey: .issued) ?? 0
        backlogAtEndNs = try c.decodeIfPresent(UInt64.self, forKey: .backlogAtEndNs) ?? 0
        backlogMaxNs = try c.decodeIfPresent(UInt64.self, forKey: .backlogMaxNs) ?? 0
        backlogTimelineNs = try c.decodeIfPresent([UInt64].self, forKey: .backlogTimelineNs) ?? []
        saturated = try c.decode(Bool.self, forKey: .saturated)
        saturatedReason = try c.decodeIfPresent(String.self, forKey: .saturatedReason)
        responseTime = try c.decode(LatencySummary.self, forKey: .responseTime)
        responseTimeHistogram = try c.decodeIfPresent(HistogramEncoding.self, forKey: .responseTimeHistogram)
        responseTimeHistogram?.restoreTotals(from: responseTime)
        issueLag = try c.decode(LatencySummary.self, forKey: .issueLag)
        issueLagHistogram = try c.decodeIfPresent(HistogramEncoding.self, forKey: .issueLagHistogram)
        issueLagHistogram?.restoreTotals(from: issueLag)
    }
}

extension CaseResult {
    /// The latency `compare` judges: the response time of an open-loop case, else the
    /// latency (submit to completion); and its histogram.
    public var gatedLatency: LatencySummary? { openLoop?.responseTime ?? latency }
    public var gatedHistogram: LatencyHistogram? { openLoop.map { $0.responseTimeHistogram?.live } ?? histogram?.live }
}

extension RepeatResult {
    /// As `CaseResult.gatedLatency`, for one repetition.
    public var gatedLatency: LatencySummary? { openLoop?.responseTime ?? latency }
    public var gatedHistogram: LatencyHistogram? { openLoop.map { $0.responseTimeHistogram?.live } ?? histogram?.live }
}

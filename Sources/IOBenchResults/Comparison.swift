import Foundation
import IOBenchPlatform
import IOBenchHistogram
import IOBenchWorkload

/// The metrics `iobench compare` judges, each with the direction that is worse.
public enum CompareMetric: String, Codable, Sendable, CaseIterable {
    case iops
    case mean
    case p50
    case p99
    case p999 = "p99.9"
    case cpu

    /// Higher IOPS is better; for latency and CPU time lower is better.
    public var higherIsBetter: Bool { self == .iops }

    public var unit: String {
        switch self {
        case .iops: return "IOPS"
        case .cpu: return "ns CPU/IO"
        default: return "ns"
        }
    }

    /// Default thresholds: the worse-direction change that counts as a regression when
    /// the whole interval of the change lies beyond it. Tails are noisier than medians.
    public var defaultThresholdPercent: Double {
        switch self {
        case .iops: return -5
        case .mean: return 5
        case .p50: return 5
        case .p99: return 10
        case .p999: return 20
        case .cpu: return 5
        }
    }

    /// The metric's value in a case, and its spread across repeats when there is one.
    func value(_ c: CaseResult) -> Double? {
        switch self {
        case .iops: return c.iops
        case .mean: return c.latency?.meanNs
        case .p50: return c.latency?.value(at: 50).map { Double($0) }
        case .p99: return c.latency?.value(at: 99).map { Double($0) }
        case .p999: return c.latency?.value(at: 99.9).map { Double($0) }
        case .cpu: return c.cpu?.perIONs
        }
    }

    /// The percentile (0…1) a latency metric reads off the histogram.
    var quantile: Double? {
        switch self {
        case .p50: return 0.5
        case .p99: return 0.99
        case .p999: return 0.999
        default: return nil
        }
    }

    func spread(_ c: CaseResult) -> Spread? {
        guard let s = c.spread, s.count > 1 else { return nil }
        switch self {
        case .iops: return s.iops
        case .mean: return s.meanNs
        case .p50: return s.percentilesNs["50"]
        case .p99: return s.percentilesNs["99"]
        case .p999: return s.percentilesNs["99.9"]
        case .cpu: return s.cpuPerIONs
        }
    }
}

/// A threshold as given: `p99=+5%`, `iops=-3%`. The sign is the worse direction.
public struct CompareThreshold: Codable, Sendable, Equatable {
    public var metric: CompareMetric
    public var percent: Double

    public init(metric: CompareMetric, percent: Double) {
        self.metric = metric
        self.percent = percent
    }

    public static func parse(_ text: String) throws(IOBenchError) -> CompareThreshold {
        let parts = text.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        let names = CompareMetric.allCases.map(\.rawValue).joined(separator: ", ")
        guard parts.count == 2, let metric = CompareMetric(rawValue: parts[0].lowercased()) else {
            throw .badInput("--threshold '\(Units.printable(text))' is not METRIC=±N%; metrics are \(names), e.g. --threshold p99=+5% or --threshold iops=-3%")
        }
        var number = parts[1]
        if number.hasSuffix("%") { number.removeLast() }
        guard let v = Double(number), v.isFinite, abs(v) < 1e6 else {
            throw .badInput("--threshold '\(Units.printable(text))': '\(Units.printable(parts[1]))' is not a percentage; write e.g. +5% or -3%")
        }
        let signed = number.hasPrefix("+") || number.hasPrefix("-")
        if metric.higherIsBetter && abs(v) >= 100 {
            throw .badInput("--threshold '\(Units.printable(text))': IOPS cannot fall by 100% or more; write e.g. iops=-10%")
        }
        let worse = metric.higherIsBetter ? -abs(v) : abs(v)
        if signed && (v < 0) != (worse < 0) && v != 0 {
            throw .badInput("--threshold '\(Units.printable(text))': for \(metric.rawValue) the worse direction is \(metric.higherIsBetter ? "down (write -N%)" : "up (write +N%)")")
        }
        return CompareThreshold(metric: metric, percent: worse)
    }

    /// The threshold on the log scale: δ = |ln(1 + threshold)|. The gate's band of
    /// "unchanged" is ln(new/base) within ±δ, worse and better alike.
    public var logDelta: Double { abs(log1p(percent / 100)) }
}

/// How a metric's interval was estimated.
public enum NoiseModel: String, Codable, Sendable {
    /// Welch's t on ln of the per-repeat values (≥ 3 repeats on each side).
    case repeats
    /// The within-run interval from the histograms (binomial order statistics for a
    /// percentile, stddev/√n for the mean); with < 3 repeats on a side.
    case withinRun = "within_run"
    /// The wider of the two, with ≥ 3 repeats on each side: here the within-run one.
    case withinRunWider = "within_run_wider"
    /// IOPS from the per-second timeline (`timeline_iops`), with < 3 repeats on a side.
    case timeline
    /// `--paired`: a one-sample t on ln(new_i / base_i), round by round.
    case paired

    public var text: String {
        switch self {
        case .repeats: return "repeats (Welch)"
        case .withinRun: return "within-run only"
        case .withinRunWider: return "within-run (wider than repeats)"
        case .timeline: return "per-second timeline"
        case .paired: return "paired rounds"
        }
    }
}

public struct MetricComparison: Codable, Sendable {
    public enum Verdict: String, Codable, Sendable {
        /// The whole interval lies beyond the threshold in the worse direction.
        case regression
        /// The whole interval lies beyond the threshold in the better direction.
        case improved
        /// The whole interval lies inside ±threshold.
        case unchanged
        /// The interval straddles a threshold: the data cannot tell.
        case unclear
        /// Not judged; `reason` says why (too few reads, repeats or seconds).
        case notGated = "not_gated"

        /// Version-1 documents said `improvement` and `noise` (beyond the threshold but
        /// inside the repeat ranges): read as `improved` and `unclear`.
        public init(from decoder: Decoder) throws {
            let raw = try decoder.singleValueContainer().decode(String.self)
            switch raw {
            case "improvement": self = .improved
            case "noise": self = .unclear
            default:
                guard let v = Verdict(rawValue: raw) else {
                    throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown verdict '\(raw)'"))
                }
                self = v
            }
        }
    }

    /// The interval of the change, in percent, at the two-sided `level` (1 − 2·α_eff).
    public struct Interval: Codable, Sendable, Equatable {
        public var lowPercent: Double
        public var highPercent: Double
        public var level: Double
        enum CodingKeys: String, CodingKey {
            case level
            case lowPercent = "low_percent"
            case highPercent = "high_percent"
        }
    }

    public var metric: CompareMetric
    /// The case's own values (the aggregate over repeats), for reading.
    public var base: Double
    public var new: Double
    /// The estimated change, exp(d) − 1 in percent, where d is the estimate of
    /// ln(new/base) that the interval is centred on; nil when not gated.
    public var changePercent: Double?
    public var thresholdPercent: Double
    public var interval: Interval?
    public var noiseModel: NoiseModel?
    /// The one-sided p value of "worse by at most the threshold".
    public var pValue: Double?
    /// Standard error of d and its degrees of freedom (nil: normal).
    public var stdErrorLog: Double?
    public var degreesOfFreedom: Double?
    public var baseRepeats: Int
    public var newRepeats: Int
    public var baseSpread: Spread?
    public var newSpread: Spread?
    public var verdict: Verdict
    /// Why a metric is not gated, or a note on its noise model.
    public var reason: String?

    public init(metric: CompareMetric, base: Double, new: Double, thresholdPercent: Double, baseRepeats: Int, newRepeats: Int,
                verdict: Verdict, reason: String? = nil) {
        self.metric = metric; self.base = base; self.new = new; self.thresholdPercent = thresholdPercent
        self.baseRepeats = baseRepeats; self.newRepeats = newRepeats; self.verdict = verdict; self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case metric, base, new, verdict, interval, reason
        case changePercent = "change_percent"
        case thresholdPercent = "threshold_percent"
        case noiseModel = "noise_model"
        case pValue = "p_value"
        case stdErrorLog = "std_error_log"
        case degreesOfFreedom = "degrees_of_freedom"
        case baseRepeats = "base_repeats"
        case newRepeats = "new_repeats"
        case baseSpread = "base_spread"
        case newSpread = "new_spread"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        metric = try c.decode(CompareMetric.self, forKey: .metric)
        base = try c.decodeIfPresent(Double.self, forKey: .base) ?? 0
        new = try c.decodeIfPresent(Double.self, forKey: .new) ?? 0
        changePercent = try c.decodeIfPresent(Double.self, forKey: .changePercent)
        thresholdPercent = try c.decode(Double.self, forKey: .thresholdPercent)
        interval = try c.decodeIfPresent(Interval.self, forKey: .interval)
        noiseModel = try c.decodeIfPresent(NoiseModel.self, forKey: .noiseModel)
        pValue = try c.decodeIfPresent(Double.self, forKey: .pValue)
        stdErrorLog = try c.decodeIfPresent(Double.self, forKey: .stdErrorLog)
        degreesOfFreedom = try c.decodeIfPresent(Double.self, forKey: .degreesOfFreedom)
        baseSpread = try c.decodeIfPresent(Spread.self, forKey: .baseSpread)
        newSpread = try c.decodeIfPresent(Spread.self, forKey: .newSpread)
        baseRepeats = try c.decodeIfPresent(Int.self, forKey: .baseRepeats) ?? 1
        newRepeats = try c.decodeIfPresent(Int.self, forKey: .newRepeats) ?? 1
        verdict = try c.decode(Verdict.self, forKey: .verdict)
        reason = try c.decodeIfPresent(String.self, forKey: .reason)
    }
}

public struct CaseComparison: Codable, Sendable {
    public var id: String
    /// The case's target key (`--target LABEL=PATH`, the lab's `ext4`) when it has one:
    /// cases are matched by id and key. Absent for a run of one target.
    public var targetKey: String?
    public var label: String
    public var metrics: [MetricComparison]
    /// Set when the case ran ok in BASE but failed, or had errors, in NEW: a regression
    /// whatever its numbers say.
    public var failure: String?
    /// The new case's measured time, for JUnit's `time`.
    public var elapsedSeconds: Double
    public var regression: Bool { failure != nil || metrics.contains { $0.verdict == .regression } }
    public var improvement: Bool { failure == nil && metrics.contains { $0.verdict == .improved } }
    /// `key/id`, or the id alone: what the case is matched by (`CaseResult.identity`).
    public var identity: String { CaseResult.identity(id: id, targetKey: targetKey) }
    /// The label as reports show it: prefixed `KEY: ` when the case has a target key and
    /// its label does not already say so.
    public var displayLabel: String {
        guard let k = targetKey, !k.isEmpty, !label.hasPrefix(k + ": ") else { return label }
        return k + ": " + label
    }

    enum CodingKeys: String, CodingKey {
        case id, label, metrics, regression, improvement, failure
        case targetKey = "target_key"
        case elapsedSeconds = "elapsed_seconds"
    }

    public init(id: String, targetKey: String? = nil, label: String, metrics: [MetricComparison], failure: String? = nil, elapsedSeconds: Double = 0) {
        self.id = id; self.label = label; self.metrics = metrics; self.failure = failure; self.elapsedSeconds = elapsedSeconds
        self.targetKey = targetKey.flatMap { $0.isEmpty ? nil : $0 }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        targetKey = try c.decodeIfPresent(String.self, forKey: .targetKey)
        label = try c.decode(String.self, forKey: .label)
        metrics = try c.decode([MetricComparison].self, forKey: .metrics)
        failure = try c.decodeIfPresent(String.self, forKey: .failure)
        elapsedSeconds = try c.decodeIfPresent(Double.self, forKey: .elapsedSeconds) ?? 0
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encodeIfPresent(targetKey, forKey: .targetKey)
        try c.encode(label, forKey: .label)
        try c.encode(metrics, forKey: .metrics)
        try c.encodeIfPresent(failure, forKey: .failure)
        try c.encode(elapsedSeconds, forKey: .elapsedSeconds)
        try c.encode(regression, forKey: .regression)
        try c.encode(improvement, forKey: .improvement)
    }
}

/// `iobench compare BASE NEW`: schema `iobench/compare`, version 2 (version 1 is still
/// read: its `noise` verdict reads as `unclear`, `improvement` as `improved`).
public struct RunComparison: Codable, Sendable {
    public static let currentSchemaVersion = 2
    public static let readableVersions = [1, 2]

    public var schema = "iobench/compare"
    public var schemaVersion = RunComparison.currentSchemaVersion
    public var base: String
    public var new: String
    public var thresholds: [CompareThreshold]
    /// The family's false-alarm level (`--alpha`), the number of gated tests m, the
    /// regressions Benjamini–Hochberg found R, and the one-sided level every interval is
    /// printed at, α·max(R, 1)/m.
    public var alpha: Double
    public var tests: Int
    public var rejections: Int
    public var alphaEffective: Double
    public var paired: Bool
    public var allowMissing: Bool
    public var cases: [CaseComparison]
    /// Case identities (`key/id`, or the id alone) ok in BASE but not in NEW (absent or
    /// skipped), and ok in NEW but not in BASE.
    public var missingInNew: [String]
    public var missingInBase: [String]
    public var regressions: Int { cases.filter(\.regression).count }
    public var improvements: Int { cases.filter(\.improvement).count }
    /// 1 when any case regressed, or a case is missing from NEW without --allow-missing.
    public var exitCode: Int32 { regressions > 0 || (!allowMissing && !missingInNew.isEmpty) ? 1 : 0 }

    /// The rule, as printed with every report.
    public var rule: String {
        let level = (1 - 2 * alphaEffective) * 100
        return "regression when the whole \(Self.percent(level))% interval of the change lies beyond the threshold in the worse direction "
            + "(one-sided test at α_eff = \(Self.sig(alphaEffective)); Benjamini–Hochberg at α = \(Self.sig(alpha)) over \(tests) test\(tests == 1 ? "" : "s"), \(rejections) rejected)"
    }

    static func sig(_ v: Double) -> String { String(format: "%.3g", v) }
    package static func percent(_ v: Double) -> String {
        var s = String(format: "%.2f", v)
        while s.contains(".") && (s.hasSuffix("0") || s.hasSuffix(".")) { s.removeLast() }
        return s
    }

    enum CodingKeys: String, CodingKey {
        case schema, base, new, thresholds, cases, regressions, improvements, alpha, tests, rejections, paired, rule
        case schemaVersion = "schema_version"
        case alphaEffective = "alpha_effective"
        case allowMissing = "allow_missing"
        case missingInNew = "missing_in_new"
        case missingInBase = "missing_in_base"
        case exitCode = "exit_code"
    }

    public init(base: String, new: String, thresholds: [CompareThreshold], alpha: Double, tests: Int, rejections: Int,
                alphaEffective: Double, paired: Bool, allowMissing: Bool, cases: [CaseComparison],
                missingInNew: [String], missingInBase: [String]) {
        self.base = base; self.new = new; self.thresholds = thresholds; self.alpha = alpha; self.tests = tests
        self.rejections = rejections; self.alphaEffective = alphaEffective; self.paired = paired
        self.allowMissing = allowMissing; self.cases = cases
        self.missingInNew = missingInNew; self.missingInBase = missingInBase
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        schema = try c.decode(String.self, forKey: .schema)
        schemaVersion = try c.decode(Int.self, forKey: .schemaVersion)
        base = try c.decode(String.self, forKey: .base)
        new = try c.decode(String.self, forKey: .new)
        thresholds = try c.decode([CompareThreshold].self, forKey: .thresholds)
        cases = try c.decode([CaseComparison].self, forKey: .cases)
        missingInNew = try c.decode([String].self, forKey: .missingInNew)
        missingInBase = try c.decode([String].self, forKey: .missingInBase)
        alpha = try c.decodeIfPresent(Double.self, forKey: .alpha) ?? 0.05
        tests = try c.decodeIfPresent(Int.self, forKey: .tests) ?? 0
        rejections = try c.decodeIfPresent(Int.self, forKey: .rejections) ?? 0
        alphaEffective = try c.decodeIfPresent(Double.self, forKey: .alphaEffective) ?? alpha
        paired = try c.decodeIfPresent(Bool.self, forKey: .paired) ?? false
        // Version 1 never failed on missing cases.
        allowMissing = try c.decodeIfPresent(Bool.self, forKey: .allowMissing) ?? (schemaVersion < 2)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(schema, forKey: .schema)
        try c.encode(schemaVersion, forKey: .schemaVersion)
        try c.encode(base, forKey: .base)
        try c.encode(new, forKey: .new)
        try c.encode(thresholds, forKey: .thresholds)
        try c.encode(alpha, forKey: .alpha)
        try c.encode(tests, forKey: .tests)
        try c.encode(rejections, forKey: .rejections)
        try c.encode(alphaEffective, forKey: .alphaEffective)
        try c.encode(rule, forKey: .rule)
        try c.encode(paired, forKey: .paired)
        try c.encode(allowMissing, forKey: .allowMissing)
        try c.encode(cases, forKey: .cases)
        try c.encode(missingInNew, forKey: .missingInNew)
        try c.encode(missingInBase, forKey: .missingInBase)
        try c.encode(regressions, forKey: .regressions)
        try c.encode(improvements, forKey: .improvements)
        try c.encode(exitCode, forKey: .exitCode)
    }
}

/// One side of a case as the gate sees it: its repeats' values and its pooled histogram.
struct GateSide {
    let c: CaseResult
    /// Repeats (or merged sources), each at least one; a case without repeats is one.
    let repeats: Int
    let units: [RepeatResult]
    let pooled: LatencyHistogram?
    let quantiles: HistogramQuantiles?
    private var unitHistograms: [Int: LatencyHistogram] = [:]

    init(_ c: CaseResult) {
        self.c = c
        units = c.repeats ?? []
        repeats = max(units.count, 1)
        pooled = c.histogram?.live
        quantiles = pooled.map { HistogramQuantiles($0, exactMax: c.latency?.maxNs) }
        for (i, u) in units.enumerated() {
            if let h = u.histogram?.live { unitHistograms[i] = h }
        }
    }

    /// A latency metric read off a histogram (never off the printed percentile list),
    /// capped at the exact maximum; the mean from the exact sum.
    static func latencyValue(_ m: CompareMetric, histogram h: LatencyHistogram?, summary l: LatencySummary?) -> Double? {
        guard let l, l.count > 0 else { return nil }
        if m == .mean { return l.exactMeanNs }
        guard let q = m.quantile, let h, h.count > 0 else { return nil }
        return Double(min(h.value(atPercentile: q * 100), max(l.maxNs, 1)))
    }

    /// The case's value for a metric (as the report shows it).
    func value(_ m: CompareMetric) -> Double? {
        switch m {
        case .iops: return c.iops
        case .cpu: return c.cpu?.perIONs
        default: return Self.latencyValue(m, histogram: pooled, summary: c.latency)
        }
    }

    /// The metric per repeat, when every repeat has a positive, finite value.
    func perRepeat(_ m: CompareMetric) -> [Double]? {
        guard units.count >= 1 else { return nil }
        var out: [Double] = []
        for (i, u) in units.enumerated() {
            let v: Double?
            switch m {
            case .iops: v = u.iops
            case .cpu: v = u.cpu?.perIONs
            default: v = Self.latencyValue(m, histogram: unitHistograms[i], summary: u.latency)
            }
            guard let v, v > 0, v.isFinite else { return nil }
            out.append(v)
        }
        return out
    }

    /// Reads per second over every whole second measured (all repeats).
    var timeline: [Double] {
        let secs = units.isEmpty ? c.timelineIOPS : units.flatMap(\.timelineIOPS)
        return (secs.isEmpty ? c.timelineIOPS : secs).map { Double(max($0, 1)) }
    }

    /// The within-run standard error of ln(metric) for a latency metric, or why there
    /// is none (too few reads).
    func withinRunLogSE(_ m: CompareMetric, minTailReads: Int) -> (se: Double?, reads: Double, why: String?) {
        guard let l = c.latency, l.count > 0, let pooled, pooled.count > 0, let qs = quantiles else {
            return (nil, 0, "no latencies recorded")
        }
        let n = Double(pooled.count)
        if m == .mean {
            let mean = l.exactMeanNs
            guard n >= Double(minTailReads), mean > 0 else { return (nil, n, "the mean needs ≥ \(minTailReads) reads") }
            return (max(l.stddevNs, 0) / (mean * n.squareRoot()), n, nil)
        }
        guard let p = m.quantile else { return (nil, n, nil) }
        let tail = n * min(p, 1 - p)
        guard tail >= Double(minTailReads) else { return (nil, tail, "too few reads") }
        let z = Comparator.intervalZ
        guard let iv = qs.interval(p: p, z: z) else { return (nil, tail, "no latencies recorded") }
        return ((log(Double(iv.high)) - log(Double(iv.low))) / (2 * z), tail, nil)
    }
}

public enum Comparator {
    /// A tail percentile is gated only with at least this many reads above it (below
    /// it, for a percentile under 50). See docs/ci.md: at 20 the rank interval is
    /// ±1.96·√20 ≈ ±8.8 reads (±44% of the reads above the percentile) at 95%, the
    /// binomial's normal approximation holds, and the interval's upper rank stays
    /// inside the data for one-sided levels down to 1e-5 (z ≤ √20).
    public static let minTailReads = 20
    /// The normal quantile at which the within-run rank interval is read off the
    /// histogram and turned into a standard error (95% two-sided).
    static let intervalZ = 1.959963984540054
    /// Repeats on each side from which the between-repeat spread is estimated.
    public static let minRepeats = 3
    public static let defaultAlpha = 0.05

    /// The thresholds in force: the defaults, overridden metric by metric.
    public static func thresholds(_ overrides: [CompareThreshold]) -> [CompareThreshold] {
        CompareMetric.allCases.map { m in
            overrides.last { $0.metric == m } ?? CompareThreshold(metric: m, percent: m.defaultThresholdPercent)
        }
    }

    /// The estimate of d = ln(new/base) for one case and metric, or why it is not gated.
    enum Estimate {
        case gated(GateTest, NoiseModel, note: String?)
        case notGated(String)
    }

    static func estimate(_ t: CompareThreshold, base b: GateSide, new n: GateSide, paired: Bool) -> Estimate {
        let m = t.metric
        let worse: Double = m.higherIsBetter ? -1 : 1
        func test(_ d: Double, _ se: Double, _ df: Double) -> GateTest {
            GateTest(d: d, se: se, df: df.isFinite ? df : .infinity, worseSign: worse, delta: t.logDelta)
        }
        let k = Comparator.minRepeats
        let tailName = m.quantile.map { "reads \($0 < 0.5 ? "below" : "above") \(m.rawValue)" } ?? "reads"
        // Too few reads for a latency metric is its own verdict, whatever the repeats.
        var within: (d: Double, se: Double)?
        if m != .iops && m != .cpu {
            let wb = b.withinRunLogSE(m, minTailReads: minTailReads), wn = n.withinRunLogSE(m, minTailReads: minTailReads)
            if wb.why == "no latencies recorded" || wn.why == "no latencies recorded" { return .notGated("no latencies recorded (--no-latency?)") }
            guard let sb = wb.se, let sn = wn.se else {
                return .notGated("needs ≥ \(minTailReads) \(tailName), had \(Int(wb.reads)) (base) and \(Int(wn.reads)) (new); run longer")
            }
            guard let vb = b.value(m), let vn = n.value(m), vb > 0, vn > 0 else { return .notGated("no latencies recorded") }
            within = (log(vn / vb), (sb * sb + sn * sn).squareRoot())
        }
        if paired {
            guard b.repeats == n.repeats, b.repeats >= k else {
                return .notGated("--paired needs the same number (≥ \(k)) of rounds on both sides, had \(b.repeats) and \(n.repeats)")
            }
            guard let xb = b.perRepeat(m), let xn = n.perRepeat(m), let p = Gate.paired(zip(xn, xb).map { log($0 / $1) }) else {
                return .notGated("a round has no value for \(m.rawValue)")
            }
            return .gated(test(p.d, p.se, p.df), .paired, note: nil)
        }
        let enough = b.repeats >= k && n.repeats >= k
        switch m {
        case .iops, .cpu:
            if enough, let xb = b.perRepeat(m), let xn = n.perRepeat(m), let w = Gate.welch(base: xb.map(log), new: xn.map(log)) {
                return .gated(test(w.d, w.se, w.df), .repeats, note: nil)
            }
            if m == .cpu {
                return .notGated("CPU time per read is one value per repeat: needs ≥ \(k) repeats on each side, had \(b.repeats) and \(n.repeats)")
            }
            let tb = b.timeline, tn = n.timeline
            guard tb.count >= k, tn.count >= k, let w = Gate.welch(base: tb.map(log), new: tn.map(log)) else {
                return .notGated("IOPS needs ≥ \(k) repeats or ≥ \(k) whole seconds on each side, had \(b.repeats) repeats/\(tb.count) s and \(n.repeats) repeats/\(tn.count) s")
            }
            return .gated(test(w.d, w.se, w.df), .timeline,
                          note: "fewer than \(k) repeats on a side: per-second IOPS within the run(s), drift between runs not measured")
        default:
            let wr = within!
            if enough, let xb = b.perRepeat(m), let xn = n.perRepeat(m), let w = Gate.welch(base: xb.map(log), new: xn.map(log)) {
                // Whichever is wider: the spread between repeats or the within-run interval.
                if w.se > wr.se { return .gated(test(wr.d, w.se, w.df), .repeats, note: nil) }
                return .gated(test(wr.d, wr.se, .infinity), .withinRunWider, note: nil)
            }
            return .gated(test(wr.d, wr.se, .infinity), .withinRun,
                          note: "fewer than \(k) repeats on a side (\(b.repeats) and \(n.repeats)): the within-run interval alone, drift between runs not measured")
        }
    }

    public static func compare(base: RunResult, new: RunResult, baseName: String, newName: String,
                               thresholds overrides: [CompareThreshold] = [], alpha: Double = defaultAlpha,
                               allowMissing: Bool = false, paired: Bool = false) throws(IOBenchError) -> RunComparison {
        guard alpha > 0, alpha < 0.5 else { throw .badInput("--alpha \(alpha) is not a level between 0 and 0.5; the default is 0.05") }
        let limits = thresholds(overrides)
        guard !base.cases.isEmpty else { throw .badInput("\(baseName) has no cases: nothing to compare") }
        guard !new.cases.isEmpty else { throw .badInput("\(newName) has no cases: nothing to compare") }
        // An interrupted run measured part of what it was asked: its numbers are not a
        // verdict on anything (the run itself exited 130/143).
        for (r, name) in [(base, baseName), (new, newName)] where r.interrupted == true {
            throw .badInput("\(name) was interrupted (SIGINT or SIGTERM) before it finished: its cases are partial; run it again to completion")
        }
        let baseOK = base.cases.filter { $0.status == .ok }
        guard !baseOK.isEmpty else {
            throw .badInput("every case of \(baseName) failed or was skipped (\(base.cases[0].identity): \(base.cases[0].reason ?? base.cases[0].status.rawValue)): no baseline to compare with")
        }
        // Every case of NEW failed: each one ok in BASE is a regression (below), exit 1.
        // Only a NEW that measured nothing at all (every case skipped) cannot be judged.
        guard new.cases.contains(where: { $0.status != .skipped }) else {
            let f = new.cases[0]
            throw .badInput("every case of \(newName) was skipped (\(f.identity): \(f.reason ?? f.status.rawValue)): nothing was measured to compare")
        }
        // Cases are matched by identity: the id and the target key (empty for a run of
        // one target, so a one-target baseline keeps matching a one-target run).
        var newByID: [String: CaseResult] = [:]
        for c in new.cases where newByID[c.identity] == nil || newByID[c.identity]?.status != .ok { newByID[c.identity] = c }
        let baseIDs = Set(baseOK.map(\.identity))
        guard baseOK.contains(where: { newByID[$0.identity].map { $0.status != .skipped } ?? false }) else {
            func few(_ ids: [String]) -> String { ids.prefix(3).joined(separator: ", ") + (ids.count > 3 ? ", …" : "") }
            // The same ids under other target keys: the targets are labelled differently.
            let sameIDs = !Set(baseOK.map(\.id)).isDisjoint(with: new.cases.filter { $0.status != .skipped }.map(\.id))
            let hint = sameIDs
                ? "the ids match but their target keys differ (a case is its id and its target's label); label the targets alike in both runs, e.g. --target ext4=PATH"
                : "run both with the same options"
            throw .badInput("no case id is in both files: \(baseName) has \(few(baseOK.map(\.identity))); \(newName) has \(few(new.cases.map(\.identity))); \(hint)")
        }

        var out: [CaseComparison] = []
        var pending: [(caseIndex: Int, metricIndex: Int, test: GateTest)] = []
        var seen = Set<String>()
        for c in baseOK where seen.insert(c.identity).inserted {
            guard let n = newByID[c.identity], n.status != .skipped else { continue }
            guard c.config.blockSize == n.config.blockSize, c.config.queueDepth == n.config.queueDepth,
                  c.config.engine == n.config.engine, c.config.pathClass == n.config.pathClass,
                  c.config.options == n.config.options, c.config.pattern == n.config.pattern, c.config.jobs == n.config.jobs,
                  c.config.continueOnError == n.config.continueOnError else {
                throw .badInput("case \(c.identity) has different configurations in \(baseName) and \(newName); compare results of the same cases")
            }
            let elapsed = Double(n.elapsedNs) / 1e9
            if n.status == .failed || n.errors.ioErrors > 0 || n.errors.shortReads > 0 || n.errors.verifyMismatches > 0 {
                let why: String
                if n.status == .failed {
                    why = "ok in \(baseName), failed in \(newName): \(n.reason ?? "no reason recorded")"
                } else {
                    why = "ok in \(baseName), \(n.errors.ioErrors) I/O errors, \(n.errors.shortReads) short reads, \(n.errors.verifyMismatches) verify mismatches in \(newName)"
                }
                out.append(CaseComparison(id: c.id, targetKey: c.targetKey, label: c.label, metrics: [], failure: why, elapsedSeconds: elapsed))
                continue
            }
            let sb = GateSide(c), sn = GateSide(n)
            var metrics: [MetricComparison] = []
            for t in limits {
                let m = t.metric
                var mc = MetricComparison(metric: m, base: sb.value(m) ?? 0, new: sn.value(m) ?? 0, thresholdPercent: t.percent,
                                          baseRepeats: sb.repeats, newRepeats: sn.repeats, verdict: .notGated)
                mc.baseSpread = m.spread(c)
                mc.newSpread = m.spread(n)
                switch estimate(t, base: sb, new: sn, paired: paired) {
                case .notGated(let why):
                    mc.reason = why
                case .gated(let test, _, _) where !(test.d.isFinite && test.se.isFinite && abs(test.d) < 100 && test.se < 100):
                    // Values no run can produce (a damaged or hand-edited file): no verdict.
                    mc.reason = "values out of any measurable range"
                case .gated(let test, let model, let note):
                    mc.noiseModel = model
                    mc.reason = note
                    mc.stdErrorLog = test.se
                    mc.degreesOfFreedom = test.df.isFinite ? test.df : nil
                    mc.changePercent = expm1(test.d) * 100
                    pending.append((out.count, metrics.count, test))
                }
                metrics.append(mc)
            }
            out.append(CaseComparison(id: c.id, targetKey: c.targetKey, label: c.label, metrics: metrics, elapsedSeconds: elapsed))
        }

        let judged = Gate.judge(pending.map(\.test), alpha: alpha)
        for (i, p) in pending.enumerated() {
            let o = judged.outcomes[i]
            var mc = out[p.caseIndex].metrics[p.metricIndex]
            mc.pValue = o.pValue
            // Finite for JSON: a huge quantile (ν near 1) can overflow e^x.
            func pct(_ x: Double) -> Double { let v = expm1(x) * 100; return v.isFinite ? v : (v > 0 ? 1e300 : -100) }
            mc.interval = .init(lowPercent: pct(o.low), highPercent: pct(o.high), level: 1 - 2 * judged.alphaEffective)
            if !(mc.pValue?.isFinite ?? true) { mc.pValue = nil }
            switch o.verdict {
            case .regression: mc.verdict = .regression
            case .improved: mc.verdict = .improved
            case .unchanged: mc.verdict = .unchanged
            case .unclear: mc.verdict = .unclear
            }
            out[p.caseIndex].metrics[p.metricIndex] = mc
        }
        if pending.isEmpty && !out.contains(where: { $0.failure != nil }) {
            let why = out.flatMap(\.metrics).compactMap(\.reason).first ?? "no metric had values on both sides"
            throw .badInput("no metric of any case could be gated (first reason: \(why))")
        }
        var missingInNew: [String] = []
        for id in baseOK.map(\.identity) where (newByID[id] == nil || newByID[id]?.status == .skipped) && !missingInNew.contains(id) { missingInNew.append(id) }
        var missingInBase: [String] = []
        for c in new.cases where c.status == .ok && !baseIDs.contains(c.identity) && !missingInBase.contains(c.identity) { missingInBase.append(c.identity) }
        return RunComparison(base: baseName, new: newName, thresholds: limits, alpha: alpha, tests: pending.count,
                                rejections: judged.rejections, alphaEffective: judged.alphaEffective, paired: paired,
                                allowMissing: allowMissing, cases: out, missingInNew: missingInNew,
                                missingInBase: missingInBase)
    }
}

import Foundation
import IOBenchPlatform
import IOBenchHistogram
import IOBenchWorkload
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

import Foundation

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
    /// it also lies outside the run-to-run spread. Tails are noisier than medians.
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
        let worse = metric.higherIsBetter ? -abs(v) : abs(v)
        if signed && (v < 0) != (worse < 0) && v != 0 {
            throw .badInput("--threshold '\(Units.printable(text))': for \(metric.rawValue) the worse direction is \(metric.higherIsBetter ? "down (write -N%)" : "up (write +N%)")")
        }
        return CompareThreshold(metric: metric, percent: worse)
    }
}

public struct MetricComparison: Codable, Sendable {
    public enum Verdict: String, Codable, Sendable {
        case regression, improvement
        /// Beyond the threshold, but inside the run-to-run spread of the repeats.
        case noise
        case unchanged
    }

    public var metric: CompareMetric
    public var base: Double
    public var new: Double
    /// (new − base) / base, in percent.
    public var changePercent: Double
    public var thresholdPercent: Double
    public var baseSpread: Spread?
    public var newSpread: Spread?
    public var verdict: Verdict

    enum CodingKeys: String, CodingKey {
        case metric, base, new, verdict
        case changePercent = "change_percent"
        case thresholdPercent = "threshold_percent"
        case baseSpread = "base_spread"
        case newSpread = "new_spread"
    }
}

public struct CaseComparison: Codable, Sendable {
    public var id: String
    public var label: String
    public var metrics: [MetricComparison]
    public var regression: Bool { metrics.contains { $0.verdict == .regression } }
    public var improvement: Bool { metrics.contains { $0.verdict == .improvement } }

    enum CodingKeys: String, CodingKey { case id, label, metrics, regression, improvement }

    public init(id: String, label: String, metrics: [MetricComparison]) {
        self.id = id; self.label = label; self.metrics = metrics
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        label = try c.decode(String.self, forKey: .label)
        metrics = try c.decode([MetricComparison].self, forKey: .metrics)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(label, forKey: .label)
        try c.encode(metrics, forKey: .metrics)
        try c.encode(regression, forKey: .regression)
        try c.encode(improvement, forKey: .improvement)
    }
}

/// `iobench compare BASE NEW`: schema `iobench/compare`, version 1.
public struct ComparisonResult: Codable, Sendable {
    public var schema = "iobench/compare"
    public var schemaVersion = 1
    public var base: String
    public var new: String
    public var thresholds: [CompareThreshold]
    public var cases: [CaseComparison]
    /// Case ids in BASE but not in NEW, and the other way round.
    public var missingInNew: [String]
    public var missingInBase: [String]
    public var regressions: Int { cases.filter(\.regression).count }
    public var improvements: Int { cases.filter(\.improvement).count }
    /// 1 when any case regressed, else 0 (the process exit code).
    public var exitCode: Int32 { regressions > 0 ? 1 : 0 }

    enum CodingKeys: String, CodingKey {
        case schema, base, new, thresholds, cases, regressions, improvements
        case schemaVersion = "schema_version"
        case missingInNew = "missing_in_new"
        case missingInBase = "missing_in_base"
    }

    public init(base: String, new: String, thresholds: [CompareThreshold], cases: [CaseComparison], missingInNew: [String], missingInBase: [String]) {
        self.base = base; self.new = new; self.thresholds = thresholds; self.cases = cases
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
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(schema, forKey: .schema)
        try c.encode(schemaVersion, forKey: .schemaVersion)
        try c.encode(base, forKey: .base)
        try c.encode(new, forKey: .new)
        try c.encode(thresholds, forKey: .thresholds)
        try c.encode(cases, forKey: .cases)
        try c.encode(missingInNew, forKey: .missingInNew)
        try c.encode(missingInBase, forKey: .missingInBase)
        try c.encode(regressions, forKey: .regressions)
        try c.encode(improvements, forKey: .improvements)
    }
}

public enum Comparator {
    /// The thresholds in force: the defaults, overridden metric by metric.
    public static func thresholds(_ overrides: [CompareThreshold]) -> [CompareThreshold] {
        CompareMetric.allCases.map { m in
            overrides.last { $0.metric == m } ?? CompareThreshold(metric: m, percent: m.defaultThresholdPercent)
        }
    }

    public static func compare(base: RunResult, new: RunResult, baseName: String, newName: String,
                               thresholds overrides: [CompareThreshold] = []) throws(IOBenchError) -> ComparisonResult {
        let limits = thresholds(overrides)
        let baseCases = Dictionary(base.cases.filter { $0.status == .ok }.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let newCases = Dictionary(new.cases.filter { $0.status == .ok }.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var out: [CaseComparison] = []
        for c in base.cases where c.status == .ok {
            guard let n = newCases[c.id] else { continue }
            guard c.config.blockSize == n.config.blockSize, c.config.queueDepth == n.config.queueDepth,
                  c.config.engine == n.config.engine, c.config.pathClass == n.config.pathClass,
                  c.config.options == n.config.options, c.config.pattern == n.config.pattern, c.config.jobs == n.config.jobs,
                  c.config.continueOnError == n.config.continueOnError else {
                throw .badInput("case \(c.id) has different configurations in \(baseName) and \(newName); compare results of the same cases")
            }
            var metrics: [MetricComparison] = []
            for t in limits {
                guard let b = t.metric.value(c), let v = t.metric.value(n), b > 0 else { continue }
                metrics.append(judge(t, base: b, new: v, baseSpread: t.metric.spread(c), newSpread: t.metric.spread(n)))
            }
            out.append(CaseComparison(id: c.id, label: c.label, metrics: metrics))
        }
        let missingInNew = base.cases.filter { $0.status == .ok && newCases[$0.id] == nil }.map(\.id)
        let missingInBase = new.cases.filter { $0.status == .ok && baseCases[$0.id] == nil }.map(\.id)
        return ComparisonResult(base: baseName, new: newName, thresholds: limits, cases: out,
                                missingInNew: missingInNew, missingInBase: missingInBase)
    }

    /// A change is a regression when it goes past the threshold in the worse direction
    /// and, when both sides have repeats, every repeat of NEW is worse than every repeat
    /// of BASE (the ranges do not overlap): noise alone never fails a pipeline.
    static func judge(_ t: CompareThreshold, base: Double, new: Double, baseSpread: Spread?, newSpread: Spread?) -> MetricComparison {
        let change = (new - base) / base * 100
        let worseSign: Double = t.metric.higherIsBetter ? -1 : 1
        let worseBy = change * worseSign           // > 0: worse
        let limit = abs(t.percent)
        var verdict = MetricComparison.Verdict.unchanged
        if worseBy > limit || -worseBy > limit {
            let worse = worseBy > 0
            var separated = true
            if let bs = baseSpread, let ns = newSpread {
                // The ranges must not overlap, in the direction of the change.
                let higher = ns.min > bs.max, lower = ns.max < bs.min
                let wentDown = t.metric.higherIsBetter == worse
                separated = wentDown ? lower : higher
            }
            verdict = separated ? (worse ? .regression : .improvement) : .noise
        }
        return MetricComparison(metric: t.metric, base: base, new: new, changePercent: change, thresholdPercent: t.percent,
                                baseSpread: baseSpread, newSpread: newSpread, verdict: verdict)
    }
}

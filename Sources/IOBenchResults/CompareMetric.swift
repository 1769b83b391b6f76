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

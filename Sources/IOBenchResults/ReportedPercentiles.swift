import Foundation
import IOBenchHistogram
import IOBenchPlatform

/// `--percentiles`: the list every latency summary of a result reports, in place of the
/// standard 13. Each value comes from the summary's own histogram, which stays whole in
/// the result, so `compare` (which gates from histograms) and later reports lose nothing.
public enum ReportedPercentiles {
    /// The encoder's note of the list a result's JSON shows (every summary keeps the
    /// standard percentiles too, for the reports that read p50, p99 and p99.9).
    public static let userInfoKey = CodingUserInfoKey(rawValue: "iobench.reportedPercentiles")!

    /// The list an encoder was given to show (nil: every percentile).
    static func list(in encoder: Encoder) -> [Double]? { encoder.userInfo[userInfoKey] as? [Double] }

    /// The standard table columns when a result has no list of its own.
    public static let standardColumns: [Double] = [50, 90, 99, 99.9, 99.99]

    /// Parses `50,90,99,99.9`: each in (0, 100], sorted, without repeats; at most 32.
    public static func parse(_ text: String, option: String = "--percentiles") throws(IOBenchError) -> [Double] {
        var values: [Double] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let t = part.trimmingCharacters(in: .whitespaces)
            guard let v = Double(t), v.isFinite, v > 0, v <= 100 else {
                throw .badInput("\(option) '\(t)' is not a percentile; give numbers above 0 and at most 100, e.g. \(option) 50,90,99,99.9")
            }
            values.append(v)
        }
        let list = Array(Set(values)).sorted()
        guard list.count <= 32 else { throw .badInput("\(option) lists \(list.count) percentiles; at most 32") }
        return list
    }
}

extension LatencySummary {
    /// The summary with `list` and the standard percentiles, read from `h` (its own
    /// histogram); the JSON shows only `list` (see `encode(to:)`).
    mutating func report(_ list: [Double], from h: LatencyHistogram) {
        percentiles = Array(Set(list + Self.reportedPercentiles)).sorted().map { PercentileValue(percentile: $0, valueNs: h.value(atPercentile: $0)) }
        clampPercentiles()
    }
}

extension RunResult {
    /// Every case's, repeat's and open loop's latency summary reports `list`.
    public mutating func reportPercentiles(_ list: [Double]) {
        percentiles = list
        for i in cases.indices {
            if let h = cases[i].histogram?.live { cases[i].latency?.report(list, from: h) }
            for r in cases[i].repeats?.indices ?? (0 ..< 0) {
                if let h = cases[i].repeats?[r].histogram?.live { cases[i].repeats?[r].latency?.report(list, from: h) }
                if var o = cases[i].repeats?[r].openLoop { o.report(list); cases[i].repeats?[r].openLoop = o }
            }
            if var o = cases[i].openLoop { o.report(list); cases[i].openLoop = o }
            // The spread across repeats gets the asked percentiles too.
            if let repeats = cases[i].repeats, let spread = cases[i].spread, spread.count == repeats.count {
                let more = RepeatSpread(units: repeats.map { ($0.iops, $0.latency, $0.cpu) })
                cases[i].spread?.percentilesNs.merge(more.percentilesNs) { old, _ in old }
            }
        }
    }

    /// The percentile columns of this result's tables: its `--percentiles`, else the standard five.
    public var percentileColumns: [Double] { percentiles ?? ReportedPercentiles.standardColumns }
}

extension OpenLoopSummary {
    mutating func report(_ list: [Double]) {
        if let h = responseTimeHistogram?.live { responseTime.report(list, from: h) }
        if let h = issueLagHistogram?.live { issueLag.report(list, from: h) }
    }
}

extension LatencySummary {
    /// As synthesized, except that with a `--percentiles` list in the encoder's userInfo
    /// only those percentiles are written.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(count, forKey: .count)
        try c.encode(minNs, forKey: .minNs)
        try c.encode(maxNs, forKey: .maxNs)
        try c.encode(meanNs, forKey: .meanNs)
        try c.encodeIfPresent(sumNs, forKey: .sumNs)
        try c.encode(stddevNs, forKey: .stddevNs)
        try c.encode(outOfRange, forKey: .outOfRange)
        if let list = ReportedPercentiles.list(in: encoder) {
            try c.encode(percentiles.filter { list.contains($0.percentile) }, forKey: .percentiles)
        } else {
            try c.encode(percentiles, forKey: .percentiles)
        }
    }
}

extension RepeatSpread {
    /// As synthesized, except that with a `--percentiles` list in the encoder's userInfo
    /// only those percentiles' spreads are written, as for `latency.percentiles`.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(count, forKey: .count)
        try c.encode(iops, forKey: .iops)
        try c.encode(meanNs, forKey: .meanNs)
        try c.encode(cpuPerIONs, forKey: .cpuPerIONs)
        if let list = ReportedPercentiles.list(in: encoder) {
            let keys = Set(list.map(RepeatSpread.key))
            try c.encode(percentilesNs.filter { keys.contains($0.key) }, forKey: .percentilesNs)
        } else {
            try c.encode(percentilesNs, forKey: .percentilesNs)
        }
    }
}

import Foundation
import IOBenchWorkload
import IOBenchHistogram

/// One paired difference between a classed case and its like-for-like reference: the
/// mean over rounds of (case − reference) in round i, with a Student t interval over the
/// rounds. Drift that slows a whole round hits both sides of that round's pair and
/// cancels; drift that hits one side widens the interval instead of biasing the estimate.
public struct PairedDelta: Codable, Sendable, Equatable {
    public enum Metric: String, Codable, Sendable, CaseIterable {
        case p50 = "p50_ns"
        case p99 = "p99_ns"
        case cpuPerIO = "cpu_per_io_ns"
        case iops
    }

    /// Latency and CPU time: an additive difference in ns. IOPS: a ratio (case/reference),
    /// its interval taken on the log scale.
    public enum Kind: String, Codable, Sendable { case difference, ratio }

    public enum Finding: String, Codable, Sendable {
        /// The whole interval lies above 0 (a ratio: above 1).
        case higher
        /// The whole interval lies below 0 (below 1).
        case lower
        /// The interval includes 0 (1): no difference detected at this level.
        case noDifference = "no_difference_detected"
        /// One round only: the estimate has no interval.
        case noInterval = "no_interval"
    }

    public var metric: Metric
    public var kind: Kind
    /// The mean paired difference (ns), or the geometric mean of the per-round ratios.
    public var estimate: Double
    /// The interval at the comparison's level; nil with one round.
    public var low: Double?
    public var high: Double?
    /// Rounds in which both the case and its reference ran (the pairs).
    public var rounds: Int
    public var finding: Finding
    /// The same difference from the aggregates (merged histograms, mean CPU, mean IOPS),
    /// unpaired: what a report without rounds would show.
    public var unpaired: Double?

    enum CodingKeys: String, CodingKey {
        case metric, kind, estimate, low, high, rounds, finding, unpaired
    }

    /// The largest |Δ| the interval allows (a difference), for "no difference detected".
    public var bound: Double? {
        guard let low, let high else { return nil }
        return Swift.max(abs(low), abs(high))
    }
}

/// A classed case against its like-for-like reference on the same target, engine
/// setting and block size:
/// - multi-extent against single-extent: what the extra mappings cost;
/// - simple and single-extent against raw: what the filesystem costs on each path;
/// - unwritten against the written class of its size: what zero-filling costs.
/// Raw is the floor and has no reference.
public struct ClassComparison: Codable, Sendable {
    /// The compared case's identity (id, with its target key) and label.
    public var caseIdentity: String
    public var caseLabel: String
    public var pathClass: PathClass
    public var blockSize: Int
    /// The reference: its class and block size, and its identity when it ran.
    public var referenceClass: PathClass
    public var referenceBlockSize: Int
    public var referenceIdentity: String?
    /// Why there are no deltas (the reference was skipped or failed), else nil.
    public var missingReference: String?
    /// The question the pair answers, in words.
    public var question: String
    /// Two-sided confidence level of every interval.
    public var level: Double
    public var deltas: [PairedDelta]

    enum CodingKeys: String, CodingKey {
        case level, question, deltas
        case caseIdentity = "case"
        case caseLabel = "label"
        case pathClass = "class"
        case blockSize = "bs"
        case referenceClass = "reference_class"
        case referenceBlockSize = "reference_bs"
        case referenceIdentity = "reference"
        case missingReference = "missing_reference"
    }

    public func delta(_ m: PairedDelta.Metric) -> PairedDelta? { deltas.first { $0.metric == m } }

    /// "raw 4k": the reference as the table names it.
    public var referenceName: String {
        "\(referenceClass.rawValue) \(Units.formatSize(UInt64(referenceBlockSize)))"
    }
}

extension ClassComparison {
    /// The default two-sided level of the class intervals.
    public static let defaultLevel = 0.95

    /// The like-for-like reference of a class at block size `bs` (`fsBlock`: the
    /// filesystem block, which decides whether an unwritten read compares with simple or
    /// single-extent), and the question the pair answers. Nil for raw.
    public static func reference(of cls: PathClass, bs: Int, fsBlock: Int) -> (PathClass, String)? {
        switch cls {
        case .multiExtent: return (.singleExtent, "what a read's extra mappings cost (same bs, one mapping vs several)")
        case .simple: return (.raw, "what the filesystem costs on the simple path (same bs, same blocks read from the device)")
        case .singleExtent: return (.raw, "what the filesystem costs on the general path (same bs, same blocks read from the device)")
        case .unwritten: return (bs <= fsBlock ? .simple : .singleExtent, "what reading unwritten (zero-filled) blocks costs against written ones")
        case .raw: return nil
        }
    }

    /// Every classed case that measured something, against its reference, in case order.
    /// Cases pair with a reference of the same target (key or path), the same engine
    /// setting (everything but class and block size) and the reference's block size.
    public static func compute(_ cases: [CaseResult], level: Double = defaultLevel) -> [ClassComparison] {
        var byKey: [String: CaseResult] = [:]
        for c in cases where c.config.pathClass != nil {
            byKey[c.classGroup + "\u{0}\(c.config.pathClass!.rawValue)/\(c.config.blockSize)"] = c
        }
        var out: [ClassComparison] = []
        for c in cases where c.status == .ok && c.ios > 0 {
            guard let cls = c.config.pathClass else { continue }
            let fsBlock = c.plan?.filesystemBlockSize ?? 4096
            guard let (refClass, question) = reference(of: cls, bs: c.config.blockSize, fsBlock: fsBlock) else { continue }
            var cmp = ClassComparison(caseIdentity: c.identity, caseLabel: c.label, pathClass: cls, blockSize: c.config.blockSize,
                                      referenceClass: refClass, referenceBlockSize: c.config.blockSize, referenceIdentity: nil,
                                      missingReference: nil, question: question, level: level, deltas: [])
            let ref = byKey[c.classGroup + "\u{0}\(refClass.rawValue)/\(c.config.blockSize)"]
            guard let r = ref, r.status == .ok, r.ios > 0 else {
                if let r = ref {
                    cmp.missingReference = "\(cmp.referenceName) \(r.status == .skipped ? "was skipped" : "failed"): \(r.reason ?? r.status.rawValue)"
                } else {
                    cmp.missingReference = "\(cmp.referenceName) was not run"
                }
                out.append(cmp)
                continue
            }
            cmp.referenceIdentity = r.identity
            cmp.deltas = PairedDelta.Metric.allCases.compactMap { paired($0, case: c, reference: r, level: level) }
            out.append(cmp)
        }
        return out
    }

    /// The paired delta of one metric, or nil when a side has no value for it (latency
    /// with --no-latency).
    static func paired(_ m: PairedDelta.Metric, case c: CaseResult, reference r: CaseResult, level: Double) -> PairedDelta? {
        let x = roundValues(m, c), y = roundValues(m, r)
        let rounds = x.keys.filter { y[$0] != nil }.sorted { ($0.source, $0.round) < ($1.source, $1.round) }
        guard !rounds.isEmpty else { return nil }
        let kind: PairedDelta.Kind = m == .iops ? .ratio : .difference
        let values = rounds.map { i -> Double in
            kind == .ratio ? log(x[i]! / y[i]!) : x[i]! - y[i]!
        }
        let unpaired = aggregate(m, c).flatMap { a in aggregate(m, r).map { b in kind == .ratio ? a / b : a - b } }
        let back: (Double) -> Double = kind == .ratio ? { exp($0) } : { $0 }
        let zero = kind == .ratio ? 1.0 : 0.0
        guard let iv = interval(values, level: level) else {
            return PairedDelta(metric: m, kind: kind, estimate: back(values[0]), low: nil, high: nil, rounds: 1,
                               finding: .noInterval, unpaired: unpaired)
        }
        let low = back(iv.low), high = back(iv.high)
        let finding: PairedDelta.Finding = low > zero ? .higher : (high < zero ? .lower : .noDifference)
        return PairedDelta(metric: m, kind: kind, estimate: back(iv.mean), low: low, high: high, rounds: values.count,
                           finding: finding, unpaired: unpaired)
    }

    /// The Student t interval of the mean of `values` at two-sided `level`: mean ±
    /// t(1−(1−level)/2, n−1)·s/√n. Nil with fewer than two values.
    public static func interval(_ values: [Double], level: Double) -> (mean: Double, low: Double, high: Double)? {
        guard let t = Gate.paired(values) else { return nil }
        let q = GateMath.studentUpperQuantile((1 - level) / 2, df: t.df)
        return (t.d, t.d - q * t.se, t.d + q * t.se)
    }

    /// A round: its source file (merged results; "" otherwise) and its index there.
    package struct RoundKey: Hashable { package var source: String; package var round: Int }

    /// A metric per round; a case without repeats is round 1 of its one source (or of
    /// each of its sources, merged). Percentiles are read off each round's histogram,
    /// never off the printed list. Merged repeats keep their source and round there, so
    /// round i of a file pairs only with round i of the same file.
    package static func roundValues(_ m: PairedDelta.Metric, _ c: CaseResult) -> [RoundKey: Double] {
        guard let reps = c.repeats, !reps.isEmpty else {
            let key = RoundKey(source: c.sources?.count == 1 ? c.sources![0].file : "", round: 1)
            return aggregate(m, c).map { [key: $0] } ?? [:]
        }
        var out: [RoundKey: Double] = [:]
        for u in reps {
            let v: Double?
            switch m {
            case .iops: v = u.iops > 0 ? u.iops : nil
            case .cpuPerIO: v = u.cpu?.perIONs
            case .p50, .p99:
                let h = u.histogram?.live
                v = GateSide.latencyValue(m == .p50 ? .p50 : .p99, histogram: h, summary: u.latency)
            }
            if let v, v.isFinite { out[RoundKey(source: u.source ?? "", round: u.sourceRound ?? u.index)] = v }
        }
        return out
    }

    /// The metric over the whole case (merged histogram, mean CPU per read, mean IOPS).
    static func aggregate(_ m: PairedDelta.Metric, _ c: CaseResult) -> Double? {
        switch m {
        case .iops: return c.iops > 0 ? c.iops : nil
        case .cpuPerIO: return c.cpu?.perIONs
        case .p50, .p99:
            let h = c.histogram?.live
            return GateSide.latencyValue(m == .p50 ? .p50 : .p99, histogram: h, summary: c.latency)
        }
    }
}

import IOBenchHistogram
import IOBenchPlatform
/// Several results of one case added up (the repeats of a run, or the same case from
/// several files): the histograms merged losslessly, reads, CPU time and error counts
/// summed without trapping on damaged input, and the exact latency extremes kept.
struct CaseTotals {
    var histogram = LatencyHistogram()
    var usage = ThreadUsage()
    var ios: UInt64 = 0
    var errors = ErrorSummary()
    private var minNs: UInt64?
    private var maxNs: UInt64?

    /// Adds one result whose histogram has been decoded as `h`.
    mutating func add(_ c: CaseResult, histogram h: LatencyHistogram) {
        var exact = h
        // Decoding keeps buckets, not the exact sum: the result's own sum restores it
        // (mean × count for a file written before `sum_ns` existed).
        exact.sum = c.latency?.sumNs ?? HdrV2Codec.exactSum(mean: c.latency?.meanNs ?? 0, count: h.count)
        exact.outOfRange = c.latency?.outOfRange ?? 0
        histogram.add(exact)
        add(counts: c)
    }

    /// Adds a result's reads, CPU time and errors (its histogram did not decode).
    mutating func add(counts c: CaseResult) {
        ios = sat(ios, c.ios)
        if let cpu = c.cpu {
            usage.userNs = sat(usage.userNs, cpu.userNs)
            usage.systemNs = sat(usage.systemNs, cpu.systemNs)
            usage.voluntarySwitches = sat(usage.voluntarySwitches, cpu.voluntarySwitches)
            usage.involuntarySwitches = sat(usage.involuntarySwitches, cpu.involuntarySwitches)
        }
        errors.ioErrors = sat(errors.ioErrors, c.errors.ioErrors)
        errors.shortReads = sat(errors.shortReads, c.errors.shortReads)
        errors.verifiedReads = sat(errors.verifiedReads, c.errors.verifiedReads)
        errors.verifyMismatches = sat(errors.verifyMismatches, c.errors.verifyMismatches)
        if errors.firstError == nil { errors.firstError = c.errors.firstError }
        if errors.firstMismatchOffset == nil { errors.firstMismatchOffset = c.errors.firstMismatchOffset }
        if let l = c.latency {
            if l.count > 0 { minNs = min(minNs ?? .max, l.minNs) }
            maxNs = max(maxNs ?? 0, l.maxNs)
        }
    }

    /// The merged latency, with the exact minimum and maximum of the parts (decoded
    /// histograms know only their buckets).
    var latency: LatencySummary {
        var s = LatencySummary(histogram)
        if let minNs { s.minNs = minNs }
        if let maxNs { s.maxNs = maxNs }
        s.clampPercentiles()
        return s
    }

    var cpu: CPUSummary { CPUSummary(usage, ios: ios) }
}

/// Addition that stops at the largest value instead of trapping: result files come from
/// outside, and a damaged one must give a clear error, never a crash.
@inline(__always)
func sat(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let (v, o) = a.addingReportingOverflow(b)
    return o ? .max : v
}

extension RepeatSpread {
    /// The spread of each metric over `units` (repeats, or sources without repeats).
    init(units: [(iops: Double, latency: LatencySummary?, cpu: CPUSummary?)]) {
        self.init(count: units.count, iops: Spread(units.map(\.iops)),
                  meanNs: Spread(units.compactMap { $0.latency?.meanNs }),
                  cpuPerIONs: Spread(units.compactMap { $0.cpu?.perIONs }),
                  percentilesNs: Dictionary(uniqueKeysWithValues: LatencySummary.reportedPercentiles.map { p in
                      (RepeatSpread.key(p), Spread(units.compactMap { $0.latency?.value(at: p) }.map { Double($0) }))
                  }))
    }
}

import IOBenchHistogram
import IOBenchMeasurement
import IOBenchPlatform
import IOBenchWorkload
import IOBenchEngines

/// What the parts of one case add up to: the jobs of a run (`CaseResult(spec:outcomes:)`),
/// the repeats of a case (`aggregate`) and the same case from several files (`merge`),
/// all through `add(ios:usage:errors:histogram:latency:)`. Histograms are added (lossless);
/// reads, CPU time and error counts are exact integer sums that stop at the largest value
/// instead of trapping on damaged input; the exact latency extremes are kept.
package struct CaseTotals {
    var latencyTotals = LatencyTotals()
    var histogram: LatencyHistogram { latencyTotals.histogram }
    var usage = ThreadUsage()
    var ios: UInt64 = 0
    var errors = ErrorSummary()

    /// Adds one part. `latency` is the part's own summary when it has one (a repeat, a
    /// file's case): its exact minimum and maximum, which a histogram read from a file
    /// knows only as bucket edges.
    mutating func add(ios n: UInt64, usage u: ThreadUsage, errors e: ErrorSummary, histogram h: LatencyHistogram?, latency: LatencySummary?) {
        latencyTotals.add(h, summary: latency)
        ios = sat(ios, n)
        usage.userNs = sat(usage.userNs, u.userNs)
        usage.systemNs = sat(usage.systemNs, u.systemNs)
        usage.voluntarySwitches = sat(usage.voluntarySwitches, u.voluntarySwitches)
        usage.involuntarySwitches = sat(usage.involuntarySwitches, u.involuntarySwitches)
        errors.ioErrors = sat(errors.ioErrors, e.ioErrors)
        errors.shortReads = sat(errors.shortReads, e.shortReads)
        errors.verifiedReads = sat(errors.verifiedReads, e.verifiedReads)
        errors.verifyMismatches = sat(errors.verifyMismatches, e.verifyMismatches)
        if errors.firstError == nil { errors.firstError = e.firstError }
        if errors.firstMismatchOffset == nil { errors.firstMismatchOffset = e.firstMismatchOffset }
    }

    /// Adds a case or repeat result: its histogram as held in memory (live, or decoded
    /// when the result was read, with its exact sum restored).
    mutating func add(_ c: CaseResult) {
        add(ios: c.ios, usage: ThreadUsage(c.cpu), errors: c.errors, histogram: c.histogram?.live, latency: c.latency)
    }

    /// The merged latency, with the exact minimum and maximum of the parts.
    var latency: LatencySummary { latencyTotals.summary }

    var cpu: CPUSummary { CPUSummary(usage, ios: ios) }
}

/// A latency added up from parts: their histograms added (lossless), and the exact
/// minimum and maximum of the parts' own summaries kept, which a histogram read from a
/// file knows only as bucket edges. Cases, repeats and merges use it through
/// `CaseTotals`; an open-loop case's response time and issue lag directly.
package struct LatencyTotals {
    private(set) var histogram = LatencyHistogram()
    private var minNs: UInt64?
    private var maxNs: UInt64?

    mutating func add(_ h: LatencyHistogram?, summary l: LatencySummary?) {
        if let h { histogram.add(h) }
        if let l {
            if l.count > 0 { minNs = min(minNs ?? .max, l.minNs) }
            maxNs = max(maxNs ?? 0, l.maxNs)
        }
    }

    /// The merged summary, with the exact minimum and maximum of the parts.
    var summary: LatencySummary {
        var s = LatencySummary(histogram)
        if let minNs { s.minNs = minNs }
        if let maxNs { s.maxNs = maxNs }
        s.clampPercentiles()
        return s
    }
}

extension ThreadUsage {
    /// The CPU time and switches a result reports (zero when it has none).
    init(_ cpu: CPUSummary?) {
        self.init()
        guard let cpu else { return }
        userNs = cpu.userNs
        systemNs = cpu.systemNs
        voluntarySwitches = cpu.voluntarySwitches
        involuntarySwitches = cpu.involuntarySwitches
    }
}

extension CaseResult {
    /// Merges the jobs of one case into its result: their totals added by `CaseTotals`,
    /// as repeats and merged files are, and their live histograms added in memory.
    public init(spec: CaseSpec, outcomes: [JobOutcome]) {
        self.init(spec: spec, status: .ok)
        var totals = CaseTotals()
        for (i, o) in outcomes.enumerated() {
            let jobErrors = ErrorSummary(job: o)
            totals.add(ios: o.ios, usage: o.usage, errors: jobErrors, histogram: o.histogram, latency: nil)
            elapsedNs = max(elapsedNs, o.elapsedNs)
            let jobIOPS = o.elapsedNs == 0 ? 0 : Double(o.ios) * 1e9 / Double(o.elapsedNs)
            iops += jobIOPS
            for (s, n) in o.timeline.enumerated() {
                if s < timelineIOPS.count { timelineIOPS[s] += n } else { timelineIOPS.append(n) }
            }
            interrupted = interrupted || o.interrupted
            timelineTruncated = timelineTruncated || o.timelineTruncated
            jobs.append(JobSummary(job: i, ios: o.ios, elapsedNs: o.elapsedNs, iops: jobIOPS,
                                   cpu: CPUSummary(o.usage, ios: o.ios), errors: jobErrors))
        }
        ios = totals.ios
        errors = totals.errors
        bytesPerSecond = iops * Double(spec.blockSize)
        measureStartEpochNs = outcomes.map(\.measureStartEpochNs).filter { $0 > 0 }.min() ?? 0
        ring = outcomes.lazy.compactMap(\.ring).first
        openLoop = OpenLoopSummary(spec: spec, outcomes: outcomes)
        // The jobs' k-th intervals make the case's k-th, merged once each.
        let intervalCount = outcomes.map(\.intervals.count).max() ?? 0
        intervals = (0 ..< intervalCount).map { k in
            IntervalHistogram.merged(outcomes.compactMap { k < $0.intervals.count ? $0.intervals[k] : nil })
        }
        latency = totals.latency
        cpu = totals.cpu
        histogram = HistogramEncoding(totals.histogram)
        if let failure = outcomes.lazy.compactMap(\.failure).first {
            status = .failed
            reason = failure.description
            failureClass = failure.exitCode == 2 ? .badInput : .runFailed
        } else if (errors.ioErrors > 0 || errors.shortReads > 0) && !spec.continueOnError {
            status = .failed
            reason = errors.firstError
            failureClass = .runFailed
        } else if errors.verifyMismatches > 0 {
            status = .failed
            failureClass = .runFailed
            reason = "\(errors.verifyMismatches) reads returned data other than what is on disk at their offset (first at \(errors.firstMismatchOffset ?? 0))"
        }
    }
}

extension ErrorSummary {
    /// One job's errors, as its `JobSummary` reports them.
    init(job o: JobOutcome) {
        ioErrors = o.errors
        shortReads = o.shortReads
        firstError = o.firstError ?? o.failure?.description
        verifiedReads = o.verifiedReads
        verifyMismatches = o.verifyMismatches
        firstMismatchOffset = o.firstMismatchOffset
    }
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
                  percentilesNs: Dictionary(uniqueKeysWithValues: Self.percentiles(of: units.map(\.latency)).map { p in
                      (RepeatSpread.key(p), Spread(units.compactMap { $0.latency?.value(at: p) }.map { Double($0) }))
                  }))
    }
}

extension RepeatSpread {
    /// The standard percentiles and any other every unit's summary has (`--percentiles`).
    static func percentiles(of summaries: [LatencySummary?]) -> [Double] {
        let present = summaries.compactMap { $0 }.map { Set($0.percentiles.map(\.percentile)) }
        let common = present.dropFirst().reduce(present.first ?? []) { $0.intersection($1) }
        return Array(common.union(LatencySummary.reportedPercentiles)).sorted()
    }
}

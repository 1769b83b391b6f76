import Foundation
import IOBenchPlatform
import IOBenchHistogram
import IOBenchWorkload
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
        // An open-loop case is judged on its response time (completion − intended issue
        // time), the latency a caller at that rate sees; a closed loop on its latency.
        pooled = c.gatedHistogram
        quantiles = pooled.map { HistogramQuantiles($0, exactMax: c.gatedLatency?.maxNs) }
        for (i, u) in units.enumerated() {
            if let h = u.gatedHistogram { unitHistograms[i] = h }
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
        default: return Self.latencyValue(m, histogram: pooled, summary: c.gatedLatency)
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
            default: v = Self.latencyValue(m, histogram: unitHistograms[i], summary: u.gatedLatency)
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
        guard let l = c.gatedLatency, l.count > 0, let pooled, pooled.count > 0, let qs = quantiles else {
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

import Foundation
import IOBenchEngines
import IOBenchMeasurement
import IOBenchResults
import IOBenchWorkload

/// `--load P%,...`: the latency–throughput curve. Every case first runs closed-loop (its
/// peak IOPS, a case of the run like any other); then, for each case that measured a
/// peak, one open-loop case per load at that percentage of it, on the same target with
/// the same class plan. A load case's id names its percentage (`-load50`), so `compare`
/// pairs the same point of the curve across runs whatever the peak was that day.
enum LoadSweep {
    /// The open-loop cases derived from one batch's peak results (matched by id), and the
    /// load cases that cannot run because their peak case measured nothing.
    static func batch(from peak: CaseBatch, peakResults: [CaseResult], loads: [Double],
                      arrival: ArrivalProcess) -> (batch: CaseBatch, unmeasured: [CaseResult]) {
        var specs: [CaseSpec] = []
        var plans: [Int: ClassPlan] = [:]
        var unmeasured: [CaseResult] = []
        for (i, spec) in peak.specs.enumerated() {
            let result = peakResults.first { $0.id == spec.id }
            for load in loads {
                var s = spec
                s.loadPercent = load
                s.arrival = arrival
                guard let r = result, r.status == .ok, r.iops > 0 else {
                    var skipped = CaseResult(spec: s, status: .skipped,
                                             reason: "no peak to take \(CaseSpec.formatRate(load))% of: the closed-loop case \(spec.label) \(result.map { $0.status == .ok ? "measured no reads" : "did not run (\($0.status.rawValue))" } ?? "did not run")")
                    skipped.targetKey = peak.label
                    unmeasured.append(skipped)
                    continue
                }
                s.rateIOPS = max(1, (r.iops * load / 100 / Double(s.jobs) * 10).rounded() / 10)
                if let p = peak.plans[i] { plans[specs.count] = p }
                specs.append(s)
            }
        }
        return (CaseBatch(target: peak.target, specs: specs, plans: plans, label: peak.label), unmeasured)
    }

    /// The peak run and the load run as one result: each peak case followed by its load
    /// points (the curve in order), then anything else the peak run had.
    static func combine(peak: RunResult, load: RunResult, loadSkipped: [CaseResult]) -> RunResult {
        var r = peak
        var byPeak: [String: [CaseResult]] = [:]
        for c in load.cases + loadSkipped {
            var key = c.config.withoutRate
            key.arrival = .uniform
            byPeak[CaseResult.identity(id: key.id, targetKey: c.targetKey), default: []].append(c)
        }
        var cases: [CaseResult] = []
        for c in peak.cases {
            cases.append(c)
            let points = byPeak.removeValue(forKey: c.identity) ?? []
            cases += points.sorted { ($0.config.loadPercent ?? 0) < ($1.config.loadPercent ?? 0) }
        }
        for rest in byPeak.values { cases += rest }
        r.cases = cases
        r.interrupted = peak.interrupted || load.interrupted
        if let c = load.clock, c.fallback != nil { r.clock = c }
        return r
    }
}

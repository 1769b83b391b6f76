import Foundation
import XCTest
@testable import IOBenchKit
@testable import IOBenchPlatform
@testable import IOBenchHistogram
@testable import IOBenchEngines
@testable import IOBenchWorkload
@testable import IOBenchMeasurement
@testable import IOBenchResults
@testable import IOBenchReports

/// The gate's statistics: the distributions against published values, and seeded
/// simulations of the whole family (4 cases × 6 metrics, 5 repeats a side) that measure
/// its false-alarm rate and its power. docs/ci.md quotes the numbers these print.
final class GateSimulationTests: XCTestCase {
    func testStudentAndNormalAgainstTables() {
        // Two-sided 95% and 99% points, from any t table.
        let table: [(p: Double, df: Double, t: Double)] = [
            (0.025, 10, 2.228138851986), (0.05, 3, 2.353363434801), (0.005, 2, 9.924843200918),
            (0.025, 1, 12.70620473617), (0.001, 8, 4.500790330), (0.025, 30, 2.042272456301),
        ]
        for e in table {
            XCTAssertEqual(GateMath.studentUpperQuantile(e.p, df: e.df), e.t, accuracy: 1e-6 * e.t, "t(\(e.p), \(e.df))")
            XCTAssertEqual(GateMath.studentUpperTail(e.t, df: e.df), e.p, accuracy: 1e-9, "tail(\(e.t), \(e.df))")
        }
        XCTAssertEqual(GateMath.normalUpperQuantile(0.025), 1.959963984540, accuracy: 1e-9)
        XCTAssertEqual(GateMath.normalUpperQuantile(1e-6), 4.753424308823, accuracy: 1e-8)
        XCTAssertEqual(GateMath.studentUpperQuantile(0.025, df: .infinity), 1.959963984540, accuracy: 1e-9)
        XCTAssertEqual(GateMath.studentUpperTail(-2.228138851986, df: 10), 0.975, accuracy: 1e-9)
        // Tiny levels at few degrees of freedom (α_eff with 24 tests and 3 repeats).
        let q = GateMath.studentUpperQuantile(0.05 / 24, df: 2.1)
        XCTAssertEqual(GateMath.studentUpperTail(q, df: 2.1), 0.05 / 24, accuracy: 1e-12)
    }

    func testBenjaminiHochbergAndTheEffectiveLevel() {
        // The textbook example: m = 10, α = 0.05; the 3rd smallest is ≤ 3·0.005, the 4th not ≤ 0.02.
        let p = [0.001, 0.008, 0.012, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216]
        XCTAssertEqual(Gate.benjaminiHochberg(p, alpha: 0.05), 3)
        XCTAssertEqual(Gate.effectiveAlpha(alpha: 0.05, rejections: 3, tests: 10), 0.015, accuracy: 1e-15)
        XCTAssertEqual(Gate.effectiveAlpha(alpha: 0.05, rejections: 0, tests: 10), 0.005, accuracy: 1e-15)
    }

    // MARK: - The family, simulated

    /// Lognormal per-repeat values: ln x ~ N(μ, σ²) with σ from the coefficient of variation.
    struct Normal {
        var rng: Xoshiro256StarStar
        mutating func next() -> Double {
            // Box–Muller from two uniforms in (0, 1).
            let u1 = (Double(rng.uniform(below: 1 << 52)) + 0.5) / Double(1 << 52)
            let u2 = (Double(rng.uniform(below: 1 << 52)) + 0.5) / Double(1 << 52)
            return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
        }
    }

    static let metrics = CompareMetric.allCases   // 6 metrics at their default thresholds
    static let cases = 4

    /// One comparison of the family: per case × metric, `repeats` values a side with a
    /// coefficient of variation `cv`, NEW shifted by `shift(case, metric)` (a factor; < 1
    /// for IOPS is worse). Returns the tests.
    static func family(_ g: inout Normal, repeats: Int, cv: Double, shift: (Int, CompareMetric) -> Double) -> [GateTest] {
        let sigma = (log(1 + cv * cv)).squareRoot()
        var tests: [GateTest] = []
        for c in 0 ..< cases {
            for m in metrics {
                let base = (0 ..< repeats).map { _ in sigma * g.next() }
                let new = (0 ..< repeats).map { _ in log(shift(c, m)) + sigma * g.next() }
                let w = Gate.welch(base: base, new: new)!
                let t = CompareThreshold(metric: m, percent: m.defaultThresholdPercent)
                tests.append(GateTest(d: w.d, se: w.se, df: w.df, worseSign: m.higherIsBetter ? -1 : 1, delta: t.logDelta))
            }
        }
        return tests
    }

    /// Runs `trials` families; returns the share with any regression, and the share of
    /// the `target` tests that were called regressions. The regressions are BH's
    /// rejections (what `Gate.judge` calls regression); for the first 200 families the
    /// whole judgement runs too, and every printed interval must agree with its verdict.
    static func rate(trials: Int, seed: UInt64, repeats: Int = 5, cv: Double = 0.1, shift: (Int, CompareMetric) -> Double,
                     target: (Int, CompareMetric) -> Bool = { _, _ in false }) -> (anyRegression: Double, targetDetected: Double) {
        var g = Normal(rng: Xoshiro256StarStar(seed: seed))
        var any = 0, hit = 0, targets = 0
        for trial in 0 ..< trials {
            let tests = family(&g, repeats: repeats, cv: cv, shift: shift)
            let p = tests.map(\.pValue)
            let r = Gate.benjaminiHochberg(p, alpha: 0.05)
            let cut = r > 0 ? p.sorted()[r - 1] : -1
            let regression = p.map { $0 <= cut }
            if trial < 200 {
                let j = Gate.judge(tests, alpha: 0.05)
                for (i, o) in j.outcomes.enumerated() {
                    precondition((o.verdict == .regression) == regression[i])
                    // The printed interval and the verdict agree.
                    let wl = tests[i].worseSign > 0 ? o.low : -o.high
                    precondition((wl > tests[i].delta - 1e-9) || o.verdict != .regression, "a regression whose interval is not beyond the threshold")
                    precondition((wl <= tests[i].delta + 1e-9) || o.verdict == .regression, "an interval beyond the threshold that is not a regression")
                }
            }
            if r > 0 { any += 1 }
            var i = 0
            for c in 0 ..< cases {
                for m in metrics {
                    if target(c, m) { targets += 1; if regression[i] { hit += 1 } }
                    i += 1
                }
            }
        }
        return (Double(any) / Double(trials), targets == 0 ? 0 : Double(hit) / Double(targets))
    }

    static func worse(_ m: CompareMetric, by f: Double) -> Double { m.higherIsBetter ? 1 / f : f }

    func testFalseAlarmRateOfTheWholeGate() {
        // A/A: the same distribution on both sides (10% CV, 5 repeats, 24 tests).
        let aa = Self.rate(trials: 10_000, seed: 42, shift: { _, _ in 1 })
        // The least favourable null: every metric exactly at its threshold.
        let edge = Self.rate(trials: 10_000, seed: 43, shift: { _, m in
            Self.worse(m, by: exp(CompareThreshold(metric: m, percent: m.defaultThresholdPercent).logDelta))
        })
        print("gate simulation: false alarms (any regression among 24 tests, 10% CV, 5 repeats, 10000 trials): no change \(aa.anyRegression), every metric exactly at its threshold \(edge.anyRegression)")
        XCTAssertLessThanOrEqual(aa.anyRegression, 0.05 + 0.01)
        XCTAssertLessThanOrEqual(edge.anyRegression, 0.05 + 0.01, "BH at α = 0.05 under the complete null")
        XCTAssertGreaterThan(edge.anyRegression, 0.01, "at the threshold the gate spends about its α")
    }

    func testPowerAgainstA20PercentRegression() {
        // Every metric of every case 20% worse: how often the gate fails.
        let all = Self.rate(trials: 2000, seed: 44, shift: { _, m in Self.worse(m, by: 1.2) })
        // One metric of one case worse, 23 unchanged: how often it is detected.
        let one20 = Self.rate(trials: 2000, seed: 46, shift: { c, m in c == 0 && m == .iops ? Self.worse(m, by: 1.2) : 1 },
                              target: { c, m in c == 0 && m == .iops })
        let one40 = Self.rate(trials: 2000, seed: 47, shift: { c, m in c == 0 && m == .iops ? Self.worse(m, by: 1.4) : 1 },
                              target: { c, m in c == 0 && m == .iops })
        // The same at 5% CV (a quiet machine, or the per-round ratios of a paired run).
        let quiet = Self.rate(trials: 2000, seed: 48, cv: 0.05, shift: { c, m in c == 0 && m == .iops ? Self.worse(m, by: 1.2) : 1 },
                              target: { c, m in c == 0 && m == .iops })
        // 10 repeats a side at 10% CV.
        let ten = Self.rate(trials: 2000, seed: 49, repeats: 10, shift: { c, m in c == 0 && m == .iops ? Self.worse(m, by: 1.2) : 1 },
                            target: { c, m in c == 0 && m == .iops })
        print("gate simulation: power (2000 trials each): every metric 20% worse, 10% CV, 5 repeats: the gate fails \(all.anyRegression); "
              + "one IOPS of 24 tests 20% worse: 10% CV, 5 repeats \(one20.targetDetected); 10% CV, 10 repeats \(ten.targetDetected); "
              + "5% CV, 5 repeats \(quiet.targetDetected); 40% worse, 10% CV, 5 repeats \(one40.targetDetected)")
        XCTAssertGreaterThan(all.anyRegression, 0.85)
        XCTAssertGreaterThan(one20.targetDetected, 0.05)
        XCTAssertGreaterThan(one40.targetDetected, 0.55)
        XCTAssertGreaterThan(quiet.targetDetected, 0.40)
        XCTAssertGreaterThan(ten.targetDetected, 0.30)
    }

    // MARK: - Percentile intervals from a histogram

    /// Exponential latencies (mean 100 µs): the true p-quantile is −ln(1 − p)·100 µs. The
    /// 95% order-statistic interval read off the histogram covers it about 95% of the time.
    func testHistogramPercentileIntervalCoversTheTrueQuantile() {
        var rng = Xoshiro256StarStar(seed: 7)
        let trials = 160, n = 20_000
        var covered: [Double: Int] = [0.5: 0, 0.99: 0, 0.999: 0]
        for _ in 0 ..< trials {
            var h = LatencyHistogram()
            var maxSeen: UInt64 = 0
            for _ in 0 ..< n {
                let u = (Double(rng.uniform(below: 1 << 52)) + 0.5) / Double(1 << 52)
                let v = UInt64(-log(u) * 100_000) + 1
                maxSeen = max(maxSeen, v)
                h.record(v)
            }
            let q = HistogramQuantiles(h, exactMax: maxSeen)
            for p in covered.keys {
                let truth = -log(1 - p) * 100_000
                let iv = q.interval(p: p, z: 1.959963984540054)!
                if Double(iv.low) <= truth && truth <= Double(iv.high) { covered[p]! += 1 }
            }
        }
        for (p, k) in covered.sorted(by: { $0.key < $1.key }) {
            let rate = Double(k) / Double(trials)
            print("gate simulation: p\(p * 100) interval (nominal 95%) covered the true quantile in \(rate) of \(trials) trials")
            XCTAssertGreaterThan(rate, 0.88, "p\(p * 100)")
            XCTAssertLessThanOrEqual(rate, 1.0)
        }
    }
}

import Foundation
import XCTest
@testable import IOBenchWorkload
@testable import IOBenchMeasurement
@testable import IOBenchEngines

/// The open loop's arrival schedule (issue 14): uniform arrivals exactly 1/rate apart,
/// Poisson arrivals with exponential gaps (a Kolmogorov–Smirnov test at α = 0.01), both
/// reproducible from the seed; and the open-loop case's identity and checks.
final class ArrivalScheduleTests: XCTestCase {
    func testUniformArrivalsAreExactlyOnePeriodApartWithoutDrift() {
        var s = ArrivalSchedule(ratePerSecond: 3000, process: .uniform, seed: 1)
        let times = (0 ..< 300_001).map { _ in s.next() }
        XCTAssertEqual(times[0], 0)
        // 1e9 / 3000 = 333,333.33 ns: each time is k × that, rounded, so the millionth
        // arrival is not off by the rounding of every gap before it.
        XCTAssertEqual(times[3], 1_000_000)
        XCTAssertEqual(times[300_000], 100_000_000_000)
        for k in 1 ..< times.count {
            let gap = times[k] - times[k - 1]
            XCTAssertTrue(gap == 333_333 || gap == 333_334, "gap \(gap) at \(k)")
        }
    }

    func testPoissonGapsAreExponentialByKolmogorovSmirnov() {
        // D_n against the exponential CDF 1 − exp(−x/mean); the critical value at
        // α = 0.01 is 1.628/√n (asymptotic; n = 20,000 here). Run for 5 seeds: with a
        // correct generator each fails with probability 0.01.
        let rate = 50_000.0
        let mean = 1e9 / rate
        let n = 20_000
        let critical = 1.628 / Double(n).squareRoot()
        var failures = 0
        for seed in UInt64(1) ... 5 {
            var s = ArrivalSchedule(ratePerSecond: rate, process: .poisson, seed: seed)
            var last: UInt64 = 0
            var gaps: [Double] = []
            for _ in 0 ..< n { let t = s.next(); gaps.append(Double(t - last)); last = t }
            gaps.sort()
            var d = 0.0
            for (i, g) in gaps.enumerated() {
                let f = 1 - exp(-g / mean)
                d = max(d, abs(f - Double(i) / Double(n)), abs(Double(i + 1) / Double(n) - f))
            }
            if d > critical { failures += 1 }
            // The mean rate: n arrivals over the last time, within 4 standard errors (1/√n).
            let measuredRate = Double(n) * 1e9 / Double(last)
            XCTAssertEqual(measuredRate / rate, 1, accuracy: 4 / Double(n).squareRoot(), "seed \(seed)")
        }
        XCTAssertLessThanOrEqual(failures, 1, "exponential fit rejected for \(failures) of 5 seeds at α = 0.01")
    }

    func testPoissonGapsAreNotUniformSoTheTestCanFail() {
        // The same KS statistic rejects uniform arrivals outright: the test above can fail.
        let mean = 20_000.0
        var s = ArrivalSchedule(ratePerSecond: 50_000, process: .uniform, seed: 1)
        var last = s.next()
        var gaps: [Double] = []
        for _ in 0 ..< 2000 { let t = s.next(); gaps.append(Double(t - last)); last = t }
        gaps.sort()
        var d = 0.0
        for (i, g) in gaps.enumerated() { d = max(d, abs(1 - exp(-g / mean) - Double(i) / Double(gaps.count))) }
        XCTAssertGreaterThan(d, 1.628 / Double(gaps.count).squareRoot())
    }

    func testSchedulesRepeatFromTheSeedAndDifferAcrossSeeds() {
        func times(_ seed: UInt64) -> [UInt64] {
            var s = ArrivalSchedule(ratePerSecond: 10_000, process: .poisson, seed: seed)
            return (0 ..< 1000).map { _ in s.next() }
        }
        XCTAssertEqual(times(42), times(42))
        XCTAssertNotEqual(times(42), times(43))
    }

    func testOpenLoopCaseIdentityAndChecks() throws {
        var s = CaseSpec(engine: .psync)
        XCTAssertEqual(s.id, "psync-randread-bs4k-qd1-j1")
        s.rateIOPS = 50_000
        XCTAssertEqual(s.id, "psync-randread-bs4k-qd1-j1-r50000")
        XCTAssertEqual(s.label, "psync 4k QD1 @50k/s")
        s.arrival = .poisson
        XCTAssertEqual(s.id, "psync-randread-bs4k-qd1-j1-r50000-poisson")
        try s.validate()
        s.latencySample = 0
        XCTAssertThrowsError(try s.validate()) { XCTAssertTrue("\($0)".contains("--rate-iops times every read")) }
        s.latencySample = 1
        s.rateIOPS = 0.5
        XCTAssertThrowsError(try s.validate()) { XCTAssertTrue("\($0)".contains("out of range")) }
    }

    func testRatesParse() throws {
        XCTAssertEqual(try Units.parseRate("5000", option: "rate-iops"), 5000)
        XCTAssertEqual(try Units.parseRate("50k", option: "rate-iops"), 50_000)
        XCTAssertEqual(try Units.parseRate("1.5M", option: "rate-iops"), 1_500_000)
        for bad in ["", "k", "-5", "5x", "1e3", "nan"] {
            XCTAssertThrowsError(try Units.parseRate(bad, option: "rate-iops"), bad)
        }
        XCTAssertEqual(Units.formatRate(1_500_000), "1.5M")
        XCTAssertEqual(Units.formatRate(50_000), "50k")
        XCTAssertEqual(Units.formatRate(750), "750")
    }
}

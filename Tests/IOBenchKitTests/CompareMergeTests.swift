import Foundation
import XCTest
@testable import IOBenchKit

/// `compare` on synthetic results with known regressions, improvements and noise-only
/// differences; `merge` against recording every value into one histogram.
final class CompareMergeTests: XCTestCase {
    /// One repeat of a case: `n` latencies around `latencyNs` (±10%), at `iops`.
    func repeatCase(_ engine: EngineKind = .ioUring, qd: Int = 32, latencyNs: Double, iops: Double, seed: UInt64, n: Int = 5000) -> CaseResult {
        var spec = CaseSpec(engine: engine)
        spec.queueDepth = qd
        var o = JobOutcome()
        var rng = Xoshiro256StarStar(seed: seed)
        for _ in 0 ..< n {
            o.histogram.record(UInt64(latencyNs * (0.9 + 0.2 * Double(rng.uniform(below: 1000)) / 1000)))
        }
        o.ios = UInt64(n)
        o.elapsedNs = UInt64(Double(n) / iops * 1e9)
        o.usage.systemNs = UInt64(n) * 5000
        return CaseResult(spec: spec, outcomes: [o])
    }

    func result(_ cases: [CaseResult]) -> RunResult {
        RunResult(startedAt: "2026-11-26T00:00:00Z", environment: .current(), target: nil, arguments: [], cases: cases)
    }

    /// Three repeats with IOPS and latency scaled by the given factors.
    func repeated(latency: [Double], iops: [Double], seed: UInt64) -> CaseResult {
        CaseResult.aggregate(zip(latency, iops).enumerated().map { i, li in
            repeatCase(latencyNs: li.0, iops: li.1, seed: seed + UInt64(i))
        })
    }

    func testSameConfigurationWithNoiseIsNoRegression() throws {
        let base = result([repeated(latency: [100_000, 120_000, 110_000], iops: [60_000, 50_000, 55_000], seed: 1)])
        // 15% worse median, but inside the base's spread: noise, not a regression.
        let new = result([repeated(latency: [118_000, 130_000, 105_000], iops: [52_000, 47_000, 58_000], seed: 9)])
        let c = try Comparator.compare(base: base, new: new, baseName: "b", newName: "n")
        XCTAssertEqual(c.regressions, 0, ComparisonReport.text(c))
        XCTAssertEqual(c.exitCode, 0)
        XCTAssertTrue(c.cases[0].metrics.contains { $0.verdict == .noise }, ComparisonReport.text(c))
    }

    func testGenuinelyWorseRunIsARegression() throws {
        let base = result([repeated(latency: [100_000, 105_000, 102_000], iops: [60_000, 58_000, 59_000], seed: 1)])
        let new = result([repeated(latency: [200_000, 210_000, 190_000], iops: [30_000, 31_000, 29_000], seed: 2)])
        let c = try Comparator.compare(base: base, new: new, baseName: "b", newName: "n")
        XCTAssertEqual(c.exitCode, 1)
        let verdicts = Dictionary(uniqueKeysWithValues: c.cases[0].metrics.map { ($0.metric, $0.verdict) })
        XCTAssertEqual(verdicts[.iops], .regression)
        XCTAssertEqual(verdicts[.p50], .regression)
        XCTAssertEqual(verdicts[.mean], .regression)
        XCTAssertEqual(verdicts[.cpu], .unchanged, "CPU per read did not move")
        XCTAssertTrue(ComparisonReport.junit(c).contains("<failure"))
        XCTAssertTrue(ComparisonReport.markdown(c).contains("**REGRESSION**"))
    }

    func testImprovementIsNotARegression() throws {
        let base = result([repeated(latency: [200_000, 210_000, 190_000], iops: [30_000, 31_000, 29_000], seed: 2)])
        let new = result([repeated(latency: [100_000, 105_000, 102_000], iops: [60_000, 58_000, 59_000], seed: 1)])
        let c = try Comparator.compare(base: base, new: new, baseName: "b", newName: "n")
        XCTAssertEqual(c.exitCode, 0)
        XCTAssertEqual(c.improvements, 1)
    }

    func testWithoutRepeatsThresholdAloneDecides() throws {
        let base = result([repeatCase(latencyNs: 100_000, iops: 60_000, seed: 1)])
        let worse = result([repeatCase(latencyNs: 112_000, iops: 60_000, seed: 1)])
        XCTAssertEqual(try Comparator.compare(base: base, new: worse, baseName: "b", newName: "n").exitCode, 1)
        // A looser p50/mean/p99 threshold lets the same change pass.
        let loose = try ["p50=+20%", "mean=+20%", "p99=+20%", "p99.9=+20%"].map { try CompareThreshold.parse($0) }
        XCTAssertEqual(try Comparator.compare(base: base, new: worse, baseName: "b", newName: "n", thresholds: loose).exitCode, 0)
    }

    func testMissingCasesAreListed() throws {
        let base = result([repeatCase(latencyNs: 1e5, iops: 6e4, seed: 1), repeatCase(.libaio, latencyNs: 1e5, iops: 6e4, seed: 1)])
        let new = result([repeatCase(latencyNs: 1e5, iops: 6e4, seed: 1), repeatCase(.psync, qd: 1, latencyNs: 1e5, iops: 6e4, seed: 1)])
        let c = try Comparator.compare(base: base, new: new, baseName: "b", newName: "n")
        XCTAssertEqual(c.missingInNew, ["libaio-randread-bs4k-qd32-j1"])
        XCTAssertEqual(c.missingInBase, ["psync-randread-bs4k-qd1-j1"])
        XCTAssertTrue(ComparisonReport.text(c).contains("missing in n: libaio"))
    }

    func testThresholdParsing() throws {
        XCTAssertEqual(try CompareThreshold.parse("p99=+5%"), CompareThreshold(metric: .p99, percent: 5))
        XCTAssertEqual(try CompareThreshold.parse("iops=-3%"), CompareThreshold(metric: .iops, percent: -3))
        XCTAssertEqual(try CompareThreshold.parse("iops=3"), CompareThreshold(metric: .iops, percent: -3), "unsigned takes the worse direction")
        for bad in ["p99", "p98=+5%", "p99=+x%", "iops=+3%", "p99=-5%", "p99=nan%", "=5%", "p99=1e999%"] {
            XCTAssertThrowsError(try CompareThreshold.parse(bad), bad) { XCTAssertEqual(($0 as? IOBenchError)?.exitCode, 2) }
        }
    }

    func testMergeEqualsOneHistogramOfEveryValue() throws {
        let a = repeatCase(latencyNs: 100_000, iops: 60_000, seed: 1)
        let b = repeatCase(latencyNs: 300_000, iops: 20_000, seed: 2)
        var all = try HdrV2Codec.decode(a.histogram!.data)
        all.add(try HdrV2Codec.decode(b.histogram!.data))
        var ra = result([a]); ra.environment.hostname = "host-a"
        var rb = result([b]); rb.environment.hostname = "host-b"
        let merged = try ResultMerger.merge([("a.json", ra), ("b.json", rb)])
        XCTAssertEqual(merged.cases.count, 1)
        let m = merged.cases[0]
        XCTAssertEqual(m.ios, a.ios + b.ios)
        XCTAssertEqual(m.histogram?.data, HdrV2Codec.encode(all), "lossless: the same counts in every bucket")
        for p in [1.0, 50, 90, 99, 99.9] {
            XCTAssertEqual(m.latency?.value(at: p), all.value(atPercentile: p), "p\(p)")
        }
        XCTAssertEqual(m.sources?.map(\.host), ["host-a", "host-b"])
        XCTAssertEqual(merged.mergedFrom?.map(\.host), ["host-a", "host-b"])
        XCTAssertEqual(m.spread?.count, 2)
    }

    func testRepeatAggregateKeepsEveryRepeatAndTheSpread() {
        let agg = repeated(latency: [100_000, 120_000, 110_000], iops: [60_000, 50_000, 55_000], seed: 1)
        XCTAssertEqual(agg.repeats?.count, 3)
        XCTAssertEqual(agg.ios, 15_000)
        XCTAssertEqual(agg.spread?.iops.min ?? 0, 50_000, accuracy: 1)
        XCTAssertEqual(agg.spread?.iops.median ?? 0, 55_000, accuracy: 1)
        XCTAssertEqual(agg.spread?.iops.max ?? 0, 60_000, accuracy: 1)
        XCTAssertEqual(agg.latency?.count, 15_000, "merged histogram")
        XCTAssertNotNil(agg.spread?.percentilesNs["99.9"])
    }
}

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

/// The class comparison's arithmetic and what it promises: like-for-like references,
/// Δs paired by round with a t interval, drift that hits a round cancelling.
final class ClassComparisonTests: XCTestCase {
    // MARK: interval arithmetic

    func testStudentQuantilesMatchTables() {
        // Two-sided 95%: t(0.975, df) from any statistics table.
        for (df, t) in [(1.0, 12.7062), (2, 4.3027), (4, 2.7764), (9, 2.2622), (29, 2.0452)] {
            XCTAssertEqual(GateMath.studentUpperQuantile(0.025, df: df), t, accuracy: 1e-3, "df \(df)")
        }
    }

    func testIntervalOfKnownValues() throws {
        // 1…5: mean 3, s = √2.5, se = s/√5 = 0.7071, t(0.975, 4) = 2.7764.
        let iv = try XCTUnwrap(ClassComparison.interval([1, 2, 3, 4, 5], level: 0.95))
        XCTAssertEqual(iv.mean, 3, accuracy: 1e-12)
        XCTAssertEqual(iv.low, 3 - 2.7764 * 0.70711, accuracy: 1e-3)
        XCTAssertEqual(iv.high, 3 + 2.7764 * 0.70711, accuracy: 1e-3)
        // Two values: mean 2, se 1, t(0.975, 1) = 12.706.
        let two = try XCTUnwrap(ClassComparison.interval([1, 3], level: 0.95))
        XCTAssertEqual(two.low, 2 - 12.706, accuracy: 1e-2)
        XCTAssertEqual(two.high, 2 + 12.706, accuracy: 1e-2)
        // A higher level is wider; one value has no interval.
        let wide = try XCTUnwrap(ClassComparison.interval([1, 2, 3, 4, 5], level: 0.99))
        XCTAssertLessThan(wide.low, iv.low)
        XCTAssertNil(ClassComparison.interval([7], level: 0.95))
        // Identical differences: a zero-width interval at the difference.
        let same = try XCTUnwrap(ClassComparison.interval([4, 4, 4], level: 0.95))
        XCTAssertEqual(same.low, 4); XCTAssertEqual(same.high, 4)
    }

    func testReferencesAreLikeForLike() {
        XCTAssertEqual(ClassComparison.reference(of: .multiExtent, bs: 8192, fsBlock: 4096)?.0, .singleExtent)
        XCTAssertEqual(ClassComparison.reference(of: .simple, bs: 4096, fsBlock: 4096)?.0, .raw)
        XCTAssertEqual(ClassComparison.reference(of: .singleExtent, bs: 8192, fsBlock: 4096)?.0, .raw)
        XCTAssertEqual(ClassComparison.reference(of: .unwritten, bs: 4096, fsBlock: 4096)?.0, .simple)
        XCTAssertEqual(ClassComparison.reference(of: .unwritten, bs: 8192, fsBlock: 4096)?.0, .singleExtent)
        XCTAssertNil(ClassComparison.reference(of: .raw, bs: 4096, fsBlock: 4096))
    }

    // MARK: synthetic rounds

    /// One round of a case: `n` reads uniform in [0.8, 1.2] × `latencyNs`, `iops` reads a
    /// second, `cpuNs` CPU time per read.
    static func round(_ cls: PathClass, bs: Int, latencyNs: Double, iops: Double, cpuNs: UInt64, seed: UInt64,
                      engine: EngineKind = .psync, n: Int = 20_000) -> CaseResult {
        var spec = CaseSpec(engine: engine)
        spec.blockSize = bs
        spec.pathClass = cls
        var o = JobOutcome()
        var rng = Xoshiro256StarStar(seed: seed)
        for _ in 0 ..< n {
            o.histogram.record(UInt64(latencyNs * (0.8 + 0.4 * Double(rng.uniform(below: 10_000)) / 10_000)))
        }
        o.ios = UInt64(n)
        o.elapsedNs = UInt64(Double(n) / iops * 1e9)
        o.usage.systemNs = UInt64(n) * cpuNs
        return CaseResult(spec: spec, outcomes: [o])
    }

    /// A case over rounds: round i (0-based) has its latency and CPU scaled by `drift[i]`
    /// and its IOPS divided by it.
    static func rounds(_ cls: PathClass, bs: Int, latencyNs: Double, iops: Double, cpuNs: UInt64,
                       drift: [Double], seed: UInt64) -> CaseResult {
        CaseResult.aggregate(drift.enumerated().map { i, f in
            round(cls, bs: bs, latencyNs: latencyNs * f, iops: iops / f, cpuNs: UInt64(Double(cpuNs) * f), seed: seed &+ UInt64(i) &* 7919)
        })
    }

    /// multi-extent (110 µs, 12k IOPS, 30 µs CPU) against single-extent (100 µs, 13k IOPS, 27 µs CPU).
    static func pair(multiDrift: [Double], singleDrift: [Double]) -> (ClassComparison, multi: CaseResult, single: CaseResult) {
        let single = rounds(.singleExtent, bs: 8192, latencyNs: 100_000, iops: 13_000, cpuNs: 27_000, drift: singleDrift, seed: 11)
        let multi = rounds(.multiExtent, bs: 8192, latencyNs: 110_000, iops: 12_000, cpuNs: 30_000, drift: multiDrift, seed: 23)
        let cmp = ClassComparison.compute([single, multi])
        return (cmp.first { $0.pathClass == .multiExtent }!, multi, single)
    }

    func testPairsWithItsReferenceAndFindsTheDifference() throws {
        let flat = [1.0, 1, 1, 1, 1]
        let (cmp, _, _) = Self.pair(multiDrift: flat, singleDrift: flat)
        XCTAssertEqual(cmp.referenceClass, .singleExtent)
        XCTAssertEqual(cmp.referenceBlockSize, 8192)
        XCTAssertNil(cmp.missingReference)
        let p50 = try XCTUnwrap(cmp.delta(.p50))
        XCTAssertEqual(p50.rounds, 5)
        XCTAssertEqual(p50.finding, .higher)
        XCTAssertEqual(p50.estimate, 10_000, accuracy: 500, "110 µs − 100 µs")
        XCTAssertLessThanOrEqual(p50.low!, p50.estimate); XCTAssertGreaterThanOrEqual(p50.high!, p50.estimate)
        let cpu = try XCTUnwrap(cmp.delta(.cpuPerIO))
        XCTAssertEqual(cpu.estimate, 3000, accuracy: 1)
        XCTAssertEqual(cpu.finding, .higher)
        let iops = try XCTUnwrap(cmp.delta(.iops))
        XCTAssertEqual(iops.kind, .ratio)
        XCTAssertEqual(iops.estimate, 12.0 / 13.0, accuracy: 1e-3)
        XCTAssertEqual(iops.finding, .lower)
    }

    /// A slowdown of a whole round (the shared disk drifting) hits both sides of that
    /// round's pair: the paired Δ stays within its interval of the clean value, while the
    /// unpaired Δ of the merged histograms moves by more than the paired one does. Here
    /// every round has the same number of reads (as with --number-ios); in time-bounded
    /// rounds a slow round has fewer reads and weighs less in merged histograms, so
    /// there the unpaired Δ moves less: benchmarks/class_drift.py measures that case.
    func testRoundDriftCancelsInThePairedDelta() throws {
        let flat = [1.0, 1, 1, 1, 1]
        let drift = [1.0, 1, 3, 1, 1]
        let (clean, _, _) = Self.pair(multiDrift: flat, singleDrift: flat)
        let (drifted, _, _) = Self.pair(multiDrift: drift, singleDrift: drift)
        for m in [PairedDelta.Metric.p50, .p99, .cpuPerIO] {
            let c = try XCTUnwrap(clean.delta(m)), d = try XCTUnwrap(drifted.delta(m))
            XCTAssertLessThanOrEqual(d.low!, c.estimate, "\(m): the clean Δ lies inside the drifted interval")
            XCTAssertGreaterThanOrEqual(d.high!, c.estimate, "\(m)")
        }
        let c99 = try XCTUnwrap(clean.delta(.p99)), d99 = try XCTUnwrap(drifted.delta(.p99))
        let pairedMove = abs(d99.estimate - c99.estimate)
        let unpairedMove = abs(try XCTUnwrap(d99.unpaired) - XCTUnwrap(c99.unpaired))
        XCTAssertGreaterThan(unpairedMove, 2 * pairedMove, "the merged-histogram Δp99 moves with the drift; the paired one barely")
        XCTAssertTrue(d99.unpaired! > d99.high! || d99.unpaired! < d99.low!, "the unpaired Δp99 falls outside the paired interval")
        // IOPS: a ratio, unchanged by a round that slows both sides alike.
        let ci = try XCTUnwrap(clean.delta(.iops)), di = try XCTUnwrap(drifted.delta(.iops))
        XCTAssertEqual(di.estimate, ci.estimate, accuracy: 0.01)
    }

    /// Drift that lands on one side of one round (what a one-after-the-other suite
    /// suffers) is not cancelled, but it widens the interval rather than biasing the
    /// verdict: the clean value stays inside.
    func testOneSidedDriftWidensTheInterval() throws {
        let flat = [1.0, 1, 1, 1, 1]
        let (clean, _, _) = Self.pair(multiDrift: flat, singleDrift: flat)
        let (drifted, _, _) = Self.pair(multiDrift: [1, 1, 1.5, 1, 1], singleDrift: flat)
        let c = try XCTUnwrap(clean.delta(.p50)), d = try XCTUnwrap(drifted.delta(.p50))
        XCTAssertGreaterThan(d.high! - d.low!, 3 * (c.high! - c.low!))
        XCTAssertTrue(d.low! <= c.estimate && c.estimate <= d.high!)
    }

    func testSameDistributionIsNoDifferenceDetected() throws {
        let flat = [1.0, 1, 1, 1, 1]
        let a = Self.rounds(.singleExtent, bs: 8192, latencyNs: 100_000, iops: 13_000, cpuNs: 27_000, drift: flat, seed: 5)
        let b = Self.rounds(.multiExtent, bs: 8192, latencyNs: 100_000, iops: 13_000, cpuNs: 27_000, drift: [1, 1.02, 0.98, 1.01, 0.99], seed: 99)
        let cmp = try XCTUnwrap(ClassComparison.compute([a, b]).first { $0.pathClass == .multiExtent })
        XCTAssertEqual(cmp.delta(.p50)?.finding, .noDifference)
        XCTAssertEqual(cmp.delta(.iops)?.finding, .noDifference)
        let text = ReportContent.deltaText(cmp.delta(.p50)!) { Fmt.latency($0) }
        XCTAssertTrue(text.hasPrefix("n.d. (<"), text)
        XCTAssertFalse(text.contains("+") || text.contains("−"), "no signed number when nothing was detected: \(text)")
    }

    func testOneRoundHasNoInterval() throws {
        let s = Self.rounds(.singleExtent, bs: 8192, latencyNs: 100_000, iops: 13_000, cpuNs: 27_000, drift: [1], seed: 1)
        let m = Self.rounds(.multiExtent, bs: 8192, latencyNs: 120_000, iops: 12_000, cpuNs: 30_000, drift: [1], seed: 2)
        let d = try XCTUnwrap(ClassComparison.compute([s, m]).first { $0.pathClass == .multiExtent }?.delta(.p50))
        XCTAssertEqual(d.finding, .noInterval)
        XCTAssertNil(d.low)
        XCTAssertTrue(ReportContent.deltaText(d) { Fmt.latency($0) }.hasSuffix("(n=1)"))
    }

    /// No Δ across block sizes, engine settings or targets: a reference that did not run
    /// leaves the Δ empty and says so.
    func testNoReferenceAcrossSettingsOrTargets() throws {
        let flat = [1.0, 1, 1]
        let simple = Self.rounds(.simple, bs: 4096, latencyNs: 100_000, iops: 13_000, cpuNs: 27_000, drift: flat, seed: 1)
        var raw8 = Self.rounds(.raw, bs: 8192, latencyNs: 90_000, iops: 14_000, cpuNs: 20_000, drift: flat, seed: 2)
        var single = Self.rounds(.singleExtent, bs: 8192, latencyNs: 100_000, iops: 13_000, cpuNs: 27_000, drift: flat, seed: 3)
        single.targetKey = "xfs"
        raw8.targetKey = "ext4"
        let all = ClassComparison.compute([simple, raw8, single])
        XCTAssertEqual(all.count, 2)
        XCTAssertTrue(all.allSatisfy { $0.deltas.isEmpty && $0.missingReference != nil })
        raw8.targetKey = "xfs"
        let paired = ClassComparison.compute([simple, raw8, single]).first { $0.pathClass == .singleExtent }
        XCTAssertEqual(paired?.referenceIdentity, raw8.identity)
        XCTAssertEqual(paired?.deltas.count, 4)
    }

    /// `merge` keeps the comparison: rounds pair across the merged sources when both
    /// cases come from the same files with as many repeats.
    func testMergedResultsCarryPairedComparisons() throws {
        func result(_ seed: UInt64, host: String) -> RunResult {
            let flat = [1.0, 1, 1]
            var env = EnvironmentInfo.current(); env.hostname = host
            return RunResult(startedAt: "2026-12-01T00:00:00Z", environment: env, target: nil, arguments: ["iobench"], cases: [
                Self.rounds(.singleExtent, bs: 8192, latencyNs: 100_000, iops: 13_000, cpuNs: 27_000, drift: flat, seed: seed),
                Self.rounds(.multiExtent, bs: 8192, latencyNs: 120_000, iops: 12_000, cpuNs: 30_000, drift: flat, seed: seed + 1),
            ])
        }
        let merged = try ResultMerger.merge([("a.json", result(1, host: "a")), ("b.json", result(7, host: "b"))])
        let cmp = try XCTUnwrap(merged.classComparisons?.first { $0.pathClass == .multiExtent })
        XCTAssertEqual(cmp.delta(.p50)?.rounds, 6)
        XCTAssertEqual(cmp.delta(.p50)?.finding, .higher)
    }

    // MARK: rounds

    func testRoundOrderRotatesAndKeepsPairsTogether() {
        var specs: [CaseSpec] = []
        for e in [EngineKind.psync, .libaio] {
            for (c, bs) in [(PathClass.simple, 4096), (.raw, 4096), (.singleExtent, 8192)] {
                var s = CaseSpec(engine: e); s.pathClass = c; s.blockSize = bs; s.queueDepth = e == .psync ? 1 : 32
                specs.append(s)
            }
        }
        var positions: [Int: Set<Int>] = [:]
        for round in 0 ..< 3 {
            let order = RunSession.roundOrder([specs, specs], round: round)
            XCTAssertEqual(order.count, 12)
            XCTAssertEqual(Set(order.map { "\($0.0)/\($0.1)" }).count, 12, "every case once per round")
            // The cases of one engine setting run back to back.
            let first = order.prefix(6).filter { $0.0 == order[0].0 }.map { specs[$0.1].engine }
            XCTAssertEqual(Set(first.prefix(3)).count, 1, "round \(round): \(order)")
            for (p, (b, i)) in order.enumerated() where b == 0 { positions[i, default: []].insert(p) }
        }
        for (i, ps) in positions {
            XCTAssertGreaterThan(ps.count, 1, "case \(i) ran at the same position every round")
        }
        XCTAssertNotEqual(RunSession.roundOrder([specs, specs], round: 0)[0].0, RunSession.roundOrder([specs, specs], round: 1)[0].0,
                          "the targets take turns going first")
    }

    // MARK: reports

    func testReportNamesTheReferenceAndExplainsTheDeltas() {
        let flat = [1.0, 1, 1, 1, 1]
        let (_, multi, single) = Self.pair(multiDrift: flat, singleDrift: flat)
        let simple = Self.rounds(.simple, bs: 4096, latencyNs: 90_000, iops: 15_000, cpuNs: 25_000, drift: flat, seed: 3)
        var r = RunResult(startedAt: "2026-12-01T00:00:00Z", environment: .current(), target: nil, arguments: ["iobench"],
                          cases: [simple, single, multi])
        r.classComparisons = ClassComparison.compute(r.cases)
        let text = TextReport.render(r)
        XCTAssertTrue(text.contains("vs (reference)"), text)
        XCTAssertTrue(text.contains("single-extent 8k"), text)
        XCTAssertTrue(text.contains("raw 4k (not run)"), text)
        XCTAssertTrue(text.contains("no Δ against raw 4k: it was not run"), text)
        XCTAssertTrue(text.contains("n.d. = no difference detected"), text)
        XCTAssertTrue(text.contains("mean of 5 rounds"), text)
        let md = MarkdownReport.render(r)
        XCTAssertTrue(md.contains("| vs (reference) |") && md.contains("single-extent 8k"), md)
        let html = HTMLReport.render([.run(name: "r.json", result: r)])
        XCTAssertTrue(html.contains("vs (reference)") && html.contains("single-extent 8k"))
        // The JSON carries the comparison, and reads back.
        let data = try! r.jsonData()
        let back = try! RunResult.decode(data, source: "r.json")
        XCTAssertEqual(back.classComparisons?.count, 3, "simple and single-extent (no raw: no Δ) and multi-extent")
        XCTAssertEqual(back.classComparisons?.first { $0.pathClass == .multiExtent }?.delta(.p50)?.rounds, 5)
    }
}

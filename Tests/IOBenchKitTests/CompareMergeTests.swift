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

    func verdicts(_ c: IOBenchKit.RunComparison, case i: Int = 0) -> [CompareMetric: MetricComparison.Verdict] {
        Dictionary(uniqueKeysWithValues: c.cases[i].metrics.map { ($0.metric, $0.verdict) })
    }

    func testSameConfigurationWithNoiseIsNoRegression() throws {
        let base = result([repeated(latency: [100_000, 120_000, 110_000], iops: [60_000, 50_000, 55_000], seed: 1)])
        // 15% worse median, but three repeats this spread apart cannot tell: unclear, not a regression.
        let new = result([repeated(latency: [118_000, 130_000, 105_000], iops: [52_000, 47_000, 58_000], seed: 9)])
        let c = try Comparator.compare(base: base, new: new, baseName: "b", newName: "n")
        XCTAssertEqual(c.regressions, 0, ComparisonReport.text(c))
        XCTAssertEqual(c.exitCode, 0)
        XCTAssertEqual(verdicts(c)[.p50], .unclear, ComparisonReport.text(c))
        XCTAssertEqual(verdicts(c)[.iops], .unclear, ComparisonReport.text(c))
        XCTAssertEqual(c.schemaVersion, 2)
    }

    func testGenuinelyWorseRunIsARegression() throws {
        let base = result([repeated(latency: [100_000, 105_000, 102_000], iops: [60_000, 58_000, 59_000], seed: 1)])
        let new = result([repeated(latency: [200_000, 210_000, 190_000], iops: [30_000, 31_000, 29_000], seed: 2)])
        let c = try Comparator.compare(base: base, new: new, baseName: "b", newName: "n")
        XCTAssertEqual(c.exitCode, 1)
        let v = verdicts(c)
        XCTAssertEqual(v[.iops], .regression)
        XCTAssertEqual(v[.p50], .regression)
        XCTAssertEqual(v[.mean], .regression)
        XCTAssertEqual(v[.cpu], .unchanged, "CPU per read did not move")
        // 3 × 5000 reads: 15 above p99.9, fewer than the 20 it needs.
        XCTAssertEqual(v[.p999], .notGated)
        XCTAssertTrue(c.cases[0].metrics.first { $0.metric == .p999 }?.reason?.contains("needs ≥ 20 reads above p99.9, had 15") ?? false,
                      ComparisonReport.text(c))
        // Every verdict's interval agrees with it: a regression lies wholly beyond its threshold.
        for m in c.cases[0].metrics where m.verdict == .regression {
            let iv = try XCTUnwrap(m.interval)
            if m.metric.higherIsBetter { XCTAssertLessThan(iv.highPercent, m.thresholdPercent) } else { XCTAssertGreaterThan(iv.lowPercent, m.thresholdPercent) }
        }
        let junit = ComparisonReport.junit(c)
        XCTAssertTrue(junit.contains("<failure"))
        XCTAssertTrue(junit.contains("name=\"ioUring-randread-bs4k-qd32-j1 p50\"".replacingOccurrences(of: "ioUring", with: "io_uring")), junit)
        XCTAssertTrue(junit.contains("time=\""), junit)
        XCTAssertTrue(junit.contains("threshold +5%") && junit.contains("interval ["), junit)
        let md = ComparisonReport.markdown(c)
        XCTAssertTrue(md.contains("**REGRESSION**"))
        XCTAssertTrue(md.contains("Rule: regression when the whole"), md)
        let text = ComparisonReport.text(c)
        XCTAssertTrue(text.contains("rule: regression when the whole") && text.contains("interval ("), text)
    }

    func testImprovementIsNotARegression() throws {
        let base = result([repeated(latency: [200_000, 210_000, 190_000], iops: [30_000, 31_000, 29_000], seed: 2)])
        let new = result([repeated(latency: [100_000, 105_000, 102_000], iops: [60_000, 58_000, 59_000], seed: 1)])
        let c = try Comparator.compare(base: base, new: new, baseName: "b", newName: "n")
        XCTAssertEqual(c.exitCode, 0)
        XCTAssertEqual(c.improvements, 1)
        XCTAssertEqual(verdicts(c)[.p50], .improved)
    }

    func testWithoutRepeatsTheWithinRunIntervalDecides() throws {
        let base = result([repeatCase(latencyNs: 100_000, iops: 60_000, seed: 1)])
        let worse = result([repeatCase(latencyNs: 112_000, iops: 60_000, seed: 1)])
        let c = try Comparator.compare(base: base, new: worse, baseName: "b", newName: "n")
        XCTAssertEqual(c.exitCode, 1, ComparisonReport.text(c))
        XCTAssertEqual(verdicts(c)[.p50], .regression)
        XCTAssertEqual(c.cases[0].metrics.first { $0.metric == .p50 }?.noiseModel, .withinRun)
        // Said in the output: the within-run interval alone.
        XCTAssertTrue(ComparisonReport.text(c).contains("the within-run interval alone"), ComparisonReport.text(c))
        // One repeat and no timeline: IOPS and CPU are not gated, with the reason.
        XCTAssertEqual(verdicts(c)[.iops], .notGated)
        XCTAssertEqual(verdicts(c)[.cpu], .notGated)
        XCTAssertTrue(c.cases[0].metrics.first { $0.metric == .cpu }?.reason?.contains("needs ≥ 3 repeats") ?? false)
        // A looser p50/mean/p99 threshold lets the same change pass.
        let loose = try ["p50=+20%", "mean=+20%", "p99=+20%", "p99.9=+20%"].map { try CompareThreshold.parse($0) }
        XCTAssertEqual(try Comparator.compare(base: base, new: worse, baseName: "b", newName: "n", thresholds: loose).exitCode, 0)
    }

    func testMissingCasesFailTheGateUnlessAllowed() throws {
        let base = result([repeatCase(latencyNs: 1e5, iops: 6e4, seed: 1), repeatCase(.libaio, latencyNs: 1e5, iops: 6e4, seed: 1)])
        let new = result([repeatCase(latencyNs: 1e5, iops: 6e4, seed: 1), repeatCase(.psync, qd: 1, latencyNs: 1e5, iops: 6e4, seed: 1)])
        let c = try Comparator.compare(base: base, new: new, baseName: "b", newName: "n")
        XCTAssertEqual(c.missingInNew, ["libaio-randread-bs4k-qd32-j1"])
        XCTAssertEqual(c.missingInBase, ["psync-randread-bs4k-qd1-j1"])
        XCTAssertTrue(ComparisonReport.text(c).contains("missing in n: libaio"))
        XCTAssertEqual(c.exitCode, 1, "a case missing from NEW fails the gate")
        XCTAssertTrue(ComparisonReport.junit(c).contains("name=\"libaio-randread-bs4k-qd32-j1 present\""))
        let allowed = try Comparator.compare(base: base, new: new, baseName: "b", newName: "n", allowMissing: true)
        XCTAssertEqual(allowed.exitCode, 0)
    }

    func testFailedOrErroredInNewIsARegression() throws {
        let ok = repeatCase(latencyNs: 1e5, iops: 6e4, seed: 1)
        var failed = repeatCase(latencyNs: 1e5, iops: 6e4, seed: 2)
        failed.status = .failed
        failed.reason = "pread: Input/output error"
        let other = repeatCase(.libaio, latencyNs: 1e5, iops: 6e4, seed: 3)
        let c = try Comparator.compare(base: result([ok, other]), new: result([failed, other]), baseName: "b", newName: "n")
        XCTAssertEqual(c.exitCode, 1)
        XCTAssertEqual(c.regressions, 1)
        XCTAssertTrue(c.cases[0].failure?.contains("failed in n: pread: Input/output error") ?? false)
        XCTAssertEqual(c.missingInNew, [], "a failed case is a regression, not a missing one")
        var errored = repeatCase(latencyNs: 1e5, iops: 6e4, seed: 2)
        errored.errors.ioErrors = 3
        let e = try Comparator.compare(base: result([ok, other]), new: result([errored, other]), baseName: "b", newName: "n")
        XCTAssertEqual(e.exitCode, 1)
        XCTAssertTrue(ComparisonReport.junit(e).contains("name=\"io_uring-randread-bs4k-qd32-j1 status\""))
    }

    func testNothingComparedIsExit2NamingWhy() throws {
        let ok = repeatCase(latencyNs: 1e5, iops: 6e4, seed: 1)
        var failed = ok
        failed.status = .failed
        failed.reason = "engine refused"
        let libaio = repeatCase(.libaio, latencyNs: 1e5, iops: 6e4, seed: 1)
        let cases: [(RunResult, RunResult, String)] = [
            (result([ok]), result([]), "n has no cases"),
            (result([]), result([ok]), "b has no cases"),
            (result([ok]), result([libaio]), "no case id is in both files"),
            (result([failed]), result([ok]), "every case of b failed"),
        ]
        for (b, n, mention) in cases {
            XCTAssertThrowsError(try Comparator.compare(base: b, new: n, baseName: "b", newName: "n"), mention) { e in
                XCTAssertEqual((e as? IOBenchError)?.exitCode, 2)
                XCTAssertTrue("\(e)".contains(mention), "\(e)")
            }
        }
    }

    /// Every case of NEW failed: a broken change, so a regression (exit 1), each case
    /// named, never "nothing to compare". Only a NEW that measured nothing (all skipped) is 2.
    func testEveryCaseFailedInNewIsARegression() throws {
        let ok = repeatCase(latencyNs: 1e5, iops: 6e4, seed: 1)
        var failed = ok
        failed.status = .failed
        failed.reason = "engine refused"
        let r = try Comparator.compare(base: result([ok]), new: result([failed]), baseName: "b", newName: "n")
        XCTAssertEqual(r.exitCode, 1)
        XCTAssertEqual(r.cases.first?.failure?.contains("failed in n"), true, ComparisonReport.text(r))
        var skipped = ok
        skipped.status = .skipped
        XCTAssertThrowsError(try Comparator.compare(base: result([ok]), new: result([skipped]), baseName: "b", newName: "n")) { e in
            XCTAssertEqual((e as? IOBenchError)?.exitCode, 2)
            XCTAssertTrue("\(e)".contains("every case of n was skipped"), "\(e)")
        }
    }

    /// A run stopped by SIGINT/SIGTERM measured part of what it was asked: exit 2, named.
    func testInterruptedResultsAreNotCompared() throws {
        let ok = repeatCase(latencyNs: 1e5, iops: 6e4, seed: 1)
        var stopped = result([ok])
        stopped.interrupted = true
        for (b, n) in [(result([ok]), stopped), (stopped, result([ok]))] {
            XCTAssertThrowsError(try Comparator.compare(base: b, new: n, baseName: "b", newName: "n")) { e in
                XCTAssertEqual((e as? IOBenchError)?.exitCode, 2)
                XCTAssertTrue("\(e)".contains("was interrupted"), "\(e)")
            }
        }
    }

    func testPairedRoundsCancelDrift() throws {
        // Five rounds whose speed drifts by ±30% together on both sides; NEW is 10% slower
        // in every round. Unpaired, the drift hides it; paired, it is a regression.
        let drift: [Double] = [1.0, 1.3, 0.7, 1.2, 0.8]
        let base = result([repeated(latency: drift.map { 100_000 * $0 }, iops: drift.map { 50_000 / $0 }, seed: 1)])
        let new = result([repeated(latency: drift.map { 115_000 * $0 }, iops: drift.map { 50_000 / $0 / 1.15 }, seed: 11)])
        let unpaired = try Comparator.compare(base: base, new: new, baseName: "b", newName: "n")
        XCTAssertEqual(unpaired.exitCode, 0, ComparisonReport.text(unpaired))
        let paired = try Comparator.compare(base: base, new: new, baseName: "b", newName: "n", paired: true)
        XCTAssertEqual(paired.exitCode, 1, ComparisonReport.text(paired))
        XCTAssertEqual(verdicts(paired)[.iops], .regression)
        XCTAssertEqual(paired.cases[0].metrics.first { $0.metric == .iops }?.noiseModel, .paired)
        XCTAssertTrue(paired.paired)
        // Rounds that do not pair up are not gated, with the reason.
        let short = result([repeated(latency: [1e5, 1e5], iops: [5e4, 5e4], seed: 3)])
        let p2 = try? Comparator.compare(base: base, new: short, baseName: "b", newName: "n", paired: true)
        XCTAssertNil(p2, "nothing could be gated: exit 2")
    }

    func testVersion1ComparisonsStillDecode() throws {
        let v1 = """
        {"schema":"iobench/compare","schema_version":1,"base":"a","new":"b","thresholds":[{"metric":"p99","percent":10}],
         "cases":[{"id":"x","label":"x","metrics":[{"metric":"p99","base":1,"new":2,"change_percent":100,"threshold_percent":10,"verdict":"noise"},
                                               {"metric":"iops","base":2,"new":3,"change_percent":50,"threshold_percent":-5,"verdict":"improvement"}],
                   "regression":false,"improvement":true}],
         "missing_in_new":["y"],"missing_in_base":[],"regressions":0,"improvements":1}
        """
        let r = try JSONDecoder().decode(IOBenchKit.RunComparison.self, from: Data(v1.utf8))
        XCTAssertEqual(r.cases[0].metrics.map(\.verdict), [.unclear, .improved])
        XCTAssertEqual(r.exitCode, 0, "version 1 never failed on missing cases")
    }

    /// Text and Markdown run reports of `--repeat` results show the repeat count and
    /// spread; the Markdown report has the path-class table.
    func testReportsShowRepeatsSpreadAndClasses() {
        var agg = repeated(latency: [100_000, 120_000, 110_000], iops: [60_000, 50_000, 55_000], seed: 1)
        agg.config.pathClass = PathClass.simple
        let r = result([agg])
        let text = TextReport.render(r)
        XCTAssertTrue(text.contains("spread across repeats"), text)
        XCTAssertTrue(text.contains("50.0k / 55.0k / 60.0k"), text)
        let md = MarkdownReport.render(r)
        XCTAssertTrue(md.contains("**Spread across repeats**") && md.contains("| 3 |"), md)
        XCTAssertTrue(md.contains("**Path classes**") && md.contains("| simple |"), md)
    }

    /// `c` with every latency of its histograms (case and repeats) multiplied by `f` and
    /// IOPS divided by it: the gate reads histograms, never the printed percentiles.
    static func scaled(_ c: CaseResult, by f: Double) -> CaseResult {
        func scale(_ h: LatencyHistogram) -> (HistogramEncoding, LatencySummary) {
            var out = LatencyHistogram()
            for v in h.histogram.recordedValues() where v.count > 0 {
                _ = out.histogram.record(UInt64(Double(v.value) * f), count: v.count)
                out.sum &+= UInt64(Double(v.value) * f) * UInt64(v.count)
            }
            return (HistogramEncoding(out), LatencySummary(out))
        }
        var c = c
        c.iops /= f
        if let h = c.histogram { let (e, l) = scale(h.live); c.histogram = e; c.latency = l }
        if var reps = c.repeats {
            for k in reps.indices {
                reps[k].iops /= f
                if let h = reps[k].histogram { let (e, l) = scale(h.live); reps[k].histogram = e; reps[k].latency = l }
            }
            c.repeats = reps
        }
        return c
    }

    func testThresholdParsing() throws {
        XCTAssertEqual(try CompareThreshold.parse("p99=+5%"), CompareThreshold(metric: .p99, percent: 5))
        XCTAssertEqual(try CompareThreshold.parse("iops=-3%"), CompareThreshold(metric: .iops, percent: -3))
        XCTAssertEqual(try CompareThreshold.parse("iops=3"), CompareThreshold(metric: .iops, percent: -3), "unsigned takes the worse direction")
        XCTAssertEqual(try CompareThreshold.parse("p99=+10%").logDelta, log(1.1), accuracy: 1e-12)
        XCTAssertEqual(try CompareThreshold.parse("iops=-5%").logDelta, -log(0.95), accuracy: 1e-12)
        for bad in ["p99", "p98=+5%", "p99=+x%", "iops=+3%", "p99=-5%", "p99=nan%", "=5%", "p99=1e999%", "iops=-100%", "iops=-150%"] {
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
        // Every percentile is that of all reads together, capped at the exact maximum.
        let exactMax = max(a.latency!.maxNs, b.latency!.maxNs)
        XCTAssertEqual(m.latency?.maxNs, exactMax)
        for p in [1.0, 50, 90, 99, 99.9] {
            XCTAssertEqual(m.latency?.value(at: p), min(all.value(atPercentile: p), exactMax), "p\(p)")
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

    // MARK: case identity: id plus target key

    /// A case of a labelled target, as RunSession makes it.
    func keyed(_ key: String?, _ engine: EngineKind = .ioUring, latencyNs: Double = 1e5, seed: UInt64 = 1) -> CaseResult {
        var c = repeatCase(engine, latencyNs: latencyNs, iops: 6e4, seed: seed)
        if let key {
            c.targetKey = key
            c.label = key + ": " + c.label
        }
        return c
    }

    func testCompareMatchesByIdAndTargetKey() throws {
        let id = "io_uring-randread-bs4k-qd32-j1"
        // The same id on two targets: two cases. xfs twice as slow must not be read as
        // ext4 regressing, nor the other way round.
        let base = result([keyed("ext4"), keyed("xfs", latencyNs: 2e5, seed: 2)])
        let same = try Comparator.compare(base: base, new: base, baseName: "b", newName: "n")
        XCTAssertEqual(same.cases.map(\.identity), ["ext4/" + id, "xfs/" + id])
        XCTAssertEqual(same.cases.map(\.targetKey), ["ext4", "xfs"])
        XCTAssertEqual(same.regressions, 0)
        XCTAssertEqual(same.missingInNew, [])
        // Only ext4 in NEW: xfs is missing, by identity.
        let onlyExt4 = try Comparator.compare(base: base, new: result([keyed("ext4", seed: 3)]), baseName: "b", newName: "n")
        XCTAssertEqual(onlyExt4.missingInNew, ["xfs/" + id])
        XCTAssertEqual(onlyExt4.cases.count, 1)
        XCTAssertTrue(ComparisonReport.text(onlyExt4).contains("missing in n: xfs/" + id))
        XCTAssertTrue(ComparisonReport.junit(onlyExt4).contains("name=\"xfs/\(id) present\""))
        XCTAssertTrue(ComparisonReport.junit(onlyExt4).contains("name=\"ext4/\(id) p50\""))
        // A key on one side only: no case in common, and the message says why.
        XCTAssertThrowsError(try Comparator.compare(base: result([keyed(nil)]), new: result([keyed("ext4")]), baseName: "b", newName: "n")) { e in
            XCTAssertEqual((e as? IOBenchError)?.exitCode, 2)
            XCTAssertTrue("\(e)".contains("target keys differ"), "\(e)")
        }
        // Configurations are checked per identity: ext4 at bs 4k and xfs at bs 8k are not a mismatch.
        var xfs8k = keyed("xfs", seed: 4)
        xfs8k.config.blockSize = 8192
        XCTAssertNoThrow(try Comparator.compare(base: result([keyed("ext4"), xfs8k]), new: result([keyed("ext4", seed: 5), xfs8k]), baseName: "b", newName: "n"))
    }

    func testComparisonJSONCarriesTheTargetKeyOnlyWhenThereIsOne() throws {
        let c = try Comparator.compare(base: result([keyed("a"), keyed(nil, .libaio)]), new: result([keyed("a", seed: 2), keyed(nil, .libaio, seed: 2)]),
                                       baseName: "b", newName: "n")
        let object = try JSONSerialization.jsonObject(with: ComparisonReport.json(c)) as? [String: Any]
        let cases = object?["cases"] as? [[String: Any]] ?? []
        XCTAssertEqual(cases.count, 2)
        XCTAssertEqual(cases[0]["target_key"] as? String, "a")
        XCTAssertNil(cases[1]["target_key"], "no key: the field is absent, as in every earlier version 2 document")
        XCTAssertEqual(object?["schema_version"] as? Int, 2)
        let back = try JSONDecoder().decode(IOBenchKit.RunComparison.self, from: ComparisonReport.json(c))
        XCTAssertEqual(back.cases.map(\.identity), c.cases.map(\.identity))
        // The label is shown with its key once, never twice.
        XCTAssertEqual(back.cases[0].displayLabel, "a: io_uring 4k QD32")
        let bare = CaseComparison(id: "x", targetKey: "k", label: "psync 4k QD1", metrics: [])
        XCTAssertEqual(bare.displayLabel, "k: psync 4k QD1")
    }

    func testOneTargetBaselineWithoutTargetKeyStillMatches() throws {
        // A stored result of an earlier version: no target_key anywhere.
        let stored = result([keyed(nil), keyed(nil, .libaio)])
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: stored.jsonData()) as? [String: Any])
        json["cases"] = (json["cases"] as? [[String: Any]])?.map { c in var c = c; c.removeValue(forKey: "target_key"); return c }
        let old = try JSONDecoder().decode(RunResult.self, from: JSONSerialization.data(withJSONObject: json))
        XCTAssertTrue(old.cases.allSatisfy { $0.targetKey == nil })
        let c = try Comparator.compare(base: old, new: result([keyed(nil, seed: 2), keyed(nil, .libaio, seed: 2)]), baseName: "b", newName: "n")
        XCTAssertEqual(c.cases.map(\.identity), ["io_uring-randread-bs4k-qd32-j1", "libaio-randread-bs4k-qd32-j1"])
        XCTAssertEqual(c.missingInNew, [])
        XCTAssertEqual(c.missingInBase, [])
    }

    func testMergeKeepsTargetKeysApartAndMergesHostsOfOneIdentity() throws {
        var h1 = result([keyed("ext4"), keyed("xfs", seed: 2)]); h1.environment.hostname = "h1"
        var h2 = result([keyed("ext4", seed: 3), keyed("xfs", seed: 4)]); h2.environment.hostname = "h2"
        let m = try ResultMerger.merge([("h1.json", h1), ("h2.json", h2)])
        XCTAssertEqual(m.cases.map(\.identity), ["ext4/io_uring-randread-bs4k-qd32-j1", "xfs/io_uring-randread-bs4k-qd32-j1"])
        XCTAssertEqual(m.cases.map { $0.sources?.map(\.host) ?? [] }, [["h1", "h2"], ["h1", "h2"]], "the fleet use: one identity from several hosts")
        XCTAssertEqual(m.cases[0].ios, 10_000)
        // The configuration check is per identity, and names the field.
        var xfs8k = keyed("xfs", seed: 5)
        xfs8k.config.blockSize = 8192
        XCTAssertThrowsError(try ResultMerger.merge([("h1.json", h1), ("h3.json", result([xfs8k]))])) { e in
            XCTAssertEqual((e as? IOBenchError)?.exitCode, 2)
            XCTAssertTrue("\(e)".contains("case xfs/io_uring-randread-bs4k-qd32-j1 differs in bs"), "\(e)")
        }
        // The same id with a key and without: two cases.
        XCTAssertEqual(try ResultMerger.merge([("a.json", result([keyed(nil)])), ("b.json", result([keyed("ext4")]))]).cases.count, 2)
    }

    func testPlotsAndRunReportsKeepTheSameIdOnTwoTargetsApart() throws {
        let r = result([keyed("a"), keyed("b", latencyNs: 2e5, seed: 2)])
        let set = PlotSet([(name: "r.json", result: r)])
        XCTAssertEqual(set.cases.map(\.id), ["a/io_uring-randread-bs4k-qd32-j1", "b/io_uring-randread-bs4k-qd32-j1"])
        XCTAssertNotEqual(set.cases[0].style, set.cases[1].style, "two series, drawn apart")
        let svg = PercentileSpectrumPlot.render(set)
        XCTAssertTrue(svg.contains("data-case=\"a/io_uring-randread-bs4k-qd32-j1\"") && svg.contains("data-case=\"b/io_uring-randread-bs4k-qd32-j1\""))
        let junit = RunJUnitReport.render(r)
        XCTAssertTrue(junit.contains("name=\"a/io_uring-randread-bs4k-qd32-j1\"") && junit.contains("name=\"b/io_uring-randread-bs4k-qd32-j1\""), junit)
        // One target: the plots' ids are the bare ids, as before.
        XCTAssertEqual(PlotSet([(name: "r.json", result: result([keyed(nil)]))]).cases.map(\.id), ["io_uring-randread-bs4k-qd32-j1"])
    }
}

/// What merged and aggregated results promise about their numbers, checked against the
/// raw values recorded, not only against decode + add.
final class AggregateExactnessTests: XCTestCase {
    /// A case whose reads are `values`, recorded as a run records them.
    func caseOf(_ values: [UInt64], seed: UInt64 = 0) -> CaseResult {
        var o = JobOutcome()
        for v in values { o.histogram.record(v) }
        o.ios = UInt64(values.count)
        o.elapsedNs = 1_000_000_000
        o.usage.systemNs = UInt64(values.count) * 1000
        return CaseResult(spec: CaseSpec(engine: .ioUring), outcomes: [o])
    }

    func rawValues(_ n: Int, seed: UInt64) -> [UInt64] {
        var rng = Xoshiro256StarStar(seed: seed)
        // Heavy-tailed, so the top buckets are wide and sparsely filled.
        return (0 ..< n).map { _ in 10_000 + rng.uniform(below: 50_000) + (rng.uniform(below: 100) == 0 ? rng.uniform(below: 5_000_000) : 0) }
    }

    func checkAgainstRaw(_ c: CaseResult, _ raw: [UInt64], file: StaticString = #filePath, line: UInt = #line) throws {
        let l = try XCTUnwrap(c.latency)
        let sum = raw.reduce(UInt64(0), +)
        XCTAssertEqual(l.count, UInt64(raw.count), file: file, line: line)
        XCTAssertEqual(l.sumNs, sum, "the exact sum of every recorded latency", file: file, line: line)
        XCTAssertEqual(l.meanNs, Double(sum) / Double(raw.count), "the mean is sum / count exactly", file: file, line: line)
        XCTAssertEqual(l.maxNs, raw.max(), file: file, line: line)
        XCTAssertEqual(l.minNs, raw.min(), file: file, line: line)
        for p in l.percentiles {
            XCTAssertLessThanOrEqual(p.valueNs, l.maxNs, "p\(p.percentile) above max_ns", file: file, line: line)
        }
        // Each percentile is within the histogram's 0.1% of the true order statistic.
        let sorted = raw.sorted()
        for p in [50.0, 99, 99.9] {
            // The rank HdrHistogram's valueAtPercentile reads: ⌈p⁻·n/100⌉.
            let truth = Double(sorted[max(Int((p.nextDown * Double(raw.count) / 100).rounded(.up)) - 1, 0)])
            XCTAssertEqual(Double(l.value(at: p) ?? 0), truth, accuracy: truth * 0.002, "p\(p)", file: file, line: line)
        }
    }

    func testRepeatAggregateAndMergeAreExactAgainstTheRawValues() throws {
        let raws = (0 ..< 3).map { rawValues(4000, seed: 100 + UInt64($0)) }
        // Through JSON, as `compare` and `merge` read them: the repeats' files decoded again.
        func roundTrip(_ c: CaseResult) throws -> CaseResult {
            var r = RunResult(startedAt: "2026-11-26T00:00:00Z", environment: .current(), target: nil, arguments: [], cases: [c])
            r = try RunResult.decode(try r.jsonData(), source: "x.json")
            return r.cases[0]
        }
        let repeats = try raws.enumerated().map { try roundTrip(caseOf($0.element, seed: UInt64($0.offset))) }
        let agg = CaseResult.aggregate(repeats)
        try checkAgainstRaw(agg, raws.flatMap { $0 })
        let aggBack = try roundTrip(agg)
        try checkAgainstRaw(aggBack, raws.flatMap { $0 })

        let results = repeats.enumerated().map { i, c in
            (file: "h\(i).json", result: RunResult(startedAt: "2026-11-26T00:00:00Z", environment: .current(), target: nil, arguments: [], cases: [c]))
        }
        let merged = try ResultMerger.merge(results)
        try checkAgainstRaw(merged.cases[0], raws.flatMap { $0 })
        XCTAssertEqual(merged.cases[0].repeats?.count, 3, "merge keeps each source as a repeat")
        // Merging merged results stays exact.
        let twice = try ResultMerger.merge([("m.json", merged), ("h0.json", results[0].result)])
        try checkAgainstRaw(twice.cases[0], raws.flatMap { $0 } + raws[0])
    }
}

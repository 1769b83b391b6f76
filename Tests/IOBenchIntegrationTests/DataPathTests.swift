import Foundation
import XCTest
@testable import IOBenchKit

/// One data path: a run's histograms stay live in memory from the job loop to the
/// reports, and are V2-encoded only when a result is written. A result read back from
/// its JSON must be the same result: the same JSON byte for byte, the same totals, the
/// same reports, and the same sums when repeats or files are added up.
final class DataPathTests: XCTestCase {
    var dir: ScratchDirectory!
    var target: Target!

    override func setUpWithError() throws {
        dir = try ScratchDirectory()
        target = try Target.open(TargetRequest(path: dir.file("data.dat"), size: 16 << 20))
    }

    override func tearDown() {
        target = nil
        dir = nil
    }

    func spec(_ engine: EngineKind, jobs: Int, ios: UInt64) -> CaseSpec {
        var s = CaseSpec(engine: engine)
        s.queueDepth = 1
        s.jobs = jobs
        s.runtimeNs = nil
        s.rampNs = 0
        s.ioLimit = ios
        return s
    }

    /// Two cases of two jobs each, three rounds: job sums, repeat sums and the class-free
    /// parts of a real run, as `RunSession` makes them.
    func runResult() -> RunResult {
        let session = RunSession(arguments: ["iobench", "test"], showProgress: false)
        let batch = CaseBatch(target: target, specs: [spec(.psync, jobs: 2, ios: 1500), spec(.pvsync2, jobs: 2, ios: 1000)])
        return session.run([batch], skipUnsupported: false, repeats: 3)
    }

    static func json(_ c: CaseResult) throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try enc.encode(c)
    }

    func testJSONRoundTripIsByteIdenticalWithTheSameTotals() throws {
        let r = runResult()
        XCTAssertEqual(r.cases.count, 2)
        for c in r.cases {
            XCTAssertEqual(c.status, .ok, c.reason ?? "")
            XCTAssertEqual(c.repeats?.count, 3)
            XCTAssertEqual(c.ios, c.config.ioLimit.map { $0 * 3 * UInt64(c.config.jobs) }, "every read of 2 jobs × 3 rounds: \(c.id)")
        }
        let first = try r.jsonData()
        let back = try RunResult.decode(first, source: "r.json")
        XCTAssertEqual(String(decoding: try back.jsonData(), as: UTF8.self), String(decoding: first, as: UTF8.self),
                       "encode → decode → encode is byte-identical")
        for (a, b) in zip(r.cases, back.cases) {
            XCTAssertEqual(a.histogram?.data, b.histogram?.data, a.id)
            XCTAssertEqual(a.ios, b.ios)
            XCTAssertEqual(a.cpu?.userNs, b.cpu?.userNs)
            XCTAssertEqual(a.errors.verifiedReads, b.errors.verifiedReads)
            XCTAssertEqual(a.latency?.sumNs, b.latency?.sumNs)
            // The histogram read back carries the exact totals its summary states.
            let (la, lb) = (try XCTUnwrap(a.histogram?.live), try XCTUnwrap(b.histogram?.live))
            XCTAssertEqual(la.count, lb.count)
            XCTAssertEqual(la.sum, lb.sum, "the exact sum, restored from sum_ns")
            XCTAssertEqual(la.outOfRange, lb.outOfRange)
            XCTAssertEqual(la.sum, a.latency?.sumNs)
            for (ra, rb) in zip(a.repeats ?? [], b.repeats ?? []) {
                XCTAssertEqual(ra.histogram?.data, rb.histogram?.data)
                XCTAssertEqual(ra.histogram?.live.sum, rb.histogram?.live.sum)
                XCTAssertEqual(ra.histogram?.live.sum, ra.latency?.sumNs)
            }
        }
    }

    /// Adding up live histograms (a run) and decoded ones (merge of files) gives the
    /// same case, through the one `CaseTotals`.
    func testSumsOfLiveAndDecodedResultsAgree() throws {
        let r = runResult()
        let back = try RunResult.decode(try r.jsonData(), source: "r.json")
        // Repeats: the aggregate of live repeats against that of repeats read from JSON.
        let c = r.cases[0]
        let repeats = (c.repeats ?? []).map { rep -> CaseResult in
            var one = c
            one.repeats = nil; one.spread = nil
            one.ios = rep.ios; one.elapsedNs = rep.elapsedNs; one.iops = rep.iops; one.latency = rep.latency
            one.cpu = rep.cpu; one.errors = rep.errors; one.histogram = rep.histogram; one.timelineIOPS = rep.timelineIOPS
            return one
        }
        XCTAssertEqual(repeats.count, 3)
        let liveAggregate = CaseResult.aggregate(repeats)
        let readRepeats = try repeats.map { one -> CaseResult in
            var single = r
            single.cases = [one]
            return try RunResult.decode(try single.jsonData(), source: "one.json").cases[0]
        }
        XCTAssertEqual(try Self.json(CaseResult.aggregate(readRepeats)), try Self.json(liveAggregate))
        XCTAssertEqual(liveAggregate.histogram?.data, c.histogram?.data, "the run's own aggregate")
        XCTAssertEqual(liveAggregate.latency?.sumNs, c.latency?.sumNs)

        // Files: merging the in-memory result with itself, and the result read back.
        let live = try ResultMerger.merge([("a.json", r), ("b.json", r)])
        let read = try ResultMerger.merge([("a.json", back), ("b.json", back)])
        for (a, b) in zip(live.cases, read.cases) {
            XCTAssertEqual(try Self.json(a), try Self.json(b))
            XCTAssertEqual(a.ios, 2 * (r.cases.first { $0.identity == a.identity }?.ios ?? 0))
        }
    }

    func testReportsOfAResultAndOfItsJSONAreTheSame() throws {
        let r = runResult()
        let back = try RunResult.decode(try r.jsonData(), source: "r.json")
        XCTAssertEqual(TextReport.render(back), TextReport.render(r))
        XCTAssertEqual(MarkdownReport.render(back), MarkdownReport.render(r))
        for c in r.cases { XCTAssertEqual(try HgrmReport.render(case: c), try HgrmReport.render(case: back.cases.first { $0.id == c.id }!)) }
        let (a, b) = (PlotSet([("r.json", r)]), PlotSet([("r.json", back)]))
        XCTAssertEqual(PercentileSpectrumPlot.render(b), PercentileSpectrumPlot.render(a))
        XCTAssertEqual(LatencyHistogramPlot.render(b), LatencyHistogramPlot.render(a))
        XCTAssertTrue(TextReport.render(r).contains("latency distribution"), "the report draws the histograms")
    }
}

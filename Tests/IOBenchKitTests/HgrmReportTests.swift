import Foundation
import Histogram
import XCTest
@testable import IOBenchKit
@testable import IOBenchPlatform
@testable import IOBenchHistogram
@testable import IOBenchEngines
@testable import IOBenchWorkload
@testable import IOBenchMeasurement
@testable import IOBenchResults
@testable import IOBenchReports

/// A parsed `.hgrm` text: its rows and footer.
struct ParsedHgrm {
    struct Row { var value: Double; var percentile: Double; var totalCount: UInt64; var inverse: Double? }
    var header = ""
    var rows: [Row] = []
    var footer: [String] = []

    init(_ text: String) throws {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        guard lines.count >= 2 else { throw NSError(domain: "hgrm", code: 1) }
        header = lines[0]
        guard lines[1].isEmpty else { throw NSError(domain: "hgrm: no blank line after the header", code: 2) }
        for line in lines.dropFirst(2) {
            if line.hasPrefix("#[") { footer.append(line); continue }
            let f = line.split(separator: " ")
            guard f.count == 3 || f.count == 4, let v = Double(f[0]), let p = Double(f[1]), let n = UInt64(f[2]) else {
                throw NSError(domain: "hgrm: bad row '\(line)'", code: 3)
            }
            rows.append(Row(value: v, percentile: p, totalCount: n, inverse: f.count == 4 ? Double(f[3]) : nil))
        }
    }

    /// A footer field, e.g. `Max` or `Total count`.
    func footerValue(_ name: String) -> Double? {
        for line in footer {
            for part in line.dropFirst(2).dropLast().split(separator: ",") {
                let kv = part.split(separator: "=")
                if kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces) == name {
                    return Double(kv[1].trimmingCharacters(in: .whitespaces))
                }
            }
        }
        return nil
    }
}

/// Latencies with a body and a long tail, like a disk: deterministic.
func sampleLatencies(_ n: Int, seed: UInt64) -> LatencyHistogram {
    var h = LatencyHistogram()
    var rng = Xoshiro256StarStar(seed: seed)
    for i in 0 ..< n {
        var v = 20_000 + rng.uniform(below: 40_000)
        if i % 100 == 0 { v += rng.uniform(below: 2_000_000) }
        if i % 10_000 == 0 { v += rng.uniform(below: 30_000_000) }
        h.record(v)
    }
    return h
}

final class HgrmReportTests: XCTestCase {
    func testHeaderAndFooterAreJavasLayout() throws {
        let h = sampleLatencies(50_000, seed: 3)
        let text = HgrmReport.render(h)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines[0], "       Value     Percentile TotalCount 1/(1-Percentile)")
        XCTAssertEqual(lines[1], "")
        let parsed = try ParsedHgrm(text)
        XCTAssertEqual(parsed.footer.count, 3)
        XCTAssertTrue(parsed.footer[0].hasPrefix("#[Mean    = "), parsed.footer[0])
        XCTAssertTrue(parsed.footer[0].contains(", StdDeviation   = "), parsed.footer[0])
        XCTAssertTrue(parsed.footer[1].hasPrefix("#[Max     = "), parsed.footer[1])
        XCTAssertTrue(parsed.footer[1].contains(", Total count    = "), parsed.footer[1])
        XCTAssertEqual(parsed.footer[2], "#[Buckets =           26, SubBuckets     =         2048]")
        XCTAssertEqual(parsed.footerValue("Total count"), 50_000)
        XCTAssertEqual(parsed.footerValue("Max"), Double(h.histogram.max) / 1000)
        XCTAssertEqual(parsed.footerValue("Mean")!, h.histogram.mean / 1000, accuracy: 0.001)
        XCTAssertEqual(parsed.footerValue("StdDeviation")!, h.histogram.stdDeviation / 1000, accuracy: 0.001)
        // Fixed columns: value 12 wide with 3 decimals, percentile with 12 decimals.
        for line in lines.dropFirst(2) where !line.hasPrefix("#") && !line.isEmpty {
            XCTAssertEqual(line.count == 38 || line.count == 53, true, "row width: '\(line)'")
            XCTAssertEqual(line[line.index(line.startIndex, offsetBy: 8)], ".", "3 decimals: '\(line)'")
        }
        XCTAssertTrue(text.hasSuffix("]\n"))
    }

    /// Every row, read back, is the histogram's value at that row's percentile (within one
    /// bucket), its count is the running count there, and the last row is 100%.
    func testRowsAreThePercentilesOfTheHistogram() throws {
        let h = sampleLatencies(200_000, seed: 7)
        let parsed = try ParsedHgrm(HgrmReport.render(h))
        XCTAssertGreaterThan(parsed.rows.count, 50)
        var previous: ParsedHgrm.Row?
        for row in parsed.rows {
            let ns = UInt64((row.value * 1000).rounded())
            let expected = h.value(atPercentile: row.percentile * 100)
            let bucket = h.histogram.sizeOfEquivalentRangeForValue(expected)
            XCTAssertLessThanOrEqual(abs(Double(ns) - Double(expected)), Double(bucket),
                                     "p\(row.percentile * 100): row \(ns) ns, histogram \(expected) ns")
            // The running count up to that value reaches the row's percentile.
            XCTAssertEqual(row.totalCount, h.histogram.count(within: 0 ... ns), "running count at \(ns)")
            XCTAssertGreaterThanOrEqual(Double(row.totalCount) / Double(h.count), row.percentile - 1e-12)
            if let inverse = row.inverse {
                XCTAssertEqual(inverse, 1 / (1 - row.percentile), accuracy: 0.006 + inverse * inverse * 1e-12)
            }
            if let p = previous {
                XCTAssertGreaterThanOrEqual(row.value, p.value)
                XCTAssertGreaterThan(row.percentile, p.percentile)
            }
            previous = row
        }
        XCTAssertEqual(parsed.rows.first?.percentile, 0)
        XCTAssertEqual(parsed.rows.last?.percentile, 1)
        XCTAssertNil(parsed.rows.last?.inverse, "the 100% row has no 1/(1-Percentile)")
        XCTAssertEqual(parsed.rows.last?.totalCount, h.count)
        XCTAssertEqual(parsed.rows.last?.value, Double(h.histogram.max) / 1000)
        // Java's ticks: 5 per half distance, 0 to 50% in steps of 10, then 5, 2.5, ...
        let levels = parsed.rows.prefix(10).map { ($0.percentile * 1e6).rounded() / 1e4 }
        XCTAssertEqual(levels, [0, 10, 20, 30, 40, 50, 55, 60, 65, 70])
    }

    /// The same walk as the hdrhistogram-swift port of Java's `outputPercentileDistribution`.
    func testMatchesTheSwiftPortOfJava() throws {
        for (n, seed) in [(1, 1), (3, 2), (1000, 3), (100_000, 4)] as [(Int, UInt64)] {
            let h = sampleLatencies(n, seed: seed)
            var theirs = ""
            h.histogram.outputPercentileDistribution(to: &theirs, outputValueUnitScalingRatio: 1000)
            let a = try ParsedHgrm(HgrmReport.render(h)), b = try ParsedHgrm(theirs)
            XCTAssertEqual(a.rows.count, b.rows.count, "n=\(n)")
            for (x, y) in zip(a.rows, b.rows) {
                XCTAssertEqual(x.value, y.value, "n=\(n)")
                XCTAssertEqual(x.percentile, y.percentile, "n=\(n)")
                XCTAssertEqual(x.totalCount, y.totalCount, "n=\(n)")
            }
            XCTAssertEqual(a.footerValue("Max"), b.footerValue("Max"))
            XCTAssertEqual(a.footerValue("Mean"), b.footerValue("Mean"))
            XCTAssertEqual(a.footerValue("Buckets"), b.footerValue("Buckets"))
            XCTAssertEqual(a.footerValue("SubBuckets"), b.footerValue("SubBuckets"))
        }
    }

    func testUnitRatioAndTicks() throws {
        let h = sampleLatencies(10_000, seed: 9)
        let ns = try ParsedHgrm(HgrmReport.render(h, unitRatio: 1))
        let ms = try ParsedHgrm(HgrmReport.render(h, unitRatio: 1_000_000))
        XCTAssertEqual(ns.rows.last?.value, Double(h.histogram.max))
        XCTAssertEqual(ms.rows.last!.value, Double(h.histogram.max) / 1e6, accuracy: 0.0005)
        let fine = try ParsedHgrm(HgrmReport.render(h, ticksPerHalfDistance: 10))
        XCTAssertGreaterThan(fine.rows.count, ns.rows.count)
        XCTAssertEqual(fine.rows[1].percentile, 0.05, accuracy: 1e-12)
    }

    func testEmptyHistogramHasHeaderAndFooterOnly() throws {
        let text = HgrmReport.render(LatencyHistogram())
        let parsed = try ParsedHgrm(text)
        XCTAssertTrue(parsed.rows.isEmpty)
        XCTAssertEqual(parsed.footerValue("Total count"), 0)
        XCTAssertEqual(parsed.footerValue("Max"), 0)
        XCTAssertEqual(parsed.footerValue("Mean"), 0)
    }

    func testOneValue() throws {
        var h = LatencyHistogram()
        h.record(123_456)
        let parsed = try ParsedHgrm(HgrmReport.render(h))
        // Java prints the 0% row and the 100% row, both at the value's bucket.
        XCTAssertEqual(parsed.rows.map(\.percentile), [0, 1])
        XCTAssertEqual(parsed.rows.map(\.totalCount), [1, 1])
        XCTAssertEqual(parsed.rows[0].value, Double(h.histogram.highestEquivalentForValue(123_456)) / 1000)
    }

    func testCaseResultIsRenderedFromItsV2Histogram() throws {
        var o = JobOutcome()
        o.histogram = sampleLatencies(20_000, seed: 12)
        o.ios = 20_000
        o.elapsedNs = 1_000_000_000
        let c = CaseResult(spec: CaseSpec(engine: .psync), outcomes: [o])
        let fromCase = try HgrmReport.render(case: c)
        XCTAssertEqual(fromCase, HgrmReport.render(try HdrV2Codec.decode(c.histogram!.data)))
        // Decoded buckets keep their highest value, so the rows equal the live histogram's.
        let live = try ParsedHgrm(HgrmReport.render(o.histogram)), decoded = try ParsedHgrm(fromCase)
        XCTAssertEqual(live.rows.map(\.value), decoded.rows.map(\.value))
        XCTAssertEqual(live.rows.map(\.totalCount), decoded.rows.map(\.totalCount))

        let skipped = CaseResult(spec: CaseSpec(engine: .ioUringPoll), status: .skipped, reason: "no poll queues")
        XCTAssertThrowsError(try HgrmReport.render(case: skipped)) { e in
            XCTAssertEqual((e as? IOBenchError)?.exitCode, 2)
            XCTAssertTrue("\(e)".contains("no histogram"), "\(e)")
        }
    }
}

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

final class HistogramTests: XCTestCase {
    func testPercentilesMatchRecordedValuesWithinOneThousandth() {
        var h = LatencyHistogram()
        var values: [UInt64] = []
        var rng = Xoshiro256StarStar(seed: 5)
        for _ in 0 ..< 100_000 {
            let v = 1_000 + rng.uniform(below: 5_000_000)
            values.append(v)
            h.record(v)
        }
        values.sort()
        for p in [50.0, 90.0, 99.0, 99.9] {
            let exact = values[Int((p / 100 * Double(values.count)).rounded(.up)) - 1]
            let got = h.value(atPercentile: p)
            XCTAssertEqual(Double(got), Double(exact), accuracy: Double(exact) * 0.001 + 1, "p\(p)")
        }
        XCTAssertEqual(h.count, 100_000)
        XCTAssertEqual(h.mean, Double(values.reduce(0, +)) / 100_000, accuracy: 1e-6)
    }

    func testOutOfRangeIsCountedNotDropped() {
        var h = LatencyHistogram()
        h.record(100)
        h.record(LatencyHistogram.highest * 2)
        XCTAssertEqual(h.count, 1)
        XCTAssertEqual(h.outOfRange, 1)
    }

    func testMergeEqualsRecordingEverythingInOne() {
        var a = LatencyHistogram(), b = LatencyHistogram(), all = LatencyHistogram()
        var rng = Xoshiro256StarStar(seed: 11)
        for i in 0 ..< 50_000 {
            let v = 1 + rng.uniform(below: 100_000_000)
            if i % 3 == 0 { a.record(v) } else { b.record(v) }
            all.record(v)
        }
        a.add(b)
        XCTAssertEqual(a.count, all.count)
        XCTAssertEqual(a.sum, all.sum)
        for p in [0.0, 1, 50, 99, 99.99, 100] {
            XCTAssertEqual(a.value(atPercentile: p), all.value(atPercentile: p))
        }
        XCTAssertEqual(HdrV2Codec.encode(a), HdrV2Codec.encode(all))
    }

    func testV2RoundTripKeepsEveryCount() throws {
        var h = LatencyHistogram()
        var rng = Xoshiro256StarStar(seed: 3)
        for _ in 0 ..< 20_000 { h.record(1 + rng.uniform(below: 50_000_000_000)) }
        h.record(1); h.record(2047); h.record(2048); h.record(LatencyHistogram.highest)
        let decoded = try HdrV2Codec.decode(HdrV2Codec.encode(h))
        XCTAssertEqual(decoded.count, h.count)
        // V2 keeps buckets (0.1% wide), not exact values: every percentile must fall in
        // the same bucket as the original's, and the encoding must be stable.
        XCTAssertTrue(h.histogram.valuesAreEquivalent(decoded.max, h.max))
        for p in stride(from: 0.0, through: 100.0, by: 0.5) {
            let a = decoded.value(atPercentile: p), b = h.value(atPercentile: p)
            XCTAssertTrue(h.histogram.valuesAreEquivalent(a, b), "p\(p): \(a) vs \(b)")
        }
        XCTAssertEqual(HdrV2Codec.encode(decoded), HdrV2Codec.encode(h))
    }

    func testV2HeaderIsTheStandardOne() throws {
        var h = LatencyHistogram()
        h.record(1234)
        let bytes = [UInt8](Data(base64Encoded: HdrV2Codec.encode(h))!)
        XCTAssertEqual(Array(bytes[0 ..< 4]), [0x1c, 0x84, 0x93, 0x14], "compressed V2 cookie")
        XCTAssertTrue(HdrV2Codec.encode(h).hasPrefix("HISTF"), "every V2 compressed string starts HISTF")
    }

    func testEmptyHistogramEncodesAndDecodes() throws {
        let h = LatencyHistogram()
        let d = try HdrV2Codec.decode(HdrV2Codec.encode(h))
        XCTAssertEqual(d.count, 0)
    }

    func testDecodeRejectsGarbage() {
        for bad in ["", "!!!", "SGVsbG8gd29ybGQ=", String(HdrV2Codec.encode(LatencyHistogram()).dropLast(8))] {
            XCTAssertThrowsError(try HdrV2Codec.decode(bad), bad)
        }
    }

    func testZigZagLEB128MatchesReferenceBytes() {
        // Reference encodings from HdrHistogram's ZigZagEncoding.
        var out: [UInt8] = []
        HdrV2Codec.appendZigZag(1, to: &out); XCTAssertEqual(out, [2]); out = []
        HdrV2Codec.appendZigZag(-1, to: &out); XCTAssertEqual(out, [1]); out = []
        HdrV2Codec.appendZigZag(64, to: &out); XCTAssertEqual(out, [0x80, 0x01]); out = []
        HdrV2Codec.appendZigZag(Int64.max, to: &out); XCTAssertEqual(out.count, 9)
        var pos = 0
        XCTAssertEqual(try HdrV2Codec.readZigZag(out, &pos, out.count), Int64.max)
    }
}

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

/// The loop records into a `JobHistogram` counts buffer and makes the `LatencyHistogram`
/// after it: what a result carries must be what recording into the value would give.
final class JobHistogramTests: XCTestCase {
    func testLayoutConstantsAreHdrHistogramsForOneNanosecondToSixtySeconds() {
        let layout = HdrV2Codec.layout
        XCTAssertEqual(JobHistogram.subBucketMask, layout.subBucketMask)
        XCTAssertEqual(JobHistogram.subBucketHalfCount, layout.subBucketHalfCount)
        XCTAssertEqual(JobHistogram.subBucketHalfCountMagnitude, layout.subBucketHalfCountMagnitude)
        XCTAssertEqual(JobHistogram.leadingZeroCountBase, layout.leadingZeroCountBase)
        XCTAssertEqual(layout.unitMagnitude, 0)
        XCTAssertEqual(JobHistogram.length * 8, 27_648 * 8)
        XCTAssertLessThanOrEqual(UInt64(JobHistogram.length * 8), LatencyHistogram.countsBytes)
        // The last index holds values up to the top of the last bucket, as Histogram's
        // counts array does: both accept and refuse the same values at the edge.
        for v: UInt64 in [1, 2047, 2048, 59_999_999_999, 60_000_000_000, 68_719_476_735, 68_719_476_736, UInt64.max / 2] {
            var h = LatencyHistogram()
            var j = JobHistogram()!
            defer { j.free() }
            h.record(v)
            j.record(v)
            XCTAssertEqual(j.outOfRange, h.outOfRange, "value \(v)")
            XCTAssertEqual(JobHistogram.index(of: v), layout.index(of: v), "value \(v)")
        }
    }

    func testCountsBecomeTheSameHistogramAsRecordingDirectly() throws {
        var rng = Xoshiro256StarStar(seed: 41)
        for (low, span) in [(UInt64(1), UInt64(3_000)), (900, 40_000), (20_000, 5_000_000), (1_000_000, 2_000_000_000), (5, 70_000_000_000)] {
            var direct = LatencyHistogram()
            var job = JobHistogram()!
            defer { job.free() }
            for _ in 0 ..< 50_000 {
                let v = low + rng.uniform(below: span)
                direct.record(v)
                job.record(v)
            }
            var made = LatencyHistogram()
            job.latencyHistogram(into: &made)
            XCTAssertEqual(made.count, direct.count)
            XCTAssertEqual(job.count, direct.count)
            XCTAssertEqual(made.outOfRange, direct.outOfRange)
            XCTAssertEqual(made.sum, direct.sum)
            XCTAssertEqual(made.min, direct.min, "exact min")
            XCTAssertEqual(made.max, direct.max, "exact max")
            for p in [0.0, 1, 25, 50, 90, 99, 99.9, 99.99, 100] {
                XCTAssertEqual(made.value(atPercentile: p), direct.value(atPercentile: p), "p\(p) of [\(low), \(low + span))")
            }
            XCTAssertEqual(HdrV2Codec.encode(made), HdrV2Codec.encode(direct), "same V2 string")
            XCTAssertEqual(HdrV2Codec.encode(counts: job.recordedCounts), HdrV2Codec.encode(direct), "encoded straight from the counts")
        }
    }

    func testOneValueAndMinMaxInOneBucket() {
        for values: [UInt64] in [[7], [5_001, 5_001, 5_002], [0, 0], [123_456_789]] {
            var direct = LatencyHistogram()
            var job = JobHistogram()!
            defer { job.free() }
            for v in values { direct.record(v); job.record(v) }
            var made = LatencyHistogram()
            job.latencyHistogram(into: &made)
            XCTAssertEqual(made.min, direct.min, "\(values)")
            XCTAssertEqual(made.max, direct.max, "\(values)")
            XCTAssertEqual(made.count, UInt64(values.count))
            XCTAssertEqual(made.value(atPercentile: 50), direct.value(atPercentile: 50))
        }
    }

    func testAddAndResetForIntervals() {
        var a = JobHistogram()!, b = JobHistogram()!, total = JobHistogram()!
        defer { a.free(); b.free(); total.free() }
        for v in stride(from: UInt64(1_000), to: 2_000_000, by: 997) { a.record(v) }
        for v in stride(from: UInt64(50), to: 90_000_000, by: 10_007) { b.record(v) }
        b.record(LatencyHistogram.highest * 2)
        total.add(a)
        total.add(b)
        XCTAssertEqual(total.count, a.count + b.count)
        XCTAssertEqual(total.sum, a.sum &+ b.sum)
        XCTAssertEqual(total.outOfRange, 1)
        XCTAssertEqual(total.minValue, 50)
        XCTAssertEqual(total.maxValue, b.maxValue)
        a.reset()
        XCTAssertTrue(a.isEmpty)
        XCTAssertEqual(a.count, 0)
        XCTAssertEqual(a.recordedCounts.count, 0)
    }

    /// --hist-log keeps each interval compressed: it must read back as the histogram
    /// it was made from (bucket for bucket, exact sum), and take far less room.
    func testIntervalKeptCompressedReadsBackAndIsSmall() throws {
        var job = JobHistogram()!
        defer { job.free() }
        var rng = Xoshiro256StarStar(seed: 9)
        var direct = LatencyHistogram()
        for _ in 0 ..< 200_000 {
            let v = 2_000 + rng.uniform(below: 400_000)
            job.record(v)
            direct.record(v)
        }
        let iv = IntervalHistogram(startNs: 5, lengthNs: 1_000_000_000, counts: job)
        XCTAssertEqual(iv.count, 200_000)
        XCTAssertEqual(iv.sum, direct.sum)
        XCTAssertLessThan(iv.encoded.utf8.count, 64 << 10, "a compressed interval, not 220 KiB of counts")
        let back = iv.histogram
        XCTAssertEqual(back.count, direct.count)
        XCTAssertEqual(back.sum, direct.sum)
        XCTAssertEqual(HdrV2Codec.encode(back), iv.encoded)
        var twice = iv
        twice.add(iv)
        XCTAssertEqual(twice.count, 400_000)
        XCTAssertEqual(twice.sum, direct.sum * 2)
        XCTAssertEqual(twice.histogram.value(atPercentile: 50), back.value(atPercentile: 50))
    }
}

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

/// The interval log, read back by Python `hdrh.log.HistogramLogReader`.
final class IntervalLogTests: XCTestCase {
    static let start = 1_764_115_200.25   // 2025-11-26 00:00:00.250 UTC

    /// Three intervals of known, different latencies, one second each, two of them tagged.
    static func intervals() -> [IntervalHistogram] {
        [
            IntervalHistogram(startNs: 0, lengthNs: 1_000_000_000, histogram: diskLikeLatencies(30_000, seed: 31, base: 20_000), tag: "psync-4k"),
            IntervalHistogram(startNs: 1_000_000_000, lengthNs: 1_000_000_000, histogram: diskLikeLatencies(60_000, seed: 32, base: 150_000)),
            IntervalHistogram(startNs: 2_000_400_000, lengthNs: 999_600_000, histogram: diskLikeLatencies(12_345, seed: 33, base: 3_000), tag: "io uring,QD32"),
        ]
    }

    func testHeaderIsJavasHistogramLogWriters() {
        let text = IntervalLog.render(intervals: Self.intervals(), startTimeEpochSeconds: Self.start, comment: "run of 2025-11-26\nsecond line")
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].hasPrefix("#[iobench \(IOBenchVersion.string) interval log"), lines[0])
        XCTAssertEqual(lines[1], "#[run of 2025-11-26]")
        XCTAssertEqual(lines[2], "#[second line]")
        XCTAssertEqual(lines[3], "#[Histogram log format version 1.3]")
        XCTAssertEqual(lines[4], "#[StartTime: 1764115200.250 (seconds since epoch), Wed Nov 26 00:00:00 UTC 2025]")
        XCTAssertEqual(lines[5], "#[BaseTime: 1764115200.250 (seconds since epoch)]")
        XCTAssertEqual(lines[6], #""StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram""#)
        XCTAssertEqual(lines.count, 10)
        let first = lines[7].split(separator: ",")
        XCTAssertEqual(first[0], "Tag=psync-4k")
        XCTAssertEqual(first[1], "0.000")
        XCTAssertEqual(first[2], "1.000")
        XCTAssertEqual(Double(first[3])!, Double(Self.intervals()[0].histogram.histogram.max) / 1e6, accuracy: 0.0005)
        XCTAssertTrue(first[4].hasPrefix("HISTF"))
        XCTAssertTrue(lines[8].hasPrefix("1.000,1.000,"), lines[8])
        XCTAssertTrue(lines[9].hasPrefix("Tag=io_uring_QD32,2.000,1.000,"), lines[9])
        XCTAssertTrue(text.hasSuffix("\n"))
        // No comment: the iobench line, then the format version.
        let bare = IntervalLog.render(intervals: [], startTimeEpochSeconds: 0, comment: nil).split(separator: "\n")
        XCTAssertEqual(bare.count, 5)
        XCTAssertEqual(bare[1], "#[Histogram log format version 1.3]")
        XCTAssertEqual(bare[2], "#[StartTime: 0.000 (seconds since epoch), Thu Jan 01 00:00:00 UTC 1970]")
    }

    func testSecondsAreRoundedHalfUpFromNanoseconds() {
        XCTAssertEqual(IntervalLog.nanosAsSeconds(0), "0.000")
        XCTAssertEqual(IntervalLog.nanosAsSeconds(499_999), "0.000")
        XCTAssertEqual(IntervalLog.nanosAsSeconds(500_000), "0.001")
        XCTAssertEqual(IntervalLog.nanosAsSeconds(1_999_500_000), "2.000")
        XCTAssertEqual(IntervalLog.nanosAsSeconds(3_600_123_456_789), "3600.123")
    }

    func testPythonReaderReadsEveryInterval() throws {
        let dir = try ScratchDirectory()
        let intervals = Self.intervals()
        let log = dir.file("latency.hlog")
        try IntervalLog.render(intervals: intervals, startTimeEpochSeconds: Self.start, comment: "test log")
            .write(toFile: log, atomically: true, encoding: .utf8)
        let script = """
        import sys
        from hdrh.histogram import HdrHistogram
        from hdrh.log import HistogramLogReader
        reader = HistogramLogReader(sys.argv[1], HdrHistogram(1, 60000000000, 3))
        while True:
            h = reader.get_next_interval_histogram()
            if h is None:
                break
            print(h.get_tag() or "-", repr(h.get_start_time_stamp()), repr(h.get_end_time_stamp()), h.get_total_count(),
                  h.get_value_at_percentile(50), h.get_value_at_percentile(99), h.get_max_value())
        print("start", repr(reader.get_start_time_sec()))
        """
        let output = try runPython(script, args: [log], in: dir)
        var lines = output.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        XCTAssertEqual(lines.last?.first, "start", output)
        XCTAssertEqual(Double(lines.last?.last ?? "") ?? 0, 1_764_115_200.25, accuracy: 1e-6)
        lines.removeLast()
        XCTAssertEqual(lines.count, 3, output)
        for (i, (interval, f)) in zip(intervals, lines).enumerated() {
            guard f.count == 7, let startMs = Double(f[1]), let endMs = Double(f[2]), let count = UInt64(f[3]),
                  let p50 = UInt64(f[4]), let p99 = UInt64(f[5]), let max = UInt64(f[6]) else {
                XCTFail("interval \(i): cannot parse \(f)"); continue
            }
            XCTAssertEqual(f[0], interval.tag.map(IntervalLog.sanitizedTag) ?? "-", "interval \(i) tag")
            let h = interval.histogram
            XCTAssertEqual(count, h.count, "interval \(i) total count")
            // Absolute times, in ms: the log's start plus the interval's offset (3 decimals of a second).
            XCTAssertEqual(startMs, Self.start * 1000 + Double(interval.startNs) / 1e6, accuracy: 1.0, "interval \(i) start")
            XCTAssertEqual(endMs - startMs, Double(interval.lengthNs) / 1e6, accuracy: 1.0, "interval \(i) length")
            for (p, got) in [(50.0, p50), (99.0, p99)] {
                let mine = h.value(atPercentile: p)
                let bucket = h.histogram.sizeOfEquivalentRangeForValue(mine)
                XCTAssertLessThanOrEqual(abs(Double(got) - Double(mine)), Double(bucket), "interval \(i) p\(p): Python \(got), iobench \(mine)")
            }
            XCTAssertEqual(max, h.histogram.max, "interval \(i) max (the top bucket's highest value)")
        }
        // The three intervals are told apart: p50 of ~40 µs, ~300 µs, ~6 µs.
        XCTAssertEqual(lines.compactMap { UInt64($0[4]) }.map { $0 / 1000 }.map { $0 > 100 ? 1 : 0 }, [0, 1, 0])
    }
}

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

/// iobench's V2 codec against strings the reference implementations encoded from known
/// values: Python's `hdrh` (which, like the C implementation, writes a lone empty bucket
/// as -1) and Java's HdrHistogram (which writes it as 0, as iobench now does). The
/// fixtures run everywhere; the Python round trip runs where python3 has `hdrh`.
final class ReferenceHistogramTests: XCTestCase {
    enum Fixture {
        // Made by scripts/make_hdrh_reference.py with hdrhistogram 0.10.8.
        static let v2 = "HISTFAAAAEB4nJNpmSzMwMCgwAABzFCaEYh5f7hHMNh/gAqwMTKxMDId5BdZLcDExMixNoKr2+wEIyPLXwu+rfMZmQAx0gsz"
        /// (value, count, the reference's lowest and highest equivalent value of its bucket)
        static let recorded: [(value: UInt64, count: UInt64, low: UInt64, high: UInt64)] = [
            (1, 3, 1, 1),
            (3, 1, 3, 3),
            (4, 2, 4, 4),
            (6, 1, 6, 6),
            (1000, 10, 1000, 1000),
            (2047, 1, 2047, 2047),
            (2048, 1, 2048, 2049),
            (2052, 4, 2052, 2053),
            (100000, 5, 99968, 100031),
            (1000000, 100, 999936, 1000447),
            (1001000, 2, 1000960, 1001471),
            (12345678, 7, 12345344, 12353535),
            (12345678901, 1, 12339642368, 12348030975),
        ]
        /// The reference's get_value_at_percentile.
        static let percentiles: [(p: Double, value: UInt64)] = [
            (1.0, 1),
            (5.0, 6),
            (10.0, 1000),
            (25.0, 1000447),
            (50.0, 1000447),
            (75.0, 1000447),
            (90.0, 1000447),
            (95.0, 12353535),
            (99.0, 12353535),
            (99.9, 12348030975),
            (100.0, 12348030975),
        ]
        static let total: UInt64 = 138
        static let min: UInt64 = 1
        static let max: UInt64 = 12348030975

        /// The same values encoded by HdrHistogram's Java implementation (sources at commit
        /// de84b0a, 2024-05-29) with scripts/MakeHdrJavaReference.java.
        static let javaV2 = "HISTFAAAAEB4nJNpmSzMwMCgwAABzFCaEYh5f7hHMNh/gIqwMTCxMDAd5BdZLcDExMCxNoKr2+wEIwPLXwu+rfMZmQAxXgsu"
    }

    /// The payload's tokens: counts, and -N for N empty buckets.
    static func tokens(_ v2: String) throws -> [Int64] {
        let raw = try HdrV2Codec.uncompressed(v2)
        let end = 40 + Int(HdrV2Codec.readBE32(raw, 4))
        var pos = 40, out: [Int64] = []
        while pos < end { out.append(try HdrV2Codec.readZigZag(raw, &pos, end)) }
        return out
    }

    /// The recorded values, in iobench's histogram.
    static func recordedHistogram() -> LatencyHistogram {
        var h = LatencyHistogram()
        for r in Fixture.recorded { _ = h.histogram.record(r.value, count: r.count); h.sum += r.value * r.count }
        return h
    }

    /// Every bucket, count, percentile, min, max and total of `h` are the recorded values'.
    func assertHoldsTheRecordedValues(_ h: LatencyHistogram, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(h.count, Fixture.total, "\(what): total", file: file, line: line)
        XCTAssertEqual(h.outOfRange, 0, "\(what): out of range", file: file, line: line)
        for r in Fixture.recorded {
            XCTAssertEqual(h.histogram.count(within: r.low ... r.high), r.count, "\(what): count of \(r.value)", file: file, line: line)
        }
        // Nothing outside the recorded buckets.
        let buckets = h.histogram.recordedValues().map { (low: h.histogram.lowestEquivalentForValue($0.value), count: $0.count) }
        XCTAssertEqual(buckets.map(\.low), Fixture.recorded.map(\.low), "\(what): buckets", file: file, line: line)
        for (p, value) in Fixture.percentiles {
            XCTAssertEqual(h.value(atPercentile: p), value, "\(what): p\(p)", file: file, line: line)
        }
        XCTAssertEqual(h.min, Fixture.min, "\(what): min", file: file, line: line)
        XCTAssertEqual(h.max, Fixture.max, "\(what): max", file: file, line: line)
    }

    func testDecodesThePythonReferenceString() throws {
        // The fixture has lone empty buckets, written -1 by hdrh: index 0 (value 0), 2,
        // 5, the bucket between 2048 and 2052, and the one between 1 ms and 1.001 ms.
        XCTAssertEqual(try Self.tokens(Fixture.v2).filter { $0 == -1 }.count, 5, "the fixture exercises single zeros")
        assertHoldsTheRecordedValues(try HdrV2Codec.decode(Fixture.v2), "Python's string")
    }

    func testDecodesTheJavaReferenceString() throws {
        XCTAssertFalse(try Self.tokens(Fixture.javaV2).contains(-1), "Java writes a lone empty bucket as 0")
        assertHoldsTheRecordedValues(try HdrV2Codec.decode(Fixture.javaV2), "Java's string")
    }

    func testLoneZeroAsMinusOneOrZeroDecodesAlike() throws {
        // Python's payload is the one earlier iobench versions wrote (-1 for a lone zero).
        let python = try HdrV2Codec.decode(Fixture.v2), java = try HdrV2Codec.decode(Fixture.javaV2)
        XCTAssertEqual(HdrV2Codec.denseCounts(python.histogram), HdrV2Codec.denseCounts(java.histogram))
        XCTAssertEqual(python.sum, java.sum)
        XCTAssertEqual(try Self.tokens(Fixture.v2).map { $0 == -1 ? 0 : $0 }, try Self.tokens(Fixture.javaV2),
                       "the two strings differ only in how they write a lone empty bucket")
    }

    func testEncodesTheSameHeaderAndPayloadAsJava() throws {
        // Live (exact values) and decoded (bucket edges) histograms alike.
        for (what, h) in [("live", Self.recordedHistogram()), ("decoded", try HdrV2Codec.decode(Fixture.v2))] {
            let ours = HdrV2Codec.encode(h)
            XCTAssertEqual(try HdrV2Codec.uncompressed(ours), try HdrV2Codec.uncompressed(Fixture.javaV2), what)
            XCTAssertFalse(try Self.tokens(ours).contains(-1), "\(what): no -1 for a lone zero")
            assertHoldsTheRecordedValues(try HdrV2Codec.decode(ours), "\(what), re-decoded")
        }
    }

    func testLoneZeroEncodesAsZeroAndLongerRunsAsNegativeLength() throws {
        var h = LatencyHistogram()
        h.record(1); h.record(3); h.record(6)  // empty: index 0 (one), 2 (one), 4 and 5 (two)
        XCTAssertEqual(try Self.tokens(HdrV2Codec.encode(h)), [0, 1, 0, 1, -2, 1])
    }

    /// iobench's encoding of the recorded values, read by Python's `hdrh`.
    func testPythonReadsIOBenchEncodingAsTheRecordedValues() throws {
        guard Self.pythonStatus("import hdrh") == 0 else {
            throw XCTSkip("python3 with the hdrhistogram package (module hdrh) is not installed; scripts/install-deps.sh test installs it")
        }
        let script = """
        import sys
        from hdrh.histogram import HdrHistogram
        h = HdrHistogram.decode(sys.argv[1])
        print(h.get_total_count(), h.get_min_value(), h.get_max_value())
        for a in sys.argv[2:]:
            if a.startswith("p"):
                print(a, h.get_value_at_percentile(float(a[1:])))
            else:
                print(a, h.get_count_at_value(int(a)))
        """
        let args = [HdrV2Codec.encode(Self.recordedHistogram())] + Fixture.percentiles.map { "p\($0.p)" }
            + Fixture.recorded.map { String($0.value) }
        let (status, output) = Self.python(script, args)
        XCTAssertEqual(status, 0, output)
        var expected = ["\(Fixture.total) \(Fixture.min) \(Fixture.max)"]
        expected += Fixture.percentiles.map { "p\($0.p) \($0.value)" }
        expected += Fixture.recorded.map { "\($0.value) \($0.count)" }
        XCTAssertEqual(output.split(separator: "\n").map(String.init), expected)
    }

    static func pythonStatus(_ code: String) -> Int32 { python(code, []).status }

    /// Runs `python3 -c code args…`: the exit status and stdout+stderr.
    static func python(_ code: String, _ args: [String]) -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", code] + args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        do { try p.run() } catch { return (127, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

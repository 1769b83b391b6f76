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

/// The `.hgrm` text against Python `hdrh`'s `output_percentile_distribution` for the same
/// V2 string.
final class PythonHgrmReportTests: XCTestCase {
    struct Row: Equatable { var value: Double; var level: String; var percentile: Double; var totalCount: UInt64 }

    /// The rows of a percentile distribution (header, blank line, rows, `#[` footer).
    static func rows(_ text: String) -> [Row] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard f.count >= 3, let v = Double(f[0]), let p = Double(f[1]), let n = UInt64(f[2]) else { return nil }
            return Row(value: v, level: String(f[1]), percentile: p, totalCount: n)
        }
    }

    static func footer(_ text: String, _ name: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix("#[") {
            for part in line.dropFirst(2).dropLast().split(separator: ",") {
                let kv = part.split(separator: "=")
                if kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces) == name {
                    return Double(kv[1].trimmingCharacters(in: .whitespaces))
                }
            }
        }
        return nil
    }

    static let script = """
    import sys, math
    from hdrh.histogram import HdrHistogram
    from hdrh.iterators import PercentileIterator
    data = open(sys.argv[1]).read().strip()
    h = HdrHistogram.decode(data)
    h.output_percentile_distribution(sys.stdout.buffer, 1000)
    sys.stdout.buffer.write(b"=== java ticks\\n")
    # Java truncates log2 of the remaining distance to an integer; hdrh 0.10 does not, so its
    # rows sit at other percentile levels. With Java's formula the rows must be the same.
    def java_increment(self):
        self.percentile_to_iterate_from = self.percentile_to_iterate_to
        gap = 100.0 - self.percentile_to_iterate_to
        if gap:
            ticks = self.percentile_ticks_per_half_distance * int(math.pow(2, int(math.log(100.0 / gap) / math.log(2)) + 1))
            self.percentile_to_iterate_to += 100.0 / ticks
    PercentileIterator.increment_iteration_level = java_increment
    h.output_percentile_distribution(sys.stdout.buffer, 1000)
    sys.stdout.buffer.flush()
    """

    func testRowsAgreeWithPythonWithinOneBucket() throws {
        let dir = try ScratchDirectory()
        for (n, seed) in [(200_000, 21), (5_000, 22), (7, 23)] as [(Int, UInt64)] {
            let live = diskLikeLatencies(n, seed: seed)
            let v2 = HdrV2Codec.encode(live)
            try v2.write(toFile: dir.file("h.txt"), atomically: true, encoding: .utf8)
            let ours = HgrmReport.render(try HdrV2Codec.decode(v2))
            XCTAssertEqual(ours, HgrmReport.render(live), "live and decoded render alike")
            let output = try runPython(Self.script, args: [dir.file("h.txt")], in: dir)
            let parts = output.components(separatedBy: "=== java ticks\n")
            XCTAssertEqual(parts.count, 2, output)
            let python = parts[0], pythonJavaTicks = parts.count > 1 ? parts[1] : ""

            XCTAssertEqual(ours.split(separator: "\n").first, python.split(separator: "\n").first, "header line")
            let mine = Self.rows(ours), theirs = Self.rows(python), javaTicks = Self.rows(pythonJavaTicks)
            XCTAssertFalse(mine.isEmpty)
            XCTAssertFalse(theirs.isEmpty)
            // One bucket, in the printed unit (µs): the width of the bucket holding the value.
            func bucket(_ us: Double) -> Double {
                Double(live.histogram.sizeOfEquivalentRangeForValue(UInt64(us * 1000))) / 1000 + 0.0005
            }

            // Python's own levels: each of our rows lies between Python's rows at the nearest
            // levels below and above it (the distribution is one step function).
            for row in mine {
                guard let lo = theirs.last(where: { $0.percentile <= row.percentile }),
                      let hi = theirs.first(where: { $0.percentile >= row.percentile }) else {
                    XCTFail("n=\(n): no Python row around \(row.level)"); continue
                }
                XCTAssertGreaterThanOrEqual(row.value, lo.value - bucket(lo.value), "n=\(n) p\(row.level): \(row.value) < Python's \(lo.value) at \(lo.level)")
                XCTAssertLessThanOrEqual(row.value, hi.value + bucket(hi.value), "n=\(n) p\(row.level): \(row.value) > Python's \(hi.value) at \(hi.level)")
                if lo.percentile == row.percentile {
                    XCTAssertEqual(row.value, lo.value, accuracy: bucket(lo.value), "n=\(n) p\(row.level), same level")
                    XCTAssertEqual(row.totalCount, lo.totalCount, "n=\(n) p\(row.level), same level")
                }
            }
            XCTAssertEqual(mine.first?.value, theirs.first?.value, "n=\(n): 0% row")
            XCTAssertEqual(mine.last?.value, theirs.last?.value, "n=\(n): 100% row")
            XCTAssertEqual(mine.last?.totalCount, theirs.last?.totalCount, "n=\(n): 100% row")

            // Java's levels in Python: the same rows, level for level.
            XCTAssertEqual(mine.count, javaTicks.count, "n=\(n): rows with Java's ticks")
            for (a, b) in zip(mine, javaTicks) {
                XCTAssertEqual(a.level, b.level, "n=\(n)")
                XCTAssertEqual(a.value, b.value, accuracy: bucket(b.value), "n=\(n) p\(a.level)")
                XCTAssertEqual(a.totalCount, b.totalCount, "n=\(n) p\(a.level)")
            }

            XCTAssertEqual(Self.footer(ours, "Max"), Self.footer(python, "Max"), "n=\(n)")
            XCTAssertEqual(Self.footer(ours, "Total count"), Self.footer(python, "TotalCount"), "n=\(n)")
            XCTAssertEqual(Self.footer(ours, "Mean")!, Self.footer(python, "Mean")!, accuracy: 0.0011, "n=\(n)")
            XCTAssertEqual(Self.footer(ours, "Buckets"), Self.footer(python, "Buckets"), "n=\(n)")
            XCTAssertEqual(Self.footer(ours, "SubBuckets"), Self.footer(python, "SubBuckets"), "n=\(n)")
            // With Java's ticks, header and rows are Python's text byte for byte (the footers
            // differ: hdrh 0.10 prints the standard deviation unscaled and "TotalCount" as a
            // float, where Java prints "Total count" as an integer).
            func body(_ t: String) -> String { t.components(separatedBy: "#[Mean").first ?? "" }
            XCTAssertEqual(body(ours), body(pythonJavaTicks), "n=\(n): rows as Python prints them with Java's ticks")
        }
    }
}

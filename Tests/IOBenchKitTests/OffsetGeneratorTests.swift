import XCTest
@testable import IOBenchKit
@testable import IOBenchPlatform
@testable import IOBenchHistogram
@testable import IOBenchEngines
@testable import IOBenchWorkload
@testable import IOBenchMeasurement
@testable import IOBenchResults
@testable import IOBenchReports

final class OffsetGeneratorTests: XCTestCase {
    func testRandomOffsetsAreAlignedAndInBounds() {
        let bs: UInt64 = 8192
        var g = OffsetGenerator(regionStart: 0, blockSize: bs, blockCount: 1000, pattern: .random, seed: 7)
        for _ in 0 ..< 100_000 {
            let o = g.next()
            XCTAssertEqual(o % bs, 0)
            XCTAssertLessThan(o, 1000 * bs)
        }
    }

    func testSameSeedSameOffsetsOtherSeedOtherOffsets() {
        var a = OffsetGenerator(regionStart: 0, blockSize: 4096, blockCount: 1 << 18, pattern: .random, seed: 42)
        var b = OffsetGenerator(regionStart: 0, blockSize: 4096, blockCount: 1 << 18, pattern: .random, seed: 42)
        var c = OffsetGenerator(regionStart: 0, blockSize: 4096, blockCount: 1 << 18, pattern: .random, seed: 43)
        var same = 0
        for _ in 0 ..< 1000 {
            let x = a.next()
            XCTAssertEqual(x, b.next())
            if x == c.next() { same += 1 }
        }
        XCTAssertLessThan(same, 5)
    }

    /// Chi-square over 100 blocks with 1e6 draws: 99 degrees of freedom, the 99.9th
    /// percentile of the distribution is 148.2; a biased generator (modulo of a small
    /// range, a stuck bit) lands far above.
    func testRandomOffsetsAreUniform() {
        let blocks = 100
        var counts = [Int](repeating: 0, count: blocks)
        var g = OffsetGenerator(regionStart: 0, blockSize: 512, blockCount: UInt64(blocks), pattern: .random, seed: 1234)
        let n = 1_000_000
        for _ in 0 ..< n { counts[Int(g.next() / 512)] += 1 }
        let expected = Double(n) / Double(blocks)
        let chi2 = counts.reduce(0.0) { $0 + pow(Double($1) - expected, 2) / expected }
        XCTAssertLessThan(chi2, 148.2, "chi-square \(chi2)")
    }

    /// Lemire's method must stay unbiased for bounds that do not divide 2^64.
    func testBoundedDrawHasNoModuloBias() {
        var rng = Xoshiro256StarStar(seed: 99)
        let bound: UInt64 = (1 << 63) + (1 << 62)  // 3/4 of 2^64: modulo would favour the low third
        var low = 0
        let n = 200_000
        for _ in 0 ..< n where rng.uniform(below: bound) < bound / 3 { low += 1 }
        XCTAssertEqual(Double(low) / Double(n), 1.0 / 3.0, accuracy: 0.01)
    }

    /// A generator keeps its planned table alive: its reads never point into freed memory,
    /// whoever else held the table has let go.
    func testGeneratorKeepsItsTable() {
        weak var weakTable: OffsetTable?
        var g: OffsetGenerator
        do {
            let t = OffsetTable(ioOffsets: [4096, 8192, 12288], fileOffsets: [0, 4096, 8192])
            weakTable = t
            g = OffsetGenerator(table: t, pattern: .sequential, seed: 0)
        }
        XCTAssertNotNil(weakTable, "the table was freed while a generator still reads it")
        XCTAssertEqual((0 ..< 4).map { _ in g.next() }, [4096, 8192, 12288, 4096])
        XCTAssertEqual(g.lastFileOffset, 0)
    }

    func testSequentialWrapsAndStartsWhereAsked() {
        var g = OffsetGenerator(regionStart: 4096, blockSize: 4096, blockCount: 3, pattern: .sequential, seed: 0, startBlock: 1)
        XCTAssertEqual((0 ..< 5).map { _ in g.next() }, [8192, 12288, 4096, 8192, 12288])
    }
}

import XCTest
@testable import IOBenchKit
@testable import IOBenchPlatform
@testable import IOBenchHistogram
@testable import IOBenchEngines
@testable import IOBenchWorkload
@testable import IOBenchMeasurement
@testable import IOBenchResults
@testable import IOBenchReports

/// Class planning on synthetic extent maps: every planned offset must meet its class,
/// checked here against the map independently of how the planner found it.
final class ClassPlannerTests: XCTestCase {
    let B: UInt64 = 4096

    /// 4 written extents of 64 KiB, physically apart (fragmented), then 64 KiB unwritten,
    /// then a hole, then 64 KiB written that is physically adjacent to its neighbour record.
    func fragmentedMap() -> ExtentMap {
        let k64: UInt64 = 65536
        var ex: [Extent] = []
        for i in 0 ..< 4 {
            ex.append(Extent(logical: UInt64(i) * k64, physical: 1_000_000_000 + UInt64(i) * 10 * k64, length: k64, flags: 0))
        }
        ex.append(Extent(logical: 4 * k64, physical: 2_000_000_000, length: k64, flags: Extent.unwritten))
        // hole at [5*64k, 6*64k)
        ex.append(Extent(logical: 6 * k64, physical: 3_000_000_000, length: k64, flags: 0))
        ex.append(Extent(logical: 7 * k64, physical: 3_000_000_000 + k64, length: k64, flags: Extent.last))
        return ExtentMap(extents: ex, fileSize: 8 * k64)
    }

    func written(_ m: ExtentMap, _ o: UInt64) -> Extent? {
        m.extent(containing: o).flatMap { $0.isPlainWritten ? $0 : nil }
    }

    func testSimpleIsBlockAlignedInsideOneWrittenExtent() throws {
        let m = fragmentedMap()
        let offs = try ClassPlanner.candidates(.simple, bs: 4096, fsBlock: 4096, map: m)
        XCTAssertEqual(offs.count, 6 * 16, "every block of the six written extents")
        for o in offs {
            XCTAssertEqual(o % B, 0)
            let e = try XCTUnwrap(written(m, o))
            XCTAssertLessThanOrEqual(o + 4096, e.end)
        }
    }

    func testSingleExtentNeverCrossesARecord() throws {
        let m = fragmentedMap()
        let offs = try ClassPlanner.candidates(.singleExtent, bs: 8192, fsBlock: 4096, map: m)
        XCTAssertEqual(offs.count, 6 * 15)
        for o in offs {
            let e = try XCTUnwrap(written(m, o))
            XCTAssertLessThanOrEqual(o + 8192, e.end, "read at \(o) stays inside \(e)")
        }
    }

    func testMultiExtentCrossesAPhysicalDiscontinuityInsideWrittenData() throws {
        let m = fragmentedMap()
        let offs = try ClassPlanner.candidates(.multiExtent, bs: 8192, fsBlock: 4096, map: m)
        // Boundaries at 64k, 128k, 192k (physically apart); 448k is physically contiguous.
        XCTAssertEqual(offs, [65536 - 4096, 131072 - 4096, 196608 - 4096])
        for o in offs {
            let a = try XCTUnwrap(written(m, o)), b = try XCTUnwrap(written(m, o + 8191))
            XCTAssertNotEqual(a, b)
            XCTAssertNotEqual(a.physicalEnd, b.physical)
        }
        let big = try ClassPlanner.candidates(.multiExtent, bs: 16384, fsBlock: 4096, map: m)
        XCTAssertEqual(big.count, 3 * 3, "three starts per boundary for a four-block read")
        for o in big {
            XCTAssertNotNil(written(m, o)); XCTAssertNotNil(written(m, o + 16383))
            XCTAssertLessThan(o + 16384, 4 * 65536 + 1, "never runs into the unwritten extent")
        }
    }

    func testUnwrittenStaysInsideUnwrittenExtents() throws {
        let m = fragmentedMap()
        let offs = try ClassPlanner.candidates(.unwritten, bs: 4096, fsBlock: 4096, map: m)
        XCTAssertEqual(offs.count, 16)
        for o in offs { XCTAssertTrue(m.extent(containing: o)?.isUnwritten ?? false) }
    }

    func testImpossibleClassesSayWhy() {
        let contiguous = ExtentMap(extents: [Extent(logical: 0, physical: 4096, length: 1 << 20, flags: Extent.last)], fileSize: 1 << 20)
        XCTAssertThrowsError(try ClassPlanner.candidates(.multiExtent, bs: 8192, fsBlock: 4096, map: contiguous)) {
            XCTAssertTrue("\($0)".contains("no extent boundaries"), "\($0)")
        }
        XCTAssertThrowsError(try ClassPlanner.candidates(.multiExtent, bs: 4096, fsBlock: 4096, map: fragmentedMap())) {
            XCTAssertTrue("\($0)".contains("at least two filesystem blocks"), "\($0)")
        }
        XCTAssertThrowsError(try ClassPlanner.candidates(.unwritten, bs: 4096, fsBlock: 4096, map: contiguous)) {
            XCTAssertTrue("\($0)".contains("no unwritten extents"), "\($0)")
        }
        XCTAssertThrowsError(try ClassPlanner.candidates(.simple, bs: 8192, fsBlock: 4096, map: contiguous)) {
            XCTAssertTrue("\($0)".contains("at most one filesystem block"), "\($0)")
        }
        XCTAssertThrowsError(try ClassPlanner.candidates(.singleExtent, bs: 4096, fsBlock: 4096, map: contiguous))
    }

    func testReadsStayInsideFileSize() throws {
        // The last extent runs past i_size (preallocated tail): no read beyond i_size.
        let m = ExtentMap(extents: [Extent(logical: 0, physical: 0, length: 65536, flags: Extent.last)], fileSize: 40960)
        let offs = try ClassPlanner.candidates(.simple, bs: 4096, fsBlock: 4096, map: m)
        XCTAssertEqual(offs.max(), 40960 - 4096)
    }

    /// One statement of each class's promise: the text the plan and reports print and the
    /// verdict `--verify-path` gives both come from `PathClass.mappingPromise`.
    func testEachClassPromisesItsMappingsOnce() {
        XCTAssertEqual(PathClass.allCases.map(\.promisedMappings), ["1", "1", ">=2", "1", "0"])
        for cls in PathClass.allCases {
            XCTAssertEqual(cls.promisedMappings, cls.mappingPromise.text)
        }
        XCTAssertEqual(PathClass.simple.mappingPromise.isKept(byMean: 1), true)
        XCTAssertEqual(PathClass.simple.mappingPromise.isKept(byMean: 1.004), true, "one stray mapping in 256 reads")
        XCTAssertEqual(PathClass.singleExtent.mappingPromise.isKept(byMean: 2), false)
        XCTAssertEqual(PathClass.multiExtent.mappingPromise.isKept(byMean: 2), true)
        XCTAssertEqual(PathClass.multiExtent.mappingPromise.isKept(byMean: 3), true)
        XCTAssertEqual(PathClass.multiExtent.mappingPromise.isKept(byMean: 1), false)
        XCTAssertNil(PathClass.raw.mappingPromise.isKept(byMean: 0), "raw reads take no filesystem mapping: nothing to check")
    }
}

import XCTest
@testable import IOBenchKit
@testable import IOBenchPlatform
@testable import IOBenchHistogram
@testable import IOBenchEngines
@testable import IOBenchWorkload
@testable import IOBenchMeasurement
@testable import IOBenchResults
@testable import IOBenchReports

final class StampAndSpecTests: XCTestCase {
    func testStampMatchesOnlyItsOwnOffset() throws {
        let buf = try AlignedBuffers(count: 1, size: 8192)
        Stamp.fill(buf.base, count: 8192, fileOffset: 40960)
        XCTAssertTrue(Stamp.matches(buf.base, count: 8192, fileOffset: 40960))
        XCTAssertFalse(Stamp.matches(buf.base, count: 8192, fileOffset: 36864))
        // The second 4 KiB block is the block at 45056 in its own right.
        XCTAssertTrue(Stamp.matches(buf.base + 4096, count: 4096, fileOffset: 45056))
        buf.base.storeBytes(of: 0, toByteOffset: 8184, as: UInt8.self)
        XCTAssertFalse(Stamp.matches(buf.base, count: 8192, fileOffset: 40960), "a change in the last word is caught")
    }

    func testSpecValidation() {
        var s = CaseSpec(engine: .psync)
        s.queueDepth = 0
        XCTAssertThrowsError(try s.validate())
        s.queueDepth = 32
        XCTAssertThrowsError(try s.validate(), "sync engine at QD32")
        s = CaseSpec(engine: .libaio)
        s.options.fixedBuffers = true
        XCTAssertThrowsError(try s.validate(), "io_uring options on libaio")
        s = CaseSpec(engine: .ioUring)
        s.queueDepth = 8
        s.options.submitBatch = 16
        XCTAssertThrowsError(try s.validate(), "batch larger than queue")
        s.options.submitBatch = 8
        XCTAssertNoThrow(try s.validate())
    }

    func testCaseIDsDistinguishOptions() {
        var a = CaseSpec(engine: .ioUring)
        a.queueDepth = 32
        var b = a
        b.options.fixedBuffers = true
        XCTAssertNotEqual(a.id, b.id)
        XCTAssertEqual(a.id, "io_uring-randread-bs4k-qd32-j1")
    }
}

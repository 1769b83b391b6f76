import XCTest
@testable import IOBenchKit
@testable import IOBenchPlatform
@testable import IOBenchHistogram
@testable import IOBenchEngines
@testable import IOBenchWorkload
@testable import IOBenchMeasurement
@testable import IOBenchResults
@testable import IOBenchReports

final class UnitsTests: XCTestCase {
    func testSizesUseBase1024LikeFio() throws {
        XCTAssertEqual(try Units.parseSize("4k", option: "bs"), 4096)
        XCTAssertEqual(try Units.parseSize("4K", option: "bs"), 4096)
        XCTAssertEqual(try Units.parseSize("4KiB", option: "bs"), 4096)
        XCTAssertEqual(try Units.parseSize("1g", option: "size"), 1 << 30)
        XCTAssertEqual(try Units.parseSize("512", option: "bs"), 512)
        XCTAssertEqual(try Units.parseSize("2m", option: "size"), 2 << 20)
    }

    func testBadSizesAreBadInputNamingTheOption() {
        for bad in ["", "k", "4x", "-4k", "4.5k", "99999999999999999999", "16777216t"] {
            XCTAssertThrowsError(try Units.parseSize(bad, option: "bs"), bad) { error in
                guard case IOBenchError.badInput(let m) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(m.contains("--bs"), m)
                XCTAssertEqual((error as! IOBenchError).exitCode, 2)
            }
        }
    }

    func testDurations() throws {
        XCTAssertEqual(try Units.parseDuration("10s", option: "runtime"), 10_000_000_000)
        XCTAssertEqual(try Units.parseDuration("500ms", option: "runtime"), 500_000_000)
        XCTAssertEqual(try Units.parseDuration("2", option: "runtime"), 2_000_000_000)
        XCTAssertEqual(try Units.parseDuration("1.5s", option: "runtime"), 1_500_000_000)
        XCTAssertEqual(try Units.parseDuration("250us", option: "runtime"), 250_000)
        XCTAssertEqual(try Units.parseDuration("2m", option: "runtime"), 120_000_000_000)
        for bad in ["", "s", "10q", "-1s", "nan", "inf", "1e400s", "1..2s"] {
            XCTAssertThrowsError(try Units.parseDuration(bad, option: "runtime"), bad)
        }
    }

    func testFormatting() {
        XCTAssertEqual(Units.formatSize(4096), "4k")
        XCTAssertEqual(Units.formatSize(1 << 30), "1g")
        XCTAssertEqual(Units.formatSize(1000), "1000")
        XCTAssertEqual(Units.formatDuration(3_000_000_000), "3s")
        XCTAssertEqual(Units.formatDuration(500_000_000), "500ms")
    }

    /// Limit messages print RLIMIT_AS in MiB; a limit near UInt64.max (prlimit --as=2^62)
    /// must print, not trap on overflow.
    func testMiBOfLimitsRoundsToTenthsWithoutOverflow() {
        XCTAssertEqual(ResourceLimits.mib(80 << 20), "80.0 MiB")
        XCTAssertEqual(ResourceLimits.mib(75_800_000), "72.3 MiB")
        XCTAssertEqual(ResourceLimits.mib(1_048_576 + 52_429), "1.1 MiB")
        XCTAssertEqual(ResourceLimits.mib(1 << 62), "4398046511104.0 MiB")
        XCTAssertEqual(ResourceLimits.mib(UInt64.max), "17592186044416.0 MiB")
    }
}


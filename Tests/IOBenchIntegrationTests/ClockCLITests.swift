import Atomics
import Foundation
import XCTest
@testable import IOBenchKit
@testable import IOBenchPlatform
@testable import IOBenchResults
@testable import IOBenchReports

/// `--clock` on real runs: the JSON records the clock, bad values are refused, and a
/// TSC that drifts makes the run fall back to CLOCK_MONOTONIC, say so and warn.
final class ClockCLITests: XCTestCase {
    var dir: ScratchDirectory!

    override func setUpWithError() throws { dir = try ScratchDirectory() }
    override func tearDown() { dir = nil }

    func json(_ stdout: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
    }

    func run(_ extra: [String]) throws -> CLIResult {
        try CLI.run(["run", "--target", dir.file("t.dat"), "--size", "8m", "--engine", "psync,io_uring", "--iodepth", "4",
                     "--runtime", "200ms", "--ramp-time", "50ms", "--format", "json", "--no-progress"] + extra)
    }

    func assertCases(_ object: [String: Any], source: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let cases = try XCTUnwrap(object["cases"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 2, file: file, line: line)
        for c in cases {
            let clock = try XCTUnwrap(c["clock"] as? [String: Any], file: file, line: line)
            XCTAssertEqual(clock["source"] as? String, source, file: file, line: line)
            let latency = try XCTUnwrap(c["latency"] as? [String: Any], file: file, line: line)
            let p50 = try XCTUnwrap((latency["percentiles"] as? [[String: Any]])?.first { ($0["percentile"] as? Double) == 50 }?["value_ns"] as? Int)
            let maxNs = try XCTUnwrap(latency["max_ns"] as? Int)
            XCTAssertGreaterThan(p50, 500, "a 4k read takes more than 0.5 µs", file: file, line: line)
            XCTAssertLessThan(p50, 1_000_000_000, file: file, line: line)
            XCTAssertGreaterThanOrEqual(maxNs, p50, file: file, line: line)
            if source == "tsc" {
                let drift = try XCTUnwrap(clock["drift_ppm"] as? Double, file: file, line: line)
                XCTAssertLessThan(abs(drift), 1000, file: file, line: line)
                XCTAssertEqual(clock["drift_exceeded"] as? Bool, false, file: file, line: line)
            } else {
                XCTAssertNil(clock["drift_ppm"], file: file, line: line)
            }
        }
    }

    func testMonotonicIsRecorded() throws {
        let r = try run(["--clock", "monotonic"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try json(r.stdout)
        let clock = try XCTUnwrap(object["clock"] as? [String: Any])
        XCTAssertEqual(clock["source"] as? String, "monotonic")
        XCTAssertEqual(clock["requested"] as? String, "monotonic")
        XCTAssertGreaterThan(try XCTUnwrap(clock["read_cost_ns"] as? Double), 0)
        XCTAssertNil(clock["tsc_hz"])
        XCTAssertNil(clock["fallback"])
        try assertCases(object, source: "monotonic")
    }

    func testTscIsRecordedOrRefusedWithTheFix() throws {
        let r = try run(["--clock", "tsc"])
        if let why = TSCSupport.unusableReason() {
            XCTAssertEqual(r.status, 2)
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(why) && r.stderr.contains("--clock monotonic"), r.stderr)
            return
        }
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try json(r.stdout)
        let clock = try XCTUnwrap(object["clock"] as? [String: Any])
        XCTAssertEqual(clock["source"] as? String, "tsc")
        XCTAssertEqual(clock["requested"] as? String, "tsc")
        XCTAssertGreaterThan(try XCTUnwrap(clock["tsc_hz"] as? Double), 1e8)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(clock["calibration_ns"] as? Int), Int(TSCCalibration.defaultWindowNs))
        XCTAssertGreaterThan(try XCTUnwrap(clock["read_cost_ns"] as? Double), 0)
        XCTAssertGreaterThan(try XCTUnwrap(clock["monotonic_read_cost_ns"] as? Double), 0)
        XCTAssertLessThan(try XCTUnwrap(clock["max_drift_ppm"] as? Double), 1000)
        XCTAssertNil(clock["fallback"])
        try assertCases(object, source: "tsc")
    }

    func testDefaultIsTscWhereUsable() throws {
        let r = try CLI.run(["run", "--target", dir.file("d.dat"), "--size", "4m", "--engine", "psync", "--number-ios", "200",
                             "--ramp-time", "0", "--no-progress"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let line = try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.hasPrefix("clock: ") }, r.stdout)
        if TSCSupport.unusableReason() == nil {
            XCTAssertTrue(line.hasPrefix("clock: tsc (rdtscp") && line.contains("ns a read"), String(line))
        } else {
            XCTAssertTrue(line.hasPrefix("clock: CLOCK_MONOTONIC") && line.contains("TSC not used"), String(line))
        }
    }

    func testBogusClockIsOneLineExit2() throws {
        let r = try CLI.run(["run", "--target", dir.file("b.dat"), "--clock", "bogus"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("'bogus'") && r.stderr.contains("--clock") && r.stderr.contains("tsc") && r.stderr.contains("monotonic"), r.stderr)
    }

    /// A calibration 0.5% off: the first case's check finds the drift, marks the case,
    /// the run warns once and times the second case with CLOCK_MONOTONIC.
    func testDriftFallsBackToMonotonic() throws {
        if let why = TSCSupport.unusableReason() { throw XCTSkip("the TSC is not usable here: \(why)") }
        var request = RunRequest()
        request.targets = [dir.file("f.dat")]
        request.regionSize = 8 << 20
        request.engines = [.psync, .pvsync2]
        request.runtimeNs = 100_000_000
        request.rampNs = 0
        let anchor = ClockPair.read()
        usleep(5_000)
        let true_ = TSCCalibration(anchor: anchor, end: ClockPair.read())
        request.clockCalibrationOverride = TSCCalibration(anchor: anchor, ticksPerSecond: true_.ticksPerSecond * 1.005, windowNs: true_.windowNs)
        var logged: [String] = []
        let lock = NSLock()
        let outcome = try request.plan().run { line in lock.lock(); logged.append(line); lock.unlock() }
        let r = outcome.result
        XCTAssertEqual(r.cases.map(\.status), [.ok, .ok])
        let warnings = logged.filter { $0.contains("drifted") }
        XCTAssertEqual(warnings.count, 1, "\(logged)")
        XCTAssertTrue(warnings.first?.hasPrefix("iobench: warning: the TSC drifted -") ?? false, "\(logged)")
        XCTAssertTrue(warnings.first?.contains("the rest of the run uses CLOCK_MONOTONIC") ?? false, "\(logged)")

        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.jsonData()) as? [String: Any])
        let clock = try XCTUnwrap(object["clock"] as? [String: Any])
        XCTAssertEqual(clock["source"] as? String, "tsc")
        XCTAssertTrue((clock["fallback"] as? String)?.contains("limit 1000 ppm") ?? false, "\(clock)")
        XCTAssertGreaterThan(try XCTUnwrap(clock["max_drift_ppm"] as? Double), 1000)
        let cases = try XCTUnwrap(object["cases"] as? [[String: Any]])
        let first = try XCTUnwrap(cases[0]["clock"] as? [String: Any])
        XCTAssertEqual(first["source"] as? String, "tsc")
        XCTAssertEqual(first["drift_exceeded"] as? Bool, true)
        XCTAssertEqual(try XCTUnwrap(first["drift_ppm"] as? Double), -4975, accuracy: 200)
        let second = try XCTUnwrap(cases[1]["clock"] as? [String: Any])
        XCTAssertEqual(second["source"] as? String, "monotonic")
        XCTAssertGreaterThan(r.cases[1].latency?.value(at: 50) ?? 0, 0)
        XCTAssertTrue(TextReport.render(r).contains("FELL BACK to CLOCK_MONOTONIC"))
    }
}

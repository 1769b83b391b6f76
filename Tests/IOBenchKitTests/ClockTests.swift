import Foundation
import XCTest
@testable import IOBenchKit
@testable import IOBenchPlatform
@testable import IOBenchResults
@testable import IOBenchReports

/// The TSC clock: detection from /proc/cpuinfo text, the fixed-point conversion, the
/// drift check, and on this machine (when the TSC is usable) the calibration itself.
final class ClockTests: XCTestCase {
    static func cpuinfo(_ flags: [String]...) -> String {
        flags.enumerated().map { i, f in
            "processor\t: \(i)\nvendor_id\t: GenuineIntel\nmodel name\t: Test CPU\nflags\t\t: fpu vme tsc msr \(f.joined(separator: " ")) rdtscp lm\nbogomips\t: 4200.00\n"
        }.joined(separator: "\n")
    }

    func testCpuinfoWithBothFlagsOnEveryCPUIsUsable() {
        let text = Self.cpuinfo(["constant_tsc", "nonstop_tsc"], ["nonstop_tsc", "constant_tsc"])
        XCTAssertNil(TSCSupport.unusableReason(cpuinfo: text, x86_64: true))
    }

    func testMissingFlagsAreNamed() throws {
        let noConstant = try XCTUnwrap(TSCSupport.unusableReason(cpuinfo: Self.cpuinfo(["nonstop_tsc"]), x86_64: true))
        XCTAssertTrue(noConstant.contains("constant_tsc"), noConstant)
        XCTAssertFalse(noConstant.contains("nonstop_tsc"), noConstant)
        let noNonstop = try XCTUnwrap(TSCSupport.unusableReason(cpuinfo: Self.cpuinfo(["constant_tsc"]), x86_64: true))
        XCTAssertTrue(noNonstop.contains("nonstop_tsc"), noNonstop)
        XCTAssertFalse(noNonstop.contains("constant_tsc"), noNonstop)
        let neither = try XCTUnwrap(TSCSupport.unusableReason(cpuinfo: Self.cpuinfo([]), x86_64: true))
        XCTAssertTrue(neither.contains("constant_tsc") && neither.contains("nonstop_tsc"), neither)
        // One CPU without the flag is enough to refuse (a flag must hold on every CPU).
        let oneCPU = try XCTUnwrap(TSCSupport.unusableReason(cpuinfo: Self.cpuinfo(["constant_tsc", "nonstop_tsc"], ["constant_tsc"]), x86_64: true))
        XCTAssertTrue(oneCPU.contains("nonstop_tsc"), oneCPU)
        // A flag that only starts like the wanted one does not count.
        XCTAssertNotNil(TSCSupport.unusableReason(cpuinfo: Self.cpuinfo(["constant_tsc_x", "nonstop_tsc"]), x86_64: true))
    }

    func testOtherArchitecturesAndUnreadableCpuinfoAreUnusable() throws {
        let arm = try XCTUnwrap(TSCSupport.unusableReason(cpuinfo: Self.cpuinfo(["constant_tsc", "nonstop_tsc"]), x86_64: false))
        XCTAssertTrue(arm.contains("not x86_64"), arm)
        XCTAssertNotNil(TSCSupport.unusableReason(cpuinfo: nil, x86_64: true))
        XCTAssertNotNil(TSCSupport.unusableReason(cpuinfo: "processor : 0\n", x86_64: true))
    }

    func testExplicitTscWhereUnusableIsBadInputNamingTheFix() throws {
        let e = try XCTUnwrap(RunPlan.clockRefusal("/proc/cpuinfo lacks the flag nonstop_tsc (it would stop in deep C-states)"))
        XCTAssertEqual(e.exitCode, 2)
        XCTAssertTrue(e.description.contains("nonstop_tsc") && e.description.contains("--clock monotonic"), e.description)
        XCTAssertFalse(e.description.contains("\n"))
        XCTAssertNil(RunPlan.clockRefusal(nil))
    }

    /// 2 GHz: 0.5 ns a tick is 2^31 in 32.32 fixed point.
    static let twoGHz = LatencyClock(tscAnchorTicks: 1_000, anchorNs: 5_000_000_000, nsPerTickQ32: 1 << 31)

    func testConversionIsAnchoredAndExact() {
        let c = Self.twoGHz
        XCTAssertEqual(c.nanoseconds(ticks: 1_000), 5_000_000_000)
        XCTAssertEqual(c.nanoseconds(ticks: 1_000 + 2_000_000_000), 6_000_000_000)
        XCTAssertEqual(c.elapsedNanoseconds(ticks: 3), 1)  // 1.5 ns truncated
        // Ten years at 2 GHz: no overflow in the 128-bit product.
        let tenYears: UInt64 = 10 * 365 * 86_400 * 2_000_000_000
        XCTAssertEqual(c.nanoseconds(ticks: 1_000 + tenYears), 5_000_000_000 + tenYears / 2)
    }

    func testFixedPointErrorStaysWithinItsDocumentedBound() {
        // A rate with no exact 32.32 representation (2.9937 GHz), over 10 hours of ticks:
        // the error against the exact quotient is within 0.5 / nsPerTickQ32 of the time
        // (the multiplier's rounding, 3.5e-10 here: 12.5 µs in 10 hours) plus 1 ns (the shift).
        let hz = 2_993_700_000.0
        let cal = TSCCalibration(anchor: ClockPair(ticks: 0, ns: 0, widthTicks: 0), ticksPerSecond: hz, windowNs: 20_000_000)
        let ticks = UInt64(hz * 36_000)
        let exact = Double(ticks) / hz * 1e9
        let bound = 0.5 / Double(cal.clock.nsPerTickQ32) * exact + 1
        XCTAssertLessThan(bound, 13_000)
        XCTAssertLessThanOrEqual(abs(Double(cal.clock.elapsedNanoseconds(ticks: ticks)) - exact), bound)
        // A 1 ms latency is off by well under 1 ns.
        let ms = UInt64(hz / 1000)
        XCTAssertLessThanOrEqual(abs(Double(cal.clock.elapsedNanoseconds(ticks: ms)) - 1e6), 1)
    }

    func testDriftCheckAgainstTheThreshold() {
        let c = Self.twoGHz
        // 2e9 ticks are 1 s on the TSC.
        let same = DriftCheck(tscElapsedTicks: 2_000_000_000, monotonicElapsedNs: 1_000_000_000, clock: c)
        XCTAssertEqual(same.driftPPM, 0, accuracy: 1e-9)
        XCTAssertFalse(same.exceedsThreshold)
        let slewed = DriftCheck(tscElapsedTicks: 2_000_000_000, monotonicElapsedNs: 999_500_000, clock: c)
        XCTAssertEqual(slewed.driftPPM, 500.25, accuracy: 0.01)
        XCTAssertFalse(slewed.exceedsThreshold, "NTP's 500 ppm slew is within the threshold")
        let fast = DriftCheck(tscElapsedTicks: 2_000_000_000, monotonicElapsedNs: 998_500_000, clock: c)
        XCTAssertGreaterThan(fast.driftPPM, 1000)
        XCTAssertTrue(fast.exceedsThreshold)
        let slow = DriftCheck(tscElapsedTicks: 2_000_000_000, monotonicElapsedNs: 1_001_200_000, clock: c)
        XCTAssertLessThan(slow.driftPPM, -1000)
        XCTAssertTrue(slow.exceedsThreshold)
        // The same drift, but with 300 ppm of reading error: not proven beyond the threshold.
        let uncertain = DriftCheck(tscElapsedTicks: 2_000_000_000, monotonicElapsedNs: 998_800_000, clock: c, uncertaintyNs: 300_000)
        XCTAssertGreaterThan(uncertain.driftPPM, 1000)
        XCTAssertFalse(uncertain.exceedsThreshold)
    }

    func testCaseClocksOfRepeatsCombine() {
        let a = CaseClock(source: "tsc", driftPPM: 2, driftUncertaintyPPM: 0.1, driftExceeded: false)
        let b = CaseClock(source: "tsc", driftPPM: -1500, driftUncertaintyPPM: 0.2, driftExceeded: true)
        let m = CaseClock(source: "monotonic")
        XCTAssertEqual(CaseClock.combine([a, a]), a)
        let mixed = CaseClock.combine([a, b, m])
        XCTAssertEqual(mixed?.source, "mixed")
        XCTAssertEqual(mixed?.driftPPM, -1500)
        XCTAssertEqual(mixed?.driftExceeded, true)
        XCTAssertNil(CaseClock.combine([nil, nil]))
    }

    // MARK: on this machine

    func usableTSC() throws {
        if let why = TSCSupport.unusableReason() { throw XCTSkip("the TSC is not usable here: \(why)") }
    }

    func testCalibratedTSCAgreesWithMonotonicOver50ms() throws {
        try usableTSC()
        let cal = TSCCalibration.calibrate()
        XCTAssertGreaterThan(cal.ticksPerSecond, 1e8)
        XCTAssertGreaterThanOrEqual(cal.windowNs, TSCCalibration.defaultWindowNs)
        let clock = cal.clock
        XCTAssertEqual(clock.source, .tsc)
        let m0 = monotonicNanoseconds(), c0 = clock.now()
        usleep(50_000)
        let c1 = clock.now(), m1 = monotonicNanoseconds()
        let mono = Double(m1 - m0), tsc = Double(c1 - c0)
        XCTAssertGreaterThan(mono, 49e6)
        XCTAssertLessThan(abs(tsc - mono) / mono, 0.001, "TSC \(tsc) ns against CLOCK_MONOTONIC \(mono) ns")
        let check = cal.check()
        XCTAssertFalse(check.exceedsThreshold, "drift \(check.driftPPM) ppm")
        XCTAssertLessThan(abs(check.driftPPM), 100)
    }

    func testTSCClockIsNonDecreasingAndOnTheMonotonicTimebase() throws {
        try usableTSC()
        let clock = TSCCalibration.calibrate(windowNs: 5_000_000).clock
        var last = clock.now()
        var backwards = 0
        for _ in 0 ..< 1_000_000 {
            let t = clock.now()
            if t < last { backwards += 1 }
            last = t
        }
        XCTAssertEqual(backwards, 0)
        // Same timebase: a TSC time sits between two CLOCK_MONOTONIC reads around it
        // (give or take a few µs of calibration error and rounding).
        var closest = UInt64.max
        for _ in 0 ..< 100 {
            let m0 = monotonicNanoseconds(), t = clock.now(), m1 = monotonicNanoseconds()
            let off = t < m0 ? m0 - t : (t > m1 ? t - m1 : 0)
            closest = min(closest, off)
        }
        XCTAssertLessThan(closest, 5_000, "the TSC clock is \(closest) ns off CLOCK_MONOTONIC")
    }

    func testAWrongRateIsCaughtByTheCheck() throws {
        try usableTSC()
        let good = TSCCalibration.calibrate(windowNs: 5_000_000)
        // 0.3% too fast a rate: the converted time runs 0.3% slow.
        let wrong = TSCCalibration(anchor: good.anchor, ticksPerSecond: good.ticksPerSecond * 1.003, windowNs: good.windowNs)
        usleep(30_000)
        let check = wrong.check()
        XCTAssertTrue(check.exceedsThreshold, "drift \(check.driftPPM) ppm")
        XCTAssertEqual(check.driftPPM, -2991, accuracy: 100)
        XCTAssertFalse(good.check().exceedsThreshold)
    }

    func testReadCostIsMeasured() throws {
        let mono = ClockCost.nanosecondsPerRead(.monotonic, reads: 20_000)
        XCTAssertGreaterThan(mono, 0)
        XCTAssertLessThan(mono, 10_000)
    }

    // MARK: JSON and report

    func testResultWithoutClockFieldsStillDecodes() throws {
        var r = RunResult(startedAt: "2026-01-01T00:00:00Z", environment: EnvironmentInfo(kernel: "6.1", hostname: "h", onlineCPUs: 2),
                          target: nil, arguments: [], cases: [CaseResult(spec: CaseSpec(engine: .psync), status: .skipped, reason: "test")])
        r.clock = ClockInfo(source: .monotonic, requested: "default", readCostNs: 25)
        r.cases[0].clock = CaseClock(source: "monotonic")
        let data = try r.jsonData()
        var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertNotNil(object["clock"])
        object["clock"] = nil
        var cases = try XCTUnwrap(object["cases"] as? [[String: Any]])
        XCTAssertNotNil(cases[0]["clock"])
        cases[0]["clock"] = nil
        object["cases"] = cases
        let old = try RunResult.decode(try JSONSerialization.data(withJSONObject: object), source: "old.json")
        XCTAssertNil(old.clock)
        XCTAssertNil(old.cases[0].clock)
        XCTAssertNil(TextReport.clockNote(old))
        let back = try RunResult.decode(data, source: "new.json")
        XCTAssertEqual(back.clock, r.clock)
        XCTAssertEqual(back.cases[0].clock, r.cases[0].clock)
    }

    func testTextReportNamesTheClockItsCostAndTheFallback() throws {
        var r = RunResult(startedAt: "2026-01-01T00:00:00Z", environment: EnvironmentInfo(kernel: "6.1", hostname: "h", onlineCPUs: 2),
                          target: nil, arguments: [], cases: [])
        var info = ClockInfo(source: .tsc, requested: "default", readCostNs: 9.5)
        info.tscHz = 2.1e9
        info.calibrationNs = 20_000_000
        info.monotonicReadCostNs = 31
        info.maxDriftPPM = 0.4
        r.clock = info
        let tsc = try XCTUnwrap(TextReport.clockNote(r))
        XCTAssertTrue(tsc.hasPrefix("clock: tsc") && tsc.contains("9.5 ns a read") && tsc.contains("2.1000 GHz"), tsc)
        XCTAssertFalse(tsc.contains("FELL BACK"))
        r.clock?.fallback = "the TSC drifted 1500 ppm"
        XCTAssertTrue(try XCTUnwrap(TextReport.clockNote(r)).contains("FELL BACK to CLOCK_MONOTONIC: the TSC drifted 1500 ppm"))
        var mono = ClockInfo(source: .monotonic, requested: "default", readCostNs: 30.2)
        mono.tscUnusable = "this machine is not x86_64"
        r.clock = mono
        let m = try XCTUnwrap(TextReport.clockNote(r))
        XCTAssertTrue(m.contains("CLOCK_MONOTONIC, 30.2 ns a read") && m.contains("not x86_64"), m)
    }
}

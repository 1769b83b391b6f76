import Glibc
import CIOBenchShim

/// One (TSC, CLOCK_MONOTONIC) pair: the monotonic read bracketed by two rdtscp reads,
/// the narrowest bracket of several tries, the ticks taken at its middle.
public struct ClockPair: Sendable, Equatable {
    public var ticks: UInt64
    public var ns: UInt64
    /// The bracket's width in ticks: the pair is uncertain by half of it.
    public var widthTicks: UInt64

    public init(ticks: UInt64, ns: UInt64, widthTicks: UInt64) {
        self.ticks = ticks
        self.ns = ns
        self.widthTicks = widthTicks
    }

    /// Reads a pair now (`tries` brackets; the narrowest wins, so a preemption or an
    /// interrupt inside one bracket does not widen the result).
    public static func read(tries: Int = 16) -> ClockPair {
        var best = ClockPair(ticks: 0, ns: 0, widthTicks: UInt64.max)
        for _ in 0 ..< max(1, tries) {
            let t1 = iob_rdtscp()
            let ns = iob_now_ns()
            let t2 = iob_rdtscp()
            let w = t2 &- t1
            if t2 >= t1 && w < best.widthTicks { best = ClockPair(ticks: t1 &+ w / 2, ns: ns, widthTicks: w) }
        }
        return best
    }
}

/// The TSC's rate measured against CLOCK_MONOTONIC, and the clock it gives: two pairs
/// `windowNs` apart. The first pair is the anchor of the conversion (so every later TSC
/// read is after it), the rate is ticks over nanoseconds between the two. The rate's
/// error is at most (half of each bracket) / window: with brackets of ~60 ns here, about
/// 6 ppm over 10 ms (docs/method.md, "The clock", has the measured spread).
public struct TSCCalibration: Sendable {
    /// The TSC clock on the CLOCK_MONOTONIC timebase.
    public let clock: LatencyClock
    /// Ticks per second.
    public let ticksPerSecond: Double
    /// Length of the calibration window (CLOCK_MONOTONIC ns between the two pairs).
    public let windowNs: UInt64
    /// The anchor pair.
    public let anchor: ClockPair
    /// Half the anchor's bracket, in ns: part of every drift check's uncertainty.
    public let anchorUncertaintyNs: Double

    /// The default window: 10 ms. Measured here (`make micro`), 1 ms already gives a rate
    /// within 2 ppm of a 500 ms calibration and 10 ms within 0.1 ppm: far inside the
    /// 100 ppm (0.01%) aimed at and the 1000 ppm the drift check allows, and short
    /// enough not to delay the run's start noticeably.
    public static let defaultWindowNs: UInt64 = 10_000_000

    /// Measures the rate over `windowNs` (sleeping in between). Only meaningful where
    /// `TSCSupport.unusableReason()` is nil.
    public static func calibrate(windowNs: UInt64 = defaultWindowNs) -> TSCCalibration {
        let a = ClockPair.read()
        var ts = timespec(tv_sec: Int(windowNs / 1_000_000_000), tv_nsec: Int(windowNs % 1_000_000_000))
        var left = timespec()
        while nanosleep(&ts, &left) != 0 && errno == EINTR { ts = left }
        // A sleep can end early only by a signal; the window is what the clock says it was.
        var b = ClockPair.read()
        while b.ns &- a.ns < windowNs / 2 { b = ClockPair.read() }
        return TSCCalibration(anchor: a, end: b)
    }

    /// The calibration from two pairs (`end` after `anchor`).
    public init(anchor a: ClockPair, end b: ClockPair) {
        let dt = Double(b.ticks &- a.ticks), dn = Double(b.ns &- a.ns)
        self.init(anchor: a, ticksPerSecond: dt / dn * 1e9, windowNs: b.ns &- a.ns)
    }

    /// A calibration with a given rate (tests force a wrong one to see the drift check
    /// and the fallback work).
    package init(anchor a: ClockPair, ticksPerSecond: Double, windowNs: UInt64) {
        anchor = a
        self.ticksPerSecond = ticksPerSecond
        self.windowNs = windowNs
        let q32 = (1e9 / ticksPerSecond * 4_294_967_296.0).rounded()
        clock = LatencyClock(tscAnchorTicks: a.ticks, anchorNs: a.ns, nsPerTickQ32: UInt64(max(1, min(q32, 1.8e19))))
        anchorUncertaintyNs = Double(a.widthTicks) / 2 / ticksPerSecond * 1e9
    }

    /// Compares the TSC's time since the anchor with CLOCK_MONOTONIC's, now.
    public func check() -> DriftCheck {
        let p = ClockPair.read()
        let uncertainty = anchorUncertaintyNs + Double(p.widthTicks) / 2 / ticksPerSecond * 1e9
        return DriftCheck(tscElapsedTicks: p.ticks &- anchor.ticks, monotonicElapsedNs: p.ns &- anchor.ns,
                          clock: clock, uncertaintyNs: uncertainty)
    }
}

/// The TSC-derived time since calibration against CLOCK_MONOTONIC's: how far apart they
/// drifted, in parts per million of the elapsed time.
public struct DriftCheck: Sendable, Equatable {
    /// 0.1%: beyond this the TSC no longer measures time as CLOCK_MONOTONIC does (NTP
    /// slews CLOCK_MONOTONIC by at most 500 ppm, which stays within it).
    public static let thresholdPPM = 1000.0

    /// (TSC ns − monotonic ns) / monotonic ns, in ppm; positive when the TSC ran fast.
    public let driftPPM: Double
    /// What the pairs' brackets leave open, in ppm of the elapsed time.
    public let uncertaintyPPM: Double
    public let elapsedNs: UInt64

    /// Pure: `tscElapsedTicks` converted by `clock`'s rate against `monotonicElapsedNs`,
    /// with `uncertaintyNs` of reading error.
    public init(tscElapsedTicks: UInt64, monotonicElapsedNs: UInt64, clock: LatencyClock, uncertaintyNs: Double = 0) {
        let tscNs = Double(clock.elapsedNanoseconds(ticks: tscElapsedTicks))
        let mono = Double(max(1, monotonicElapsedNs))
        elapsedNs = monotonicElapsedNs
        driftPPM = (tscNs - mono) / mono * 1e6
        uncertaintyPPM = uncertaintyNs / mono * 1e6
    }

    /// Beyond the threshold even after allowing for the reading error.
    public var exceedsThreshold: Bool { abs(driftPPM) - uncertaintyPPM > Self.thresholdPPM }
}

/// What reading a clock costs: the median over `rounds` of `reads` back-to-back reads
/// (5 × 20,000 by default: 1–5 ms at the start of a run).
public enum ClockCost {
    @inline(never)
    public static func nanosecondsPerRead(_ clock: LatencyClock, reads: Int = 20_000, rounds: Int = 5) -> Double {
        var samples: [Double] = []
        var acc: UInt64 = 0
        for _ in 0 ..< max(1, rounds) {
            let t0 = iob_now_ns()
            for _ in 0 ..< reads { acc &+= clock.now() }
            let t1 = iob_now_ns()
            samples.append(Double(t1 &- t0) / Double(max(1, reads)))
        }
        costSink = acc
        samples.sort()
        return samples[samples.count / 2]
    }
}

/// Keeps the timed reads from being optimised away.
nonisolated(unsafe) var costSink: UInt64 = 0

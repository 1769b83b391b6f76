import IOBenchPlatform

/// The run's `clock` object: which clock stamped the reads, what one read of it costs,
/// and for the TSC its calibration, the largest drift the checks saw and the fallback.
public struct ClockInfo: Codable, Sendable, Equatable {
    /// The clock the run started with (after a fallback, later cases used CLOCK_MONOTONIC:
    /// each case's `clock.source` says which it used).
    public var source: ClockSource
    /// What was asked for: `tsc`, `monotonic`, or `default` (tsc when usable).
    public var requested: String
    /// Cost of one read of `source`, ns (median of 5 rounds of 20,000 back-to-back reads when the run starts).
    public var readCostNs: Double
    /// With the TSC: the cost of one CLOCK_MONOTONIC read, for comparison.
    public var monotonicReadCostNs: Double?
    /// With the TSC: its calibrated rate, ticks per second.
    public var tscHz: Double?
    /// With the TSC: the calibration window, ns of CLOCK_MONOTONIC.
    public var calibrationNs: UInt64?
    /// With the TSC: the largest |drift| of the checks after each case, ppm.
    public var maxDriftPPM: Double?
    /// Why the run left the TSC for CLOCK_MONOTONIC part-way (a drift over the threshold).
    public var fallback: String?
    /// Default requested and the TSC not usable here: why.
    public var tscUnusable: String?
    /// The kernel's clocksource (`tsc`, `kvm-clock`…), informative.
    public var kernelClocksource: String?

    public init(source: ClockSource, requested: String, readCostNs: Double) {
        self.source = source
        self.requested = requested
        self.readCostNs = readCostNs
    }

    enum CodingKeys: String, CodingKey {
        case source, requested, fallback
        case readCostNs = "read_cost_ns"
        case monotonicReadCostNs = "monotonic_read_cost_ns"
        case tscHz = "tsc_hz"
        case calibrationNs = "calibration_ns"
        case maxDriftPPM = "max_drift_ppm"
        case tscUnusable = "tsc_unusable"
        case kernelClocksource = "kernel_clocksource"
    }
}

/// A case's `clock` object: the clock its reads were stamped with and, for the TSC, the
/// drift check after it.
public struct CaseClock: Codable, Sendable, Equatable {
    /// `tsc`, `monotonic`, or `mixed` (repeats on both sides of a fallback).
    public var source: String
    /// TSC: (TSC-derived − CLOCK_MONOTONIC) time since calibration over the latter, ppm,
    /// checked right after the case (with repeats: the largest in magnitude).
    public var driftPPM: Double?
    /// TSC: the reading error of that check, ppm.
    public var driftUncertaintyPPM: Double?
    /// TSC: true when the drift was beyond 1000 ppm: this case's latencies are suspect
    /// and the cases after it used CLOCK_MONOTONIC.
    public var driftExceeded: Bool?

    public init(source: String, driftPPM: Double? = nil, driftUncertaintyPPM: Double? = nil, driftExceeded: Bool? = nil) {
        self.source = source
        self.driftPPM = driftPPM
        self.driftUncertaintyPPM = driftUncertaintyPPM
        self.driftExceeded = driftExceeded
    }

    /// The clock of a case with repeats: one source, or `mixed`; the largest drift.
    public static func combine(_ clocks: [CaseClock?]) -> CaseClock? {
        let known = clocks.compactMap { $0 }
        guard let first = known.first else { return nil }
        var out = CaseClock(source: known.allSatisfy { $0.source == first.source } ? first.source : "mixed")
        for c in known {
            guard let d = c.driftPPM else { continue }
            if out.driftPPM.map({ abs(d) > abs($0) }) ?? true {
                out.driftPPM = d
                out.driftUncertaintyPPM = c.driftUncertaintyPPM
            }
            if c.driftExceeded == true || out.driftExceeded == nil { out.driftExceeded = c.driftExceeded }
        }
        return out
    }

    enum CodingKeys: String, CodingKey {
        case source
        case driftPPM = "drift_ppm"
        case driftUncertaintyPPM = "drift_uncertainty_ppm"
        case driftExceeded = "drift_exceeded"
    }
}

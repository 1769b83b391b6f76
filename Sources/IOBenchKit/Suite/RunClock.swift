import Foundation

/// The clock of one run (a `RunSession.run`): chosen and, for the TSC, calibrated once
/// when the run starts; checked against CLOCK_MONOTONIC after every case that used it.
/// A drift beyond `DriftCheck.thresholdPPM` marks that case, switches the rest of the
/// run to CLOCK_MONOTONIC and logs one warning.
final class RunClock {
    /// The clock the next case's jobs stamp reads with.
    private(set) var current: LatencyClock
    private(set) var info: ClockInfo
    private let calibration: TSCCalibration?
    private let log: (String) -> Void

    /// `requested` nil: the TSC when usable, else CLOCK_MONOTONIC with the reason kept.
    /// An explicit `.tsc` that is not usable was refused by `RunPlan`; a library user who
    /// skipped the plan gets CLOCK_MONOTONIC and the reason as `fallback`. `calibration`
    /// replaces the measured one (tests force a wrong rate with it).
    init(requested: ClockSource?, calibration override: TSCCalibration? = nil, log: @escaping (String) -> Void) {
        self.log = log
        let unusable = override == nil ? TSCSupport.unusableReason() : nil
        let requestedName = requested?.rawValue ?? "default"
        let monotonicCost = ClockCost.nanosecondsPerRead(.monotonic)
        if requested != .monotonic, unusable == nil {
            let cal = override ?? TSCCalibration.calibrate()
            calibration = cal
            current = cal.clock
            var i = ClockInfo(source: .tsc, requested: requestedName, readCostNs: ClockCost.nanosecondsPerRead(cal.clock))
            i.monotonicReadCostNs = monotonicCost
            i.tscHz = cal.ticksPerSecond
            i.calibrationNs = cal.windowNs
            info = i
        } else {
            calibration = nil
            current = .monotonic
            info = ClockInfo(source: .monotonic, requested: requestedName, readCostNs: monotonicCost)
            if let unusable {
                if requested == .tsc { info.fallback = "the TSC is not usable here: \(unusable)" } else if requested == nil { info.tscUnusable = unusable }
            }
        }
        info.kernelClocksource = TSCSupport.kernelClocksource()
    }

    /// Records the clock `result`'s case used and, for the TSC, the drift check now.
    func afterCase(_ result: inout CaseResult) {
        guard current.source == .tsc, let calibration else {
            result.clock = CaseClock(source: ClockSource.monotonic.rawValue)
            return
        }
        let check = calibration.check()
        let exceeded = check.exceedsThreshold
        result.clock = CaseClock(source: ClockSource.tsc.rawValue, driftPPM: check.driftPPM,
                                 driftUncertaintyPPM: check.uncertaintyPPM, driftExceeded: exceeded)
        info.maxDriftPPM = max(info.maxDriftPPM ?? 0, abs(check.driftPPM))
        if exceeded {
            let why = "the TSC drifted \(Int(check.driftPPM.rounded())) ppm from CLOCK_MONOTONIC (limit \(Int(DriftCheck.thresholdPPM)) ppm) by the end of \(result.label)"
            info.fallback = why
            current = .monotonic
            log("iobench: warning: \(why); the rest of the run uses CLOCK_MONOTONIC")
        }
    }
}

import Glibc

/// How open-loop arrivals are spaced (fio's `rate_process`): `uniform` at exactly
/// 1/rate apart (fio's `linear`), `poisson` with exponential gaps of mean 1/rate.
public enum ArrivalProcess: String, Codable, Sendable, CaseIterable {
    case uniform
    case poisson
}

/// The intended issue times of an open-loop job (`--rate-iops`): a read is due at each,
/// whether or not the reads before it have completed. Times are ns after the schedule's
/// start; the sequence depends only on the rate, the process and the seed, so a run can
/// be repeated arrival for arrival.
public struct ArrivalSchedule: Sendable {
    public let ratePerSecond: Double
    public let process: ArrivalProcess
    /// Arrivals handed out so far.
    public private(set) var count: UInt64 = 0
    let meanGapNs: Double
    var rng: Xoshiro256StarStar
    /// The Poisson process's running time (ns, as a Double: exact to 2^53 ns, 104 days).
    var poissonTime: Double = 0

    public init(ratePerSecond: Double, process: ArrivalProcess, seed: UInt64) {
        precondition(ratePerSecond > 0, "the arrival rate must be positive")
        self.ratePerSecond = ratePerSecond
        self.process = process
        meanGapNs = 1e9 / ratePerSecond
        // A stream of its own, apart from the offsets' (which use `seed` itself).
        rng = Xoshiro256StarStar(seed: seed ^ 0xA5A5_5A5A_C3C3_3C3C)
    }

    /// The next arrival's intended time, ns after the start.
    @inline(__always)
    public mutating func next() -> UInt64 {
        let k = count
        count &+= 1
        switch process {
        case .uniform:
            // k × gap, not a running sum: no drift over a long run.
            return UInt64((Double(k) * meanGapNs).rounded())
        case .poisson:
            // Inverse transform: -ln(U) × mean with U uniform in (0, 1].
            let u = (Double(rng.next() >> 11) + 1) * 0x1p-53
            poissonTime += -log(u) * meanGapNs
            return UInt64(poissonTime.rounded())
        }
    }
}

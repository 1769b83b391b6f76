import Histogram

/// Latency in nanoseconds, 1 ns to 60 s at 3 significant digits (0.1% relative error),
/// as an HdrHistogram value. Values above the range are not recorded but counted in
/// `outOfRange`, so nothing measured is silently lost. Merging adds counts: lossless.
public struct LatencyHistogram: Sendable {
    public static let lowest: UInt64 = 1
    public static let highest: UInt64 = 60_000_000_000
    public static let significantDigits = 3
    /// One histogram's counts (1 ns to 60 s at 3 significant digits: 27,648 counts of 8
    /// bytes), rounded up: what a job must be able to allocate for each histogram.
    public static let countsBytes: UInt64 = 224 << 10

    public var histogram: Histogram<UInt64>
    /// Values above `highest` (seen but not representable).
    public var outOfRange: UInt64 = 0
    /// Exact sum of recorded values, for an exact mean.
    public var sum: UInt64 = 0

    /// One empty histogram, shared (copy-on-write) by every value that has recorded
    /// nothing yet, so an empty outcome allocates no counts.
    public static let empty = LatencyHistogram()

    public init() {
        histogram = Histogram<UInt64>(lowestDiscernibleValue: Self.lowest, highestTrackableValue: Self.highest,
                                      numberOfSignificantValueDigits: .three)
    }

    @inlinable @inline(__always)
    public mutating func record(_ ns: UInt64) {
        if histogram.record(ns) {
            sum &+= ns
        } else {
            outOfRange &+= 1
        }
    }

    /// Adds every count of `other` into this histogram.
    public mutating func add(_ other: LatencyHistogram) {
        histogram.add(other.histogram)
        outOfRange += other.outOfRange
        sum &+= other.sum
    }

    public var count: UInt64 { histogram.totalCount }

    public var mean: Double { count == 0 ? 0 : Double(sum) / Double(count) }

    public func value(atPercentile p: Double) -> UInt64 { count == 0 ? 0 : histogram.valueAtPercentile(p) }

    public var min: UInt64 { count == 0 ? 0 : histogram.min }
    /// The exact largest value recorded (not its bucket's upper edge), so that no
    /// percentile ever exceeds it.
    public var max: UInt64 { count == 0 ? 0 : histogram.maxRecorded }
}

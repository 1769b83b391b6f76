import CIOBenchShim
import Histogram

/// A job's latency counts during the loop: HdrHistogram's counts array for 1 ns to 60 s
/// at 3 significant digits, in one malloc'd buffer the job owns. Recording is an index
/// computation and wrapping adds; there is no copy-on-write check, no overflow trap and
/// no call, which `Histogram.record` (a Swift array inside a value type) cannot avoid.
/// After the loop, `latencyHistogram(into:)` turns the counts into the `LatencyHistogram`
/// value that results carry, with the exact min, max and sum.
///
/// Not a value: it owns its buffer (`free()` releases it), so a copy shares the counts.
public struct JobHistogram {
    // The index layout of `LatencyHistogram` (lowest 1, 3 digits): 2048 sub-buckets, so
    // the sub-bucket mask is 2047, half the sub-buckets is 2^10, and a value's bucket is
    // 53 - lzcnt(value | 2047). Literals, so the loop's copy needs no lazy global; a test
    // checks them against HdrV2Codec.layout and against Histogram itself.
    @usableFromInline static let subBucketMask: UInt64 = 2047
    @usableFromInline static let subBucketHalfCountMagnitude = 10
    @usableFromInline static let subBucketHalfCount = 1024
    @usableFromInline static let leadingZeroCountBase = 53
    /// Counts of a histogram up to 60 s: 26 buckets, (26 + 1) × 1024 counts.
    public static let length = 27 * 1024

    public let counts: UnsafeMutablePointer<UInt64>
    /// Exact sum, extremes and values beyond the range of what was recorded.
    public var sum: UInt64 = 0
    public var minValue: UInt64 = .max
    public var maxValue: UInt64 = 0
    public var outOfRange: UInt64 = 0

    /// Zeroed counts, or nil when malloc cannot give them (reported by the caller).
    public init?() {
        guard let raw = iob_calloc(Self.length, 8) else { return nil }
        counts = raw.bindMemory(to: UInt64.self, capacity: Self.length)
    }

    public func free() { iob_free(UnsafeMutableRawPointer(counts)) }

    /// The counts index of `ns` (HdrHistogram's countsIndexForValue).
    @inlinable @inline(__always)
    public static func index(of ns: UInt64) -> Int {
        let bucket = leadingZeroCountBase &- (ns | subBucketMask).leadingZeroBitCount
        let subBucket = Int(truncatingIfNeeded: ns &>> UInt64(truncatingIfNeeded: bucket))
        return ((bucket &+ 1) &<< subBucketHalfCountMagnitude) &+ (subBucket &- subBucketHalfCount)
    }

    @inlinable @inline(__always)
    public mutating func record(_ ns: UInt64) {
        let i = Self.index(of: ns)
        if i < Self.length {
            counts[i] &+= 1
            sum &+= ns
            if ns > maxValue { maxValue = ns }
            if ns < minValue { minValue = ns }
        } else {
            outOfRange &+= 1
        }
    }

    /// Values recorded in range.
    public var count: UInt64 {
        var n: UInt64 = 0
        for i in 0 ..< Self.length { n &+= counts[i] }
        return n
    }

    public var isEmpty: Bool { maxValue == 0 && outOfRange == 0 && counts[0] == 0 }

    /// Adds every count of `other` into this one (interval → job total).
    public mutating func add(_ other: JobHistogram) {
        for i in 0 ..< Self.length { counts[i] &+= other.counts[i] }
        sum &+= other.sum
        outOfRange &+= other.outOfRange
        maxValue = Swift.max(maxValue, other.maxValue)
        minValue = Swift.min(minValue, other.minValue)
    }

    /// Back to empty, for the next interval.
    public mutating func reset() {
        counts.update(repeating: 0, count: Self.length)
        sum = 0
        minValue = .max
        maxValue = 0
        outOfRange = 0
    }

    /// Fills `h` (a new, empty histogram the caller allocated with its memory checked)
    /// with these counts. Any value of a bucket maps back to that bucket; the min's
    /// bucket is recorded at the exact min, the max's at the exact max (once at the min
    /// when they share one), the others at their lowest value, so every value recorded
    /// lies within [min, max] and `LatencyHistogram.min`/`max` stay exact.
    public func latencyHistogram(into h: inout LatencyHistogram) {
        let minIndex = minValue == .max ? -1 : Self.index(of: minValue)
        let maxIndex = Self.index(of: maxValue)
        for i in 0 ..< Self.length {
            var c = counts[i]
            guard c > 0 else { continue }
            if i == minIndex && i == maxIndex {
                h.histogram.record(minValue)
                c &-= 1
                if c > 0 { h.histogram.record(maxValue, count: c) }
            } else if i == minIndex {
                h.histogram.record(minValue, count: c)
            } else if i == maxIndex {
                h.histogram.record(maxValue, count: c)
            } else {
                h.histogram.record(HdrV2Codec.layout.value(at: i), count: c)
            }
        }
        h.sum &+= sum
        h.outOfRange &+= outOfRange
    }

    /// The counts from index 0 to that of the largest value recorded: what the V2
    /// encoding writes.
    public var recordedCounts: UnsafeBufferPointer<UInt64> {
        UnsafeBufferPointer(start: counts, count: counts[0] == 0 && maxValue == 0 ? 0 : Self.index(of: maxValue) + 1)
    }
}

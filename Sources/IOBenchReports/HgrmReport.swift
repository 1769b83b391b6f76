import Foundation
import Histogram
import IOBenchHistogram
import IOBenchResults
import IOBenchPlatform

/// HdrHistogram's percentile distribution text (`.hgrm`), as Java's
/// `AbstractHistogram.outputPercentileDistribution(PrintStream, int, Double)` prints it:
///
///            Value     Percentile TotalCount 1/(1-Percentile)
///
///            4.095 0.000000000000          1           1.00
///            ...
///       28098.559 1.000000000000     240000
///     #[Mean    =      123.456, StdDeviation   =       78.901]
///     #[Max     =    28098.559, Total count    =       240000]
///     #[Buckets =           26, SubBuckets     =         2048]
///
/// Values are divided by `unitRatio`: the default 1000 turns iobench's nanoseconds into
/// microseconds, the unit HdrHistogram's plotter (`plotFiles.html`) and most `.hgrm`
/// readers assume. The rows are the percentile walk Java does: `ticksPerHalfDistance`
/// rows per half of the remaining distance to 100%, each the highest value of the first
/// bucket whose running count reaches that level, then a last row at 100%. As in Java,
/// every value is a bucket's highest equivalent value, and the mean, standard deviation
/// and max are computed from the buckets (not iobench's exact `mean_ns` and `max_ns`),
/// so the text is the same whether it is rendered from the live histogram or from its
/// V2 string.
public enum HgrmReport {
    public static func render(_ h: LatencyHistogram, ticksPerHalfDistance: Int = 5, unitRatio: Double = 1000) -> String {
        let hist = h.histogram
        let digits = LatencyHistogram.significantDigits
        let ticks = Swift.max(ticksPerHalfDistance, 1)
        var out = pad("Value", 12) + " " + pad("Percentile", 14) + " " + pad("TotalCount", 10) + " "
            + pad("1/(1-Percentile)", 14) + "\n\n"
        for row in rows(hist, ticksPerHalfDistance: ticks) {
            let value = String(format: "%12.\(digits)f", Double(row.value) / unitRatio)
            let percentile = String(format: "%2.12f", row.level / 100)
            if row.level != 100 {
                let inverse = String(format: "%14.2f", 1 / (1 - row.level / 100))
                out += "\(value) \(percentile) \(pad(String(row.totalCount), 10)) \(inverse)\n"
            } else {
                out += "\(value) \(percentile) \(pad(String(row.totalCount), 10))\n"
            }
        }
        let mean = hist.totalCount == 0 ? 0 : hist.mean
        let stddev = hist.totalCount == 0 ? 0 : hist.stdDeviation
        let max = hist.totalCount == 0 ? 0 : hist.max
        out += String(format: "#[Mean    = %12.\(digits)f, StdDeviation   = %12.\(digits)f]\n", mean / unitRatio, stddev / unitRatio)
        out += String(format: "#[Max     = %12.\(digits)f, ", Double(max) / unitRatio)
            + "Total count    = \(pad(String(hist.totalCount), 12))]\n"
        out += "#[Buckets = \(pad(String(bucketCount), 12)), SubBuckets     = \(pad(String(subBucketCount), 12))]\n"
        return out
    }

    /// The `.hgrm` of one case of a result, from its histogram.
    public static func render(case c: CaseResult) throws -> String {
        guard let h = c.histogram?.live else {
            throw IOBenchError.badInput("case \(c.id) has no histogram (status \(c.status.rawValue)\(c.reason.map { ": \($0)" } ?? "")); only cases that ran have a percentile distribution")
        }
        return render(h)
    }

    /// One row of the distribution: the percentile level iterated to, the highest value of
    /// the bucket where the running count reached it, and that running count.
    struct Row: Equatable {
        var level: Double
        var value: UInt64
        var totalCount: UInt64
    }

    /// Java's `PercentileIterator`: the iteration stays on a bucket while its running
    /// percentile reaches successive levels; when the last bucket has been counted it
    /// reports one more level, then a final step to 100%.
    static func rows(_ h: Histogram<UInt64>, ticksPerHalfDistance ticks: Int) -> [Row] {
        let total = h.totalCount
        guard total > 0 else { return [] }
        var rows: [Row] = []
        var level = 0.0
        var running: UInt64 = 0
        for bucket in h.recordedValues() {
            running += bucket.count
            let percentile = 100.0 * Double(running) / Double(total)
            while percentile >= level {
                rows.append(Row(level: level, value: bucket.value, totalCount: running))
                if running >= total {
                    rows.append(Row(level: 100, value: bucket.value, totalCount: running))
                    return rows
                }
                level = nextLevel(after: level, ticks: ticks)
            }
        }
        return rows
    }

    /// `percentileLevelToIterateTo += 100 / (ticks * 2^(floor(log2(100 / (100 - level))) + 1))`,
    /// with Java's arithmetic.
    static func nextLevel(after level: Double, ticks: Int) -> Double {
        guard level < 100 else { return 100 }
        let halvings = Int64(log(100.0 / (100.0 - level)) / log(2.0))
        let reportingTicks = Int64(ticks) &* Int64(pow(2.0, Double(halvings + 1)))
        guard reportingTicks > 0 else { return 100 }
        return level + 100.0 / Double(reportingTicks)
    }

    /// `subBucketCount` of iobench's histograms: 2 × 10^digits rounded up to a power of two.
    static var subBucketCount: Int {
        1 << Int((log2(2 * pow(10.0, Double(LatencyHistogram.significantDigits)))).rounded(.up))
    }

    /// `bucketCount` as Java computes it (`getBucketsNeededToCoverValue(highestTrackableValue)`).
    static var bucketCount: Int {
        var smallestUntrackable = UInt64(subBucketCount) // << unitMagnitude, which is 0 for lowest = 1
        var buckets = 1
        while smallestUntrackable <= LatencyHistogram.highest {
            if smallestUntrackable > UInt64(Int64.max) / 2 { return buckets + 1 }
            smallestUntrackable <<= 1
            buckets += 1
        }
        return buckets
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }
}

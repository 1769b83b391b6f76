import Foundation
import Glibc
import IOBenchHistogram
import IOBenchResults

/// HdrHistogram's interval log (`.hlog`), as Java's `HistogramLogWriter` writes it and
/// `HistogramLogReader` (Java), `hdrh.log.HistogramLogReader` (Python) and
/// HistogramLogAnalyzer read it:
///
///     #[iobench interval log: latency histograms per interval, values in nanoseconds]
///     #[Histogram log format version 1.3]
///     #[StartTime: 1764115200.000 (seconds since epoch), Wed Nov 26 00:00:00 UTC 2025]
///     #[BaseTime: 1764115200.000 (seconds since epoch)]
///     "StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"
///     Tag=psync-4k,0.000,1.000,3.221,HISTFAAAA...
///
/// Interval start and length are seconds (3 decimals) relative to the base time, which
/// is the start time; `Interval_Max` is the interval's largest value divided by 10^6,
/// Java's default `maxValueUnitRatio`: milliseconds for iobench's nanosecond values. As
/// in Java it is the highest value of the maximum's bucket. The histogram is the V2
/// compressed base64 encoding of the JSON result.
public enum IntervalLog {
    /// Java's `HistogramLogWriter.HISTOGRAM_LOG_FORMAT_VERSION`.
    public static let formatVersion = "1.3"
    /// Java's default `maxValueUnitRatio`.
    public static let maxValueUnitRatio = 1_000_000.0

    public static func render(intervals: [IntervalHistogram], startTimeEpochSeconds: Double, comment: String?) -> String {
        var out = "#[iobench \(IOBenchVersion.string) interval log: latency histograms per interval, values in nanoseconds]\n"
        if let comment {
            for line in comment.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
                out += "#[\(line)]\n"
            }
        }
        out += "#[Histogram log format version \(formatVersion)]\n"
        let start = fixed3(startTimeEpochSeconds)
        out += "#[StartTime: \(start) (seconds since epoch), \(javaDate(startTimeEpochSeconds))]\n"
        out += "#[BaseTime: \(start) (seconds since epoch)]\n"
        out += "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n"
        for i in intervals {
            if let tag = i.tag { out += "Tag=\(sanitizedTag(tag))," }
            let maxValue = i.count == 0 ? 0 : i.histogram.histogram.max
            out += "\(nanosAsSeconds(i.startNs)),\(nanosAsSeconds(i.lengthNs)),"
            out += fixed3(Double(maxValue) / maxValueUnitRatio) + ","
            out += i.encoded + "\n"
        }
        return out
    }

    /// A tag cannot hold the log's delimiters (Java refuses commas, spaces and line
    /// breaks); an empty tag would read back as none.
    package static func sanitizedTag(_ tag: String) -> String {
        let s = String(tag.map { $0 == "," || $0.isWhitespace || $0.isNewline ? "_" : $0 })
        return s.isEmpty ? "_" : s
    }

    /// Nanoseconds as seconds with 3 decimals, rounded half up (Java's `%.3f`), exactly.
    package static func nanosAsSeconds(_ ns: UInt64) -> String {
        let ms = ns / 1_000_000 + (ns % 1_000_000 >= 500_000 ? 1 : 0)
        let frac = String(ms % 1000)
        return "\(ms / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
    }

    static func fixed3(_ v: Double) -> String {
        String(format: "%.3f", v.isFinite ? v : 0)
    }

    /// `java.util.Date.toString()`, in UTC: `Wed Nov 26 00:00:00 UTC 2025`.
    static func javaDate(_ epochSeconds: Double) -> String {
        var t = time_t(epochSeconds.isFinite ? floor(epochSeconds) : 0)
        var tm = tm()
        guard gmtime_r(&t, &tm) != nil else { return "" }
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(days[Int(tm.tm_wday)]) \(months[Int(tm.tm_mon)]) \(two(tm.tm_mday)) "
            + "\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)) UTC \(Int(tm.tm_year) + 1900)"
    }
}

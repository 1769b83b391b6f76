/// One interval of an HdrHistogram interval log: the latencies recorded in
/// `[startNs, startNs + lengthNs)`, times counted from the log's base time.
public struct IntervalHistogram: Sendable {
    /// Start of the interval, in nanoseconds since the log's base time (its start time).
    public var startNs: UInt64
    public var lengthNs: UInt64
    public var histogram: LatencyHistogram
    /// Written as `Tag=NAME,` before the interval; HistogramLogAnalyzer and the readers
    /// use it to tell series apart (one per case, for example). Commas, white space and
    /// line breaks, which the format cannot carry in a tag, are written as `_`.
    public var tag: String?

    public init(startNs: UInt64, lengthNs: UInt64, histogram: LatencyHistogram, tag: String? = nil) {
        self.startNs = startNs
        self.lengthNs = lengthNs
        self.histogram = histogram
        self.tag = tag
    }
}

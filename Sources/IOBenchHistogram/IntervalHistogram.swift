/// One interval of an HdrHistogram interval log: the latencies recorded in
/// `[startNs, startNs + lengthNs)`, times counted from the log's base time.
///
/// Kept as the compressed V2 string the log writes (a few KiB), not as the 220 KiB of
/// counts: a job-hour of one-second intervals is then megabytes, not 790 MB. The exact
/// sum and the out-of-range count, which V2 does not carry, are kept beside it.
public struct IntervalHistogram: Sendable {
    /// Start of the interval, in nanoseconds since the log's base time (its start time).
    public var startNs: UInt64
    public var lengthNs: UInt64
    /// Written as `Tag=NAME,` before the interval; HistogramLogAnalyzer and the readers
    /// use it to tell series apart (one per case, for example). Commas, white space and
    /// line breaks, which the format cannot carry in a tag, are written as `_`.
    public var tag: String?
    /// The interval's histogram as a compressed V2 string (base64).
    public private(set) var encoded: String
    /// Reads recorded in range, their exact sum, and the reads beyond 60 s.
    public private(set) var count: UInt64
    public private(set) var sum: UInt64
    public private(set) var outOfRange: UInt64

    public init(startNs: UInt64, lengthNs: UInt64, histogram: LatencyHistogram, tag: String? = nil) {
        self.startNs = startNs
        self.lengthNs = lengthNs
        self.tag = tag
        encoded = HdrV2Codec.encode(histogram)
        count = histogram.count
        sum = histogram.sum
        outOfRange = histogram.outOfRange
    }

    /// An interval straight from a job's counts buffer (no histogram value is made).
    public init(startNs: UInt64, lengthNs: UInt64, counts: JobHistogram) {
        self.startNs = startNs
        self.lengthNs = lengthNs
        tag = nil
        encoded = HdrV2Codec.encode(counts: counts.recordedCounts)
        count = counts.count
        sum = counts.sum
        outOfRange = counts.outOfRange
    }

    /// The histogram, decoded (each read at its bucket's highest equivalent value, as
    /// every V2 reader sees it; the exact sum restored). Setting it encodes it again.
    public var histogram: LatencyHistogram {
        get {
            // The string was made by HdrV2Codec.encode in this process: failing to read
            // it back is a bug in the codec, not damage to report.
            guard var h = try? HdrV2Codec.decode(encoded) else {
                preconditionFailure("an interval histogram encoded by iobench did not decode")
            }
            h.sum = sum
            h.outOfRange = outOfRange
            return h
        }
        set {
            encoded = HdrV2Codec.encode(newValue)
            count = newValue.count
            sum = newValue.sum
            outOfRange = newValue.outOfRange
        }
    }

    /// Several jobs' same interval as one (the first's start, length and tag): counts
    /// added bucket by bucket from the V2 strings, without making histogram values.
    public static func merged(_ parts: [IntervalHistogram]) -> IntervalHistogram {
        guard var out = parts.first else { preconditionFailure("merging no intervals") }
        guard parts.count > 1 else { return out }
        var counts = [UInt64](repeating: 0, count: JobHistogram.length)
        for p in parts {
            // Strings made by HdrV2Codec.encode in this process (see `histogram`).
            do { try HdrV2Codec.decodeCounts(p.encoded, adding: &counts) } catch {
                preconditionFailure("an interval histogram encoded by iobench did not decode: \(error)")
            }
        }
        out.encoded = counts.withUnsafeBufferPointer { HdrV2Codec.encode(counts: $0) }
        out.count = parts.reduce(0) { $0 &+ $1.count }
        out.sum = parts.reduce(0) { $0 &+ $1.sum }
        out.outOfRange = parts.reduce(0) { $0 &+ $1.outOfRange }
        return out
    }

    /// Adds the reads of `other` (the same interval of another job).
    public mutating func add(_ other: IntervalHistogram) {
        self = Self.merged([self, other])
    }
}

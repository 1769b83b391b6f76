import CIOBenchShim
import Foundation
import Histogram

/// HdrHistogram's V2 encoding, the portable form every implementation (Java, C, Go,
/// Rust, Python `hdrhistogram`) reads:
///
///     header (big-endian): cookie 0x1c849313, payload length, normalizing index offset,
///       significant digits, lowest discernible value (8), highest trackable value (8),
///       integer-to-double ratio (8, a double)
///     payload: counts in index order as ZigZag LEB128 varints, a run of N > 1 zero
///       counts written as the single value -N (a lone zero is written as 0, as the
///       Java reference does; the C and Python implementations write -1, which every
///       reader, this one too, takes alike)
///     compressed: cookie 0x1c849314, length, then the zlib stream of header + payload
///
/// then base64. The counts index layout is HdrHistogram's: bucket b holds sub-buckets of
/// width 2^b; the first bucket is all linear.
public enum HdrV2Codec {
    package static let encodingCookie: UInt32 = 0x1c84_9313
    package static let compressedCookie: UInt32 = 0x1c84_9314

    /// Index layout for (lowest=1, 3 significant digits): 2048 sub-buckets.
    package struct Layout: Sendable {
        package let unitMagnitude: Int
        package let subBucketHalfCountMagnitude: Int
        package let subBucketHalfCount: Int
        package let subBucketMask: UInt64
        package let leadingZeroCountBase: Int

        init(lowest: UInt64, digits: Int) {
            let largestSingleUnit = 2 * UInt64(pow(10.0, Double(digits)))
            unitMagnitude = Int(floor(log2(Double(lowest))))
            let subBucketCountMagnitude = Int(ceil(log2(Double(largestSingleUnit))))
            subBucketHalfCountMagnitude = max(subBucketCountMagnitude, 1) - 1
            let subBucketCount = 1 << (subBucketHalfCountMagnitude + 1)
            subBucketHalfCount = subBucketCount / 2
            subBucketMask = UInt64(subBucketCount - 1) << UInt64(unitMagnitude)
            leadingZeroCountBase = 64 - unitMagnitude - subBucketHalfCountMagnitude - 1
        }

        package func index(of value: UInt64) -> Int {
            let bucket = leadingZeroCountBase - (value | subBucketMask).leadingZeroBitCount
            let subBucket = Int(value >> UInt64(bucket + unitMagnitude))
            return ((bucket + 1) << subBucketHalfCountMagnitude) + (subBucket - subBucketHalfCount)
        }

        package func value(at index: Int) -> UInt64 {
            var bucket = (index >> subBucketHalfCountMagnitude) - 1
            var subBucket = (index & (subBucketHalfCount - 1)) + subBucketHalfCount
            if bucket < 0 {
                subBucket -= subBucketHalfCount
                bucket = 0
            }
            return UInt64(subBucket) << UInt64(bucket + unitMagnitude)
        }
    }

    package static let layout = Layout(lowest: LatencyHistogram.lowest, digits: LatencyHistogram.significantDigits)

    /// The counts array of `h`, dense, up to the index of its highest recorded value.
    static func denseCounts(_ h: Histogram<UInt64>) -> [UInt64] {
        guard h.totalCount > 0 else { return [] }
        var counts = [UInt64](repeating: 0, count: layout.index(of: h.max) + 1)
        for v in h.recordedValues() {
            let i = layout.index(of: v.value)
            if i < counts.count { counts[i] += v.count } else {
                counts.append(contentsOf: repeatElement(0, count: i + 1 - counts.count))
                counts[i] += v.count
            }
        }
        return counts
    }

    public static func encode(_ h: LatencyHistogram) -> String {
        encode(h.histogram)
    }

    public static func encode(_ h: Histogram<UInt64>) -> String {
        denseCounts(h).withUnsafeBufferPointer { encode(counts: $0) }
    }

    /// The V2 string of a counts array in `LatencyHistogram`'s index layout (a job's
    /// counts buffer, up to its highest recorded index).
    public static func encode(counts all: UnsafeBufferPointer<UInt64>) -> String {
        // Up to the last count that is not zero, as Java writes it.
        var n = all.count
        while n > 0 && all[n - 1] == 0 { n -= 1 }
        let counts = UnsafeBufferPointer(rebasing: all[0 ..< n])
        var payload: [UInt8] = []
        var i = 0
        while i < counts.count {
            if counts[i] == 0 {
                var zeros = 0
                while i < counts.count && counts[i] == 0 { zeros += 1; i += 1 }
                // A lone zero as itself, as Java does (one byte either way); earlier
                // iobench versions wrote -1, which decode() still reads.
                appendZigZag(zeros == 1 ? 0 : -Int64(zeros), to: &payload)
            } else {
                appendZigZag(Int64(clamping: counts[i]), to: &payload)
                i += 1
            }
        }
        var raw: [UInt8] = []
        appendBE32(encodingCookie, to: &raw)
        appendBE32(UInt32(payload.count), to: &raw)
        appendBE32(0, to: &raw)
        appendBE32(UInt32(LatencyHistogram.significantDigits), to: &raw)
        appendBE64(LatencyHistogram.lowest, to: &raw)
        appendBE64(LatencyHistogram.highest, to: &raw)
        appendBE64(Double(1.0).bitPattern, to: &raw)
        raw += payload

        var compressed = [UInt8](repeating: 0, count: Int(iob_zlib_bound(UInt(raw.count))))
        var clen = UInt(compressed.count)
        let rc = compressed.withUnsafeMutableBufferPointer { dst in
            raw.withUnsafeBufferPointer { src in
                iob_zlib_compress(dst.baseAddress, &clen, src.baseAddress, UInt(src.count))
            }
        }
        precondition(rc == 0, "zlib compress2 failed with \(rc)")
        var out: [UInt8] = []
        appendBE32(compressedCookie, to: &out)
        appendBE32(UInt32(clen), to: &out)
        out += compressed[0 ..< Int(clen)]
        return Data(out).base64EncodedString()
    }

    public enum DecodeError: Error, CustomStringConvertible {
        case malformed(String)
        public var description: String {
            switch self { case .malformed(let m): return "not a valid HdrHistogram V2 string: \(m)" }
        }
    }

    /// The header and payload of a compressed V2 string (its zlib stream inflated).
    static func uncompressed(_ base64: String) throws -> [UInt8] {
        guard let data = Data(base64Encoded: base64) else { throw DecodeError.malformed("bad base64") }
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { throw DecodeError.malformed("too short") }
        guard readBE32(bytes, 0) & ~0xf0 == compressedCookie & ~0xf0 else {
            throw DecodeError.malformed("wrong cookie")
        }
        let clen = Int(readBE32(bytes, 4))
        guard clen <= bytes.count - 8 else { throw DecodeError.malformed("truncated") }
        var cap = max(4096, clen * 8)
        var raw: [UInt8] = []
        while true {
            raw = [UInt8](repeating: 0, count: cap)
            var rlen = UInt(cap)
            let rc = raw.withUnsafeMutableBufferPointer { dst in
                bytes.withUnsafeBufferPointer { src in
                    iob_zlib_uncompress(dst.baseAddress, &rlen, src.baseAddress! + 8, UInt(clen))
                }
            }
            if rc == Z_BUF_ERROR && cap < 1 << 28 { cap *= 4; continue }
            guard rc == Z_OK else { throw DecodeError.malformed("zlib error \(rc)") }
            return Array(raw[0 ..< Int(rlen)])
        }
    }

    /// Decodes a compressed V2 string into a histogram of iobench's range.
    public static func decode(_ base64: String) throws -> LatencyHistogram {
        let counts = try decodeCounts(base64)
        var h = LatencyHistogram()
        for index in 0 ..< counts.count where counts[index] > 0 {
            let c = counts[index]
            // V2 carries buckets, not exact values: record each bucket's highest
            // equivalent value, as other implementations report it.
            let value = Swift.min(h.histogram.highestEquivalentForValue(layout.value(at: index)), LatencyHistogram.highest)
            guard h.histogram.record(value, count: c) else { throw DecodeError.malformed("value beyond 60 s") }
        }
        h.sum = exactSum(mean: h.histogram.mean, count: h.histogram.totalCount)
        return h
    }

    /// The counts of a compressed V2 string in `LatencyHistogram`'s index layout
    /// (`JobHistogram.length` of them).
    public static func decodeCounts(_ base64: String) throws -> [UInt64] {
        var counts = [UInt64](repeating: 0, count: JobHistogram.length)
        try decodeCounts(base64, adding: &counts)
        return counts
    }

    /// Adds the counts of a compressed V2 string into `counts` (`JobHistogram.length`
    /// long): what merging intervals needs, without making histogram values.
    public static func decodeCounts(_ base64: String, adding counts: inout [UInt64]) throws {
        precondition(counts.count == JobHistogram.length)
        let raw = try uncompressed(base64)
        guard raw.count >= 40, readBE32(raw, 0) & ~0xf0 == encodingCookie & ~0xf0 else {
            throw DecodeError.malformed("wrong inner cookie")
        }
        let payloadLength = Int(readBE32(raw, 4))
        guard payloadLength <= raw.count - 40 else { throw DecodeError.malformed("payload truncated") }
        let lowest = readBE64(raw, 16)
        let digits = Int(readBE32(raw, 12))
        guard lowest == LatencyHistogram.lowest, digits == LatencyHistogram.significantDigits else {
            throw DecodeError.malformed("histogram parameters (lowest \(lowest), \(digits) digits) differ from iobench's (1 ns, 3 digits)")
        }
        var pos = 40
        let end = 40 + payloadLength
        var index = 0
        var total: UInt64 = 0
        while pos < end {
            let v = try readZigZag(raw, &pos, end)
            // A run of zeros or an index beyond any histogram of iobench's range is damage.
            guard v != Int64.min, v >= -(1 << 24) else { throw DecodeError.malformed("zero run out of range") }
            guard index < 1 << 24 else { throw DecodeError.malformed("counts beyond the histogram's range") }
            // -N skips N empty buckets; a lone one comes as 0 (Java, iobench) or as -1
            // (the C and Python implementations, and iobench before): both read alike.
            if v < 0 {
                index += Int(-v)
            } else {
                if v > 0 {
                    guard layout.value(at: index) <= LatencyHistogram.highest else { throw DecodeError.malformed("value beyond 60 s") }
                    // No run records 2^56 reads; a larger total is damage (and could
                    // overflow when merged).
                    total = total &+ UInt64(v)
                    guard UInt64(v) < 1 << 56, total < 1 << 56 else { throw DecodeError.malformed("counts beyond any real run") }
                    // value(at:) ≤ 60 s keeps the index below JobHistogram.length.
                    counts[index] &+= UInt64(v)
                }
                index += 1
            }
        }
    }

    /// mean × count as an exact sum, or 0 when a damaged file's mean is not a latency.
    public static func exactSum(mean: Double, count: UInt64) -> UInt64 {
        let total = mean * Double(count)
        guard total.isFinite, total >= 0, total < 1.8e19 else { return 0 }
        return UInt64(total)
    }

    package static func appendZigZag(_ v: Int64, to out: inout [UInt8]) {
        var z = UInt64(bitPattern: (v << 1) ^ (v >> 63))
        // HdrHistogram's LEB128 variant: at most 9 bytes, the 9th carries 8 full bits.
        for _ in 0 ..< 8 {
            if z < 0x80 { out.append(UInt8(z)); return }
            out.append(UInt8(z & 0x7f) | 0x80)
            z >>= 7
        }
        out.append(UInt8(truncatingIfNeeded: z))
    }

    package static func readZigZag(_ b: [UInt8], _ pos: inout Int, _ end: Int) throws -> Int64 {
        var z: UInt64 = 0
        var shift: UInt64 = 0
        for n in 0 ..< 9 {
            guard pos < end else { throw DecodeError.malformed("varint truncated") }
            let byte = b[pos]; pos += 1
            if n == 8 { z |= UInt64(byte) << 56; break }
            z |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        return Int64(bitPattern: (z >> 1) ^ (0 &- (z & 1)))
    }

    package static func appendBE32(_ v: UInt32, to out: inout [UInt8]) {
        out += [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)]
    }

    package static func appendBE64(_ v: UInt64, to out: inout [UInt8]) {
        appendBE32(UInt32(v >> 32), to: &out)
        appendBE32(UInt32(v & 0xffff_ffff), to: &out)
    }

    static func readBE32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }

    static func readBE64(_ b: [UInt8], _ at: Int) -> UInt64 {
        UInt64(readBE32(b, at)) << 32 | UInt64(readBE32(b, at + 4))
    }
}

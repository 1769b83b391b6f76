import Foundation
import IOBenchWorkload
import IOBenchHistogram

/// A case's (or a repeat's) latency histogram. In memory it is the live histogram the
/// jobs recorded, added up as it is; the V2 string (`data`) is made only when a result
/// is encoded, and decoded only when one is read (`init(from:)`, so a damaged string is
/// refused at read and never reaches a report or a sum).
public struct HistogramEncoding: Codable, Sendable {
    public static let v2Base64 = "hdrhistogram-v2-compressed-base64"
    public var encoding = HistogramEncoding.v2Base64
    public var unit = "ns"
    public var lowestDiscernibleValue = LatencyHistogram.lowest
    public var highestTrackableValue = LatencyHistogram.highest
    public var significantDigits = LatencyHistogram.significantDigits
    private var storage: LatencyHistogram
    /// The V2 string this histogram was read from: written back as read while the
    /// histogram is unchanged, so a file's strings pass through `merge` byte for byte
    /// (also one written by another version of the encoder).
    private var text: String?

    /// The histogram itself.
    public var live: LatencyHistogram {
        get { storage }
        set { storage = newValue; text = nil }
    }

    /// The compressed V2 string, base64: encoded when asked for (a result being written).
    public var data: String { text ?? HdrV2Codec.encode(storage) }

    public init(_ histogram: LatencyHistogram) {
        storage = histogram
    }

    /// A decoded histogram knows each read only as its bucket: the exact sum and the
    /// reads beyond its range come from the summary written beside it (mean × count for
    /// a file written before `sum_ns` existed). Not part of the V2 string, so it stays.
    mutating func restoreTotals(from l: LatencySummary?) {
        guard let l else { return }
        storage.sum = l.sumNs ?? HdrV2Codec.exactSum(mean: l.meanNs, count: storage.count)
        storage.outOfRange = l.outOfRange
    }

    enum CodingKeys: String, CodingKey {
        case encoding, unit, data
        case lowestDiscernibleValue = "lowest_discernible_value"
        case highestTrackableValue = "highest_trackable_value"
        case significantDigits = "significant_digits"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        encoding = try c.decode(String.self, forKey: .encoding)
        unit = try c.decode(String.self, forKey: .unit)
        lowestDiscernibleValue = try c.decode(UInt64.self, forKey: .lowestDiscernibleValue)
        highestTrackableValue = try c.decode(UInt64.self, forKey: .highestTrackableValue)
        significantDigits = try c.decode(Int.self, forKey: .significantDigits)
        let text = try c.decode(String.self, forKey: .data)
        guard encoding == Self.v2Base64 else {
            throw DamagedHistogram(decoder.codingPath, " has a histogram in encoding '\(Units.printable(encoding))'; iobench reads \(Self.v2Base64)")
        }
        do { storage = try HdrV2Codec.decode(text) } catch {
            throw DamagedHistogram(decoder.codingPath, ": its histogram does not decode (\(error)); the file is damaged")
        }
        self.text = text
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(encoding, forKey: .encoding)
        try c.encode(unit, forKey: .unit)
        try c.encode(lowestDiscernibleValue, forKey: .lowestDiscernibleValue)
        try c.encode(highestTrackableValue, forKey: .highestTrackableValue)
        try c.encode(significantDigits, forKey: .significantDigits)
        try c.encode(data, forKey: .data)
    }
}

/// A histogram in a result being read that is not iobench's V2 string or does not
/// decode: where it is (case and repeat position), so that `RunResult.decode` can name
/// the case (exit 2).
struct DamagedHistogram: Error {
    var caseIndex: Int?
    var repeatIndex: Int?
    var detail: String

    init(_ path: [CodingKey], _ detail: String) {
        self.detail = detail
        for (k, key) in path.enumerated() where k + 1 < path.count {
            if key.stringValue == CaseResult.CodingKeys.repeats.stringValue { repeatIndex = path[k + 1].intValue }
            if key.stringValue == RunResult.CodingKeys.cases.stringValue { caseIndex = path[k + 1].intValue }
        }
    }

    /// The message, naming the case by its id and the repeat by its index as the file
    /// has them (`header` is the file's top-level JSON object).
    func message(source: String, header: [String: Any]) -> String {
        let cases = header["cases"] as? [[String: Any]]
        let c = caseIndex.flatMap { i in cases.flatMap { i < $0.count ? $0[i] : nil } }
        let id = (c?["id"] as? String).map { Units.printable($0) } ?? caseIndex.map { "#\($0 + 1)" } ?? "?"
        var what = ""
        if let j = repeatIndex {
            let reps = c?["repeats"] as? [[String: Any]]
            let index = reps.flatMap { j < $0.count ? $0[j]["index"] as? Int : nil } ?? j + 1
            what = " repeat \(index)"
        }
        return "\(source): case \(id)\(what)\(detail)"
    }
}

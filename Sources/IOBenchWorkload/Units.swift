import IOBenchPlatform
/// Parsing of fio-style sizes (`4k`, `1g`, `512`) and durations (`500ms`, `10s`, `2m`).
/// Sizes use fio's default base of 1024: `4k` is 4096 bytes.
public enum Units {
    public static func parseSize(_ text: String, option: String) throws(IOBenchError) -> UInt64 {
        let t = text.trimmingCharacters(in: " ").lowercased()
        var digits = Substring(t)
        var suffix = ""
        while let last = digits.last, !(last.isNumber) {
            suffix = String(last) + suffix
            digits = digits.dropLast()
        }
        let multipliers: [String: UInt64] = [
            "": 1, "b": 1,
            "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
            "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
            "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
            "t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40,
        ]
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              let value = UInt64(digits), let mult = multipliers[suffix]
        else {
            throw .badInput("--\(option) '\(printable(text))' is not a size; write a whole number with an optional k, m, g or t suffix, e.g. 4k or 1g")
        }
        let (product, overflow) = value.multipliedReportingOverflow(by: mult)
        guard !overflow, product <= UInt64(Int64.max) else {
            throw .badInput("--\(option) '\(printable(text))' is too large; the largest size is 8388607t (just under 2^63 bytes)")
        }
        return product
    }

    /// Parses a duration into nanoseconds. A bare number is seconds, as in fio.
    public static func parseDuration(_ text: String, option: String) throws(IOBenchError) -> UInt64 {
        let t = text.trimmingCharacters(in: " ").lowercased()
        var number = Substring(t)
        var suffix = ""
        while let last = number.last, last.isLetter {
            suffix = String(last) + suffix
            number = number.dropLast()
        }
        let scale: [String: Double] = ["": 1e9, "s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1, "m": 60e9, "min": 60e9, "h": 3600e9]
        guard let s = scale[suffix], !number.isEmpty,
              number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              let value = Double(number), value.isFinite, value >= 0
        else {
            throw .badInput("--\(option) '\(printable(text))' is not a duration; write a number with an optional unit (ns, us, ms, s, m, h), e.g. 500ms or 10s")
        }
        let ns = value * s
        guard ns < 1e18 else {
            throw .badInput("--\(option) '\(printable(text))' is too long; keep durations under 31 years")
        }
        return UInt64(ns.rounded())
    }

    /// User text as it may appear in a one-line message: control characters escaped.
    public static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.properties.generalCategory == .control || scalar == "\u{2028}" || scalar == "\u{2029}" {
                out += scalar.escaped(asASCII: true)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out.count > 200 ? String(out.prefix(200)) + "…" : out
    }

    /// `4096` → `4k`, `1073741824` → `1g`: the shortest exact form.
    public static func formatSize(_ bytes: UInt64) -> String {
        let units: [(UInt64, String)] = [(1 << 40, "t"), (1 << 30, "g"), (1 << 20, "m"), (1 << 10, "k")]
        for (m, s) in units where bytes >= m && bytes % m == 0 { return "\(bytes / m)\(s)" }
        return "\(bytes)"
    }

    /// Parses a rate in reads per second: `5000`, `50k`, `1.5M` (decimal: k = 1000).
    public static func parseRate(_ text: String, option: String) throws(IOBenchError) -> Double {
        let t = text.trimmingCharacters(in: " ").lowercased()
        var number = Substring(t)
        var scale = 1.0
        if let last = number.last, last == "k" || last == "m" {
            scale = last == "k" ? 1e3 : 1e6
            number = number.dropLast()
        }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              let value = Double(number), value.isFinite, value > 0
        else {
            throw .badInput("--\(option) '\(printable(text))' is not a rate; write reads per second as a number with an optional k or M (×1000, ×1,000,000), e.g. 5000, 50k or 1.5M")
        }
        return value * scale
    }

    /// `50000` → `50k`, `1500000` → `1.5M`, `750` → `750`: rates for labels.
    public static func formatRate(_ r: Double) -> String {
        func trim(_ v: Double) -> String { oneDecimal(v) }
        if r >= 1e6 { return trim(r / 1e6) + "M" }
        if r >= 1e3 { return trim(r / 1e3) + "k" }
        return trim(r)
    }

    /// `12.0` → `12`, `12.25` → `12.3` (to 0.1, without a trailing `.0`).
    public static func oneDecimal(_ v: Double) -> String {
        let tenths = UInt64((v * 10).rounded())
        return tenths % 10 == 0 ? "\(tenths / 10)" : "\(tenths / 10).\(tenths % 10)"
    }

    public static func formatDuration(_ ns: UInt64) -> String {
        if ns % 1_000_000_000 == 0 { return "\(ns / 1_000_000_000)s" }
        if ns % 1_000_000 == 0 { return "\(ns / 1_000_000)ms" }
        if ns % 1_000 == 0 { return "\(ns / 1_000)us" }
        return "\(ns)ns"
    }
}

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

    public static func formatDuration(_ ns: UInt64) -> String {
        if ns % 1_000_000_000 == 0 { return "\(ns / 1_000_000_000)s" }
        if ns % 1_000_000 == 0 { return "\(ns / 1_000_000)ms" }
        if ns % 1_000 == 0 { return "\(ns / 1_000)us" }
        return "\(ns)ns"
    }
}

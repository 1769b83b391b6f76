import Foundation

/// fio's value types as fio 3.x parses them (parse.c), for the keys iobench maps. Where
/// fio's parser and its HOWTO disagree, or fio silently reads something other than
/// what was likely meant, the value is refused with the reason instead of guessed.
/// Every function returns a plain reason on failure; the caller adds the place.
enum FioValues {
    /// A byte count: `4k`, `1m`, `0x1000`, `4KiB`. With kb_base 1024 (fio's default)
    /// k/m/g/t/p (with or without `b`) are powers of 1024 and kib/mib/... powers of 1000;
    /// kb_base 1000 swaps them. A bare number is bytes.
    static func size(_ text: String, kbBase: UInt64) -> Result<UInt64, Reason> {
        let t = text.lowercased()
        if t.hasPrefix("(") || t.contains("$") {
            return .failure(Reason("fio's arithmetic and reserved words ($ncpus, $mb_memory, $pagesize) are not evaluated by iobench; write the number"))
        }
        if t.hasSuffix("%") {
            return .failure(Reason("a percentage of the file is not supported; write the size in bytes, e.g. 1g"))
        }
        let hex = t.hasPrefix("0x")
        let body = hex ? t.dropFirst(2) : Substring(t)
        let digits = body.prefix { hex ? $0.isHexDigit : ($0.isASCII && $0.isNumber) }
        let suffix = String(body.dropFirst(digits.count))
        guard !digits.isEmpty, let value = UInt64(digits, radix: hex ? 16 : 10) else {
            return .failure(Reason("not a whole number of bytes; write e.g. 4k, 64m or 1g"))
        }
        let other: UInt64 = kbBase == 1000 ? 1024 : 1000
        let powers: [Character: Int] = ["k": 1, "m": 2, "g": 3, "t": 4, "p": 5]
        var multiplier: UInt64 = 1
        if hex && !suffix.isEmpty {
            return .failure(Reason("a hexadecimal size takes no unit"))
        }
        switch suffix.count {
        case 0: break
        case 1 where suffix == "b": break
        case 1, 2, 3:
            guard let p = powers[suffix.first!] else { return .failure(unitReason(suffix)) }
            let rest = suffix.dropFirst()
            let base: UInt64
            switch rest {
            case "", "b": base = kbBase
            case "ib": base = other
            case "i":
                // fio 3.x reads "4ki" as "4k" (kb_base), its HOWTO as 4 KiB: refuse the doubt.
                return .failure(Reason("fio's HOWTO reads '\(suffix)' as a power of 1024, fio itself as '\(suffix.first!)' (kb_base); write \(suffix)b for the IEC unit or \(suffix.first!) for kb_base's"))
            default: return .failure(unitReason(suffix))
            }
            for _ in 0 ..< p {
                let (m, o) = multiplier.multipliedReportingOverflow(by: base)
                guard !o else { return .failure(Reason("too large")) }
                multiplier = m
            }
        default: return .failure(unitReason(suffix))
        }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: multiplier)
        guard !overflow, bytes <= UInt64(Int64.max) else { return .failure(Reason("too large")) }
        return .success(bytes)
    }

    private static func unitReason(_ suffix: String) -> Reason {
        Reason("'\(suffix)' is not a unit fio reads for sizes; use k, m, g, t (with kb_base) or KiB, MiB, GiB, TiB")
    }

    /// A count (iodepth, numjobs, rate_iops, batches): fio parses these as integers that
    /// may carry a size unit, so `1k` is 1024 under kb_base 1024.
    static func count(_ text: String, kbBase: UInt64) -> Result<UInt64, Reason> {
        size(text, kbBase: kbBase).mapError { _ in Reason("not a whole number; write e.g. 1, 16 or 32") }
    }

    /// A time in ns: a whole number with an optional unit (us/usec, ms/msec, s, m, h, d;
    /// case-insensitive), seconds without one. fio reads `1.5` as 1 s and `10sec` or
    /// `1min` as microseconds, so fractions and those spellings are refused.
    static func time(_ text: String) -> Result<UInt64, Reason> {
        let t = text.lowercased()
        if t.hasPrefix("(") || t.contains("$") {
            return .failure(Reason("fio's arithmetic and reserved words are not evaluated by iobench; write the time, e.g. 10s"))
        }
        let digits = t.prefix { $0.isASCII && $0.isNumber }
        let unit = String(t.dropFirst(digits.count))
        guard !digits.isEmpty, let value = UInt64(digits) else {
            return .failure(Reason("not a time; write a whole number with an optional unit (us, ms, s, m, h, d), e.g. 500ms or 10s"))
        }
        let scale: [String: UInt64] = ["": 1_000_000_000, "s": 1_000_000_000, "ms": 1_000_000, "msec": 1_000_000,
                                       "us": 1_000, "usec": 1_000, "m": 60_000_000_000, "h": 3_600_000_000_000,
                                       "d": 86_400_000_000_000]
        if unit.hasPrefix(".") {
            return .failure(Reason("fio reads a fraction's whole part only (1.5 is 1 s); write a whole number in a smaller unit, e.g. 1500ms"))
        }
        if unit == "sec" || unit == "min" || unit == "hour" || unit == "day" {
            return .failure(Reason("fio 3.x reads '\(unit)' as microseconds (its HOWTO says otherwise); write \(unit.prefix(1))"))
        }
        guard let s = scale[unit] else {
            return .failure(Reason("'\(unit)' is not a time unit fio reads; use us, ms, s, m, h or d"))
        }
        let (ns, overflow) = value.multipliedReportingOverflow(by: s)
        guard !overflow, ns < 1_000_000_000_000_000_000 else { return .failure(Reason("too long")) }
        return .success(ns)
    }

    /// A flag such as `time_based`: bare is on; `=0` is off, any other whole number on.
    static func flag(_ value: String?) -> Result<Bool, Reason> {
        guard let value else { return .success(true) }
        guard let n = Int(value) else { return .failure(Reason("a flag takes no value, 0 or 1")) }
        return .success(n != 0)
    }

    /// A boolean such as `direct`: fio needs the value, 0 or 1.
    static func bool(_ value: String?) -> Result<Bool, Reason> {
        switch value {
        case "0": .success(false)
        case "1": .success(true)
        case nil: .failure(Reason("needs a value (fio refuses it bare); write =1 or =0"))
        default: .failure(Reason("takes 0 or 1"))
        }
    }

    /// `cpus_allowed`: `0,5,8-15`.
    static func cpuList(_ text: String) -> Result<[Int], Reason> {
        var cpus: [Int] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "-", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count <= 2, let lo = Int(parts[0]), let hi = Int(parts.last!), lo >= 0, lo <= hi, hi < 4096 else {
                return .failure(Reason("not a CPU list; write e.g. 0,5,8-15"))
            }
            for c in lo ... hi where !cpus.contains(c) { cpus.append(c) }
        }
        return .success(cpus)
    }

    /// `percentile_list`: `99:99.9:99.99`, each in (0, 100], at most 20.
    static func percentiles(_ text: String) -> Result<[Double], Reason> {
        let items = text.split(separator: ":", omittingEmptySubsequences: false)
        var out: [Double] = []
        for i in items {
            guard let v = Double(i.trimmingCharacters(in: .whitespaces)), v > 0, v <= 100 else {
                return .failure(Reason("not a list of percentiles in (0, 100] separated by ':'; write e.g. 50:99:99.9"))
            }
            out.append(v)
        }
        guard out.count <= 20 else { return .failure(Reason("fio takes at most 20 percentiles")) }
        return .success(out)
    }

    /// The read part of a `read,write,trim` value (`bs=4k,64k`, `rate_iops=500,100`):
    /// iobench only reads. Nil when the read part is empty (`rate_iops=,100`).
    static func readPart(_ text: String) -> String? {
        let first = text.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false)[0]
            .trimmingCharacters(in: .whitespaces)
        return first.isEmpty ? nil : first
    }

    /// Why a value did not parse, without its place.
    struct Reason: Error {
        var text: String
        init(_ text: String) { self.text = text }
    }
}

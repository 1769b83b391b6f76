import Foundation

/// Human units for the text report: fixed, short, unambiguous.
public enum Fmt {
    public static func latency(_ ns: Double) -> String {
        if ns < 1_000 { return String(format: "%.0fns", ns) }
        if ns < 10_000 { return String(format: "%.2fµs", ns / 1e3) }
        if ns < 1_000_000 { return String(format: "%.1fµs", ns / 1e3) }
        if ns < 10_000_000 { return String(format: "%.2fms", ns / 1e6) }
        if ns < 1_000_000_000 { return String(format: "%.1fms", ns / 1e6) }
        return String(format: "%.2fs", ns / 1e9)
    }

    public static func latency(_ ns: UInt64) -> String { latency(Double(ns)) }

    /// Elapsed time for a status line: `10.0 s`.
    public static func seconds(_ ns: UInt64) -> String { String(format: "%.1f s", Double(ns) / 1e9) }

    /// Axis labels: `1µs`, `16µs`, `4ms`, `1s` (at most 3 significant digits, no decimals).
    public static func shortLatency(_ ns: UInt64) -> String {
        if ns < 1_000 { return "\(ns)ns" }
        if ns < 1_000_000 { return "\(ns / 1_000)µs" }
        if ns < 1_000_000_000 { return "\(ns / 1_000_000)ms" }
        return "\(ns / 1_000_000_000)s"
    }

    public static func count(_ v: Double) -> String {
        if v < 10_000 { return String(format: "%.0f", v) }
        if v < 1_000_000 { return String(format: "%.1fk", v / 1e3) }
        return String(format: "%.2fM", v / 1e6)
    }

    public static func pad(_ s: String, _ width: Int, right: Bool = true) -> String {
        let n = s.count
        if n >= width { return s }
        let fill = String(repeating: " ", count: width - n)
        return right ? fill + s : s + fill
    }
}

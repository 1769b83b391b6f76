import Foundation
import IOBenchResults
import IOBenchWorkload

/// The open-loop cases (`--rate-iops`) in every run report: latency at a given rate.
extension ReportContent {
    public static let openLoopHeaders = ["case", "asked/s", "achieved/s", "response p50", "p99", "p99.9", "max",
                                         "service p50", "p99", "issue lag p99", "point"]

    public static let openLoopLegend = "open loop: each read is due at its time on the arrival schedule; response = completion − that intended time (what a caller issuing at this rate waits, stalls included: no coordinated omission), service = completion − submit (a closed loop's latency), issue lag = submit − intended. A saturated point (under 99% of the rate achieved, or arrivals still waiting at the end) is not a valid latency-at-load point."

    /// The cases that ran open-loop.
    public static func openLoopCases(_ cases: [CaseResult]) -> [CaseResult] {
        cases.filter { $0.openLoop != nil && $0.status != .skipped }
    }

    public static func openLoopRows(_ cases: [CaseResult]) -> [[String]] {
        openLoopCases(cases).map { c in
            let o = c.openLoop!
            let r = o.responseTime
            let service: [String] = c.latency.map { l in [50, 99].map { Fmt.latency(l.value(at: $0) ?? 0) } } ?? ["-", "-"]
            let response: [String] = r.count > 0
                ? [50, 99, 99.9].map { Fmt.latency(r.value(at: $0) ?? 0) } + [Fmt.latency(r.maxNs)]
                : ["-", "-", "-", "-"]
            let lag = o.issueLag.count > 0 ? Fmt.latency(o.issueLag.value(at: 99) ?? 0) : "-"
            return [c.label + (c.status == .failed ? " (!)" : ""), Fmt.count(o.askedIOPS), Fmt.count(o.achievedIOPS)]
                + response + service + [lag, o.saturated ? "SATURATED" : "ok"]
        }
    }

    /// One line per saturated point: why it is not a valid latency-at-load point.
    public static func saturationNotes(_ cases: [CaseResult]) -> [String] {
        openLoopCases(cases).compactMap { c in
            guard let o = c.openLoop, o.saturated else { return nil }
            return "saturated: \(c.label): \(o.saturatedReason ?? "the rate was not kept")"
        }
    }
}

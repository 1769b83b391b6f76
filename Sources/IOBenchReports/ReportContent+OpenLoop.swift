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

extension ReportContent {
    /// Open-loop points grouped into curves, one per setting without its rate (and per
    /// `source`: a file, when several are drawn), in first-seen order, each curve's points
    /// in order of the asked rate (a saturated point may achieve less than the one
    /// before it: the line turns back).
    static func curves<T>(_ items: [T], result: (T) -> CaseResult, source: (T) -> String? = { _ in nil }) -> [[T]] {
        var order: [String] = []
        var groups: [String: [T]] = [:]
        for item in items {
            let c = result(item)
            let k = (source(item) ?? "") + "\u{0}" + CaseResult.identity(id: c.config.withoutRate.id, targetKey: c.targetKey)
            if groups[k] == nil { order.append(k) }
            groups[k, default: []].append(item)
        }
        return order.map { k in groups[k]!.sorted { result($0).openLoop!.askedIOPS < result($1).openLoop!.askedIOPS } }
    }

    /// The latency–throughput curve as text: per curve (engine setting, class, target),
    /// one line per load point in order of the asked rate, with its response-time p50 (o),
    /// p99 (●) and p99.9 (+) placed on one shared log axis, so the knee shows in a
    /// terminal as it does in `latency-load.svg`. Empty without open-loop cases.
    public static func curveChart(_ cases: [CaseResult], width: Int = 48) -> [String] {
        let points = openLoopCases(cases).filter { ($0.openLoop?.responseTime.count ?? 0) > 0 }
        guard !points.isEmpty else { return [] }
        func values(_ c: CaseResult) -> [Double] {
            [50, 99, 99.9].map { Double(max(c.openLoop!.responseTime.value(at: $0) ?? 1, 1)) }
        }
        let all = points.flatMap(values)
        let lo = log10(all.min() ?? 1), hi = max(log10(all.max() ?? 10), lo + 1)
        func col(_ ns: Double) -> Int { min(width - 1, max(0, Int(((log10(ns) - lo) / (hi - lo) * Double(width - 1)).rounded()))) }
        let rateWidth = points.map { Fmt.count($0.openLoop!.achievedIOPS).count + 2 }.max() ?? 0
        var lines = ["response time against achieved rate (o p50, ● p99, + p99.9; log axis \(Fmt.latency(pow(10, lo))) … \(Fmt.latency(pow(10, hi))))"]
        for curve in curves(points, result: { $0 }) {
            lines.append((curve[0].targetKey.map { "\($0): " } ?? "") + curve[0].config.withoutRate.label)
            for c in curve {
                let rate = Fmt.count(c.openLoop!.achievedIOPS) + "/s"
                let v = values(c)
                var row = Array(repeating: Character(" "), count: width)
                for i in col(v[0]) ... col(v[2]) { row[i] = "─" }
                row[col(v[0])] = "o"
                row[col(v[2])] = "+"
                row[col(v[1])] = "●"
                let pad = String(repeating: " ", count: rateWidth - rate.count)
                lines.append("  \(pad)\(rate) │\(String(row))│ p99 \(Fmt.latency(v[1]))" + (c.openLoop!.saturated ? "  SATURATED" : ""))
            }
        }
        return lines
    }
}

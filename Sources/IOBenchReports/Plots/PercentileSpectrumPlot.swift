import Foundation
import IOBenchResults
import IOBenchHistogram

/// Latency against percentile, one line per case, on HdrHistogram's "nines" axis: x is
/// log10(1 / (1 − p)), so 0%, 90%, 99%, 99.9%, 99.99% and 99.999% are equally spaced and
/// the tail gets as much room as the median. y is latency on a log scale. The points are
/// the `.hgrm` percentile walk of each case's histogram (5 ticks per half distance), and
/// each line ends at the case's largest read, at the percentile one read below 100%.
public enum PercentileSpectrumPlot {
    public static let title = "Latency by percentile"

    /// x position (in nines) of percentile `p` (0 ... 100).
    public static func nines(_ p: Double) -> Double {
        p >= 100 ? .infinity : log10(100 / (100 - p))
    }

    /// The points of one case: (nines, latency ns).
    package static func points(_ c: CaseResult) -> [(Double, Double)] {
        guard let h = c.histogram?.live, h.count > 0 else { return [] }
        let maxNs = Double(c.latency?.maxNs ?? h.max)
        let end = log10(Double(h.count))
        var pts: [(Double, Double)] = []
        for row in HgrmReport.rows(h.histogram, ticksPerHalfDistance: 5) where row.level < 100 {
            let x = nines(row.level)
            guard x < end else { break }
            pts.append((x, min(Double(row.value), maxNs)))
        }
        pts.append((end, maxNs))
        return pts
    }

    public static func render(_ set: PlotSet, standalone: Bool = true) -> String {
        let series = set.cases.map { ($0, points($0.result)) }.filter { !$0.1.isEmpty }
        guard !series.isEmpty else {
            return PlotFrame.empty(title: title, message: "No case has timed reads to plot: every case was skipped, failed before measuring, or ran with --no-latency.", standalone: standalone)
        }
        let legendWidth = PlotLegend.width(set.cases)
        let frame = PlotFrame(left: 78, top: 62, width: 700, height: max(380, Double(series.count) * 17 + 20))
        var svg = SVGCanvas(width: frame.right + 30 + legendWidth + 16, height: frame.bottom + 62)
        let maxCount = series.map { $0.0.result.latency?.count ?? 1 }.max() ?? 1
        // Up to the nines the largest case reaches, at least 99.9%, at most 99.9999%.
        let xMax = min(6, max(3, ceil(log10(Double(max(maxCount, 1))) - 1e-9)))
        let values = series.flatMap { $0.1.map(\.1) }
        let y = PlotAxis.logTicks(low: values.min() ?? 1, high: values.max() ?? 10)
        func px(_ n: Double) -> Double { frame.left + min(n, xMax) / xMax * frame.width }
        func py(_ ns: Double) -> Double {
            let l = log10(max(ns, 1))
            return frame.bottom - (l - y.lo) / (y.hi - y.lo) * frame.height
        }

        PlotFrame.heading(&svg, title: title,
                          subtitle: "Each line is one case: the latency that this share of its reads did not exceed. Log scales; further right is rarer.")
        // Grid and axes.
        svg.open("g", [("class", "grid"), ("stroke", "#e3e3e3")])
        for v in y.minor { svg.line(frame.left, py(v), frame.right, py(v), stroke: "#f0f0f0") }
        for v in y.major { svg.line(frame.left, py(v), frame.right, py(v)) }
        for k in 0 ... Int(xMax) { svg.line(px(Double(k)), frame.top, px(Double(k)), frame.bottom) }
        svg.close("g")
        svg.open("g", [("class", "axis"), ("fill", "#222222")])
        let labelMinor = y.hi - y.lo <= 3
        for v in y.major { svg.text(PlotAxis.latencyLabel(v), x: frame.left - 8, y: py(v) + 4, anchor: .end, size: 11) }
        if labelMinor {
            for v in y.minor { svg.text(PlotAxis.latencyLabel(v), x: frame.left - 8, y: py(v) + 4, anchor: .end, size: 10, fill: "#666666") }
        }
        for k in 0 ... Int(xMax) {
            svg.text(tickLabel(k), x: px(Double(k)), y: frame.bottom + 18, anchor: .middle, size: 11)
        }
        svg.text("percentile (nines scale: 90% → 99% → 99.9% equally spaced)", x: frame.left + frame.width / 2, y: frame.bottom + 40, anchor: .middle, size: 12)
        svg.text("latency (log scale)", x: 18, y: frame.top + frame.height / 2, anchor: .middle, size: 12, rotate: -90)
        svg.close("g")
        svg.rect(frame.left, frame.top, frame.width, frame.height, fill: "none", extra: [("stroke", "#888888")])

        svg.open("g", [("class", "series-group"), ("fill", "none"), ("stroke-width", "2"), ("stroke-linejoin", "round")])
        for (c, pts) in series {
            var a: [(String, String)] = [("class", "series")] + c.dataAttributes
            a += [("stroke", c.style.color), ("d", SVGCanvas.pathData(pts.map { (px($0.0), py($0.1)) }))]
            if !c.style.dash.isEmpty { a.append(("stroke-dasharray", c.style.dash)) }
            svg.open("path", a)
            svg.element("title", [], text: "\(c.label): p50 \(Fmt.latency(c.result.latency?.value(at: 50) ?? 0)), p99 \(Fmt.latency(c.result.latency?.value(at: 99) ?? 0)), max \(Fmt.latency(c.result.latency?.maxNs ?? 0))")
            svg.close("path")
        }
        svg.close("g")
        PlotLegend.draw(series.map(\.0), on: &svg, x: frame.right + 30, y: frame.top, title: "case")
        svg.text("Each line ends at its case's largest read: with N reads there is no percentile beyond 1 − 1/N.",
                 x: frame.left, y: frame.bottom + 58, size: 10.5, fill: "#555555")
        return svg.render(title: title, description: "Percentile spectrum of \(series.count) cases", standalone: standalone)
    }

    /// `0%`, `90%`, `99%`, `99.9%`, ... for k nines.
    package static func tickLabel(_ k: Int) -> String {
        switch k {
        case 0: return "0%"
        case 1: return "90%"
        case 2: return "99%"
        default: return "99." + String(repeating: "9", count: k - 2) + "%"
        }
    }
}

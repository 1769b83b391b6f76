import Foundation
import IOBenchResults

/// The latency–throughput curve ("hockey stick") of the open-loop cases: response time
/// (completion − intended issue time) against achieved IOPS, one colour per curve (the
/// same engine setting, class, target and source at several rates), p99 solid, p50
/// dashed, p99.9 dotted. Saturated points get a red ring: not valid latency-at-load points.
public enum LatencyLoadPlot {
    public static let title = "Latency at a given rate"

    /// One curve: its label and its points, in order of the asked rate.
    struct Curve {
        var label: String
        var color: String
        var points: [PlotCase]
    }

    static func curves(_ set: PlotSet) -> [Curve] {
        let points = set.cases.filter { $0.result.openLoop != nil }
        return ReportContent.curves(points, result: \.result, source: \.source).enumerated().map { i, pts in
            let label = (pts[0].source.map { "\($0) · " } ?? "") + (pts[0].result.targetKey.map { "\($0): " } ?? "")
                + pts[0].result.config.withoutRate.label
            return Curve(label: label, color: OkabeIto.series[i % OkabeIto.series.count], points: pts)
        }
    }

    public static func applies(_ set: PlotSet) -> Bool { !curves(set).isEmpty }

    static let percentiles: [(p: Double, dash: String, name: String)] = [(99, "", "p99"), (50, "6 4", "p50"), (99.9, "2 3", "p99.9")]

    public static func render(_ set: PlotSet, standalone: Bool = true) -> String {
        let curves = curves(set)
        guard !curves.isEmpty else {
            return PlotFrame.empty(title: title, message: "No open-loop case: run with --rate-iops or --load for this plot.", standalone: standalone)
        }
        let legendWidth = max(180, (curves.map { PlotAxis.textWidth($0.label, size: 11.5) }.max() ?? 0) + 40)
        let frame = PlotFrame(left: 78, top: 62, width: 700, height: 380)
        var svg = SVGCanvas(width: frame.right + 30 + legendWidth + 16, height: frame.bottom + 76)
        func value(_ c: PlotCase, _ p: Double) -> Double { Double(c.result.openLoop!.responseTime.value(at: p) ?? 0) }
        let all = curves.flatMap(\.points)
        let xMaxRaw = all.map { $0.result.openLoop!.achievedIOPS }.max() ?? 1
        let xTicks = PlotAxis.linearTicks(high: max(xMaxRaw, 1))
        let xMax = xTicks.last ?? max(xMaxRaw, 1)
        let values = all.flatMap { c in percentiles.map { value(c, $0.p) } }.filter { $0 > 0 }
        let y = PlotAxis.logTicks(low: values.min() ?? 1, high: values.max() ?? 10)
        func px(_ v: Double) -> Double { frame.left + v / xMax * frame.width }
        func py(_ ns: Double) -> Double { frame.bottom - (log10(max(ns, 1)) - y.lo) / (y.hi - y.lo) * frame.height }

        PlotFrame.heading(&svg, title: title,
                          subtitle: "Response time (completion − intended issue time) against the achieved rate. Solid p99, dashed p50, dotted p99.9; a red ring: saturated.")
        svg.open("g", [("class", "grid"), ("stroke", "#e3e3e3")])
        for v in y.minor { svg.line(frame.left, py(v), frame.right, py(v), stroke: "#f0f0f0") }
        for v in y.major { svg.line(frame.left, py(v), frame.right, py(v)) }
        for v in xTicks { svg.line(px(v), frame.top, px(v), frame.bottom) }
        svg.close("g")
        svg.open("g", [("class", "axis"), ("fill", "#222222")])
        for v in y.major { svg.text(PlotAxis.latencyLabel(v), x: frame.left - 8, y: py(v) + 4, anchor: .end, size: 11) }
        if y.hi - y.lo <= 3 {
            for v in y.minor { svg.text(PlotAxis.latencyLabel(v), x: frame.left - 8, y: py(v) + 4, anchor: .end, size: 10, fill: "#666666") }
        }
        for v in xTicks { svg.text(PlotAxis.countLabel(v), x: px(v), y: frame.bottom + 18, anchor: .middle, size: 11) }
        svg.text("achieved IOPS (reads per second)", x: frame.left + frame.width / 2, y: frame.bottom + 40, anchor: .middle, size: 12)
        svg.text("response time (log scale)", x: 18, y: frame.top + frame.height / 2, anchor: .middle, size: 12, rotate: -90)
        svg.close("g")
        svg.rect(frame.left, frame.top, frame.width, frame.height, fill: "none", extra: [("stroke", "#888888")])

        for curve in curves {
            svg.open("g", [("class", "curve"), ("data-curve", curve.label)])
            for (p, dash, name) in percentiles {
                let pts = curve.points.map { (px($0.result.openLoop!.achievedIOPS), py(value($0, p))) }
                var a: [(String, String)] = [("class", "series"), ("data-percentile", name), ("d", SVGCanvas.pathData(pts)),
                                             ("fill", "none"), ("stroke", curve.color), ("stroke-width", p == 99 ? "2.2" : "1.4")]
                if !dash.isEmpty { a.append(("stroke-dasharray", dash)) }
                svg.open("path", a)
                svg.element("title", [], text: "\(curve.label) \(name): " + curve.points.map {
                    "\(Fmt.count($0.result.openLoop!.achievedIOPS))/s \(Fmt.latency(value($0, p)))"
                }.joined(separator: ", "))
                svg.close("path")
            }
            for c in curve.points {
                let o = c.result.openLoop!
                let x = px(o.achievedIOPS), yy = py(value(c, 99))
                svg.element("circle", [("class", "point")] + c.dataAttributes + [("data-saturated", o.saturated ? "true" : "false"),
                            ("cx", SVGCanvas.num(x)), ("cy", SVGCanvas.num(yy)), ("r", "3.5"), ("fill", curve.color),
                            ("stroke", "#ffffff"), ("stroke-width", "0.8")])
                if o.saturated {
                    svg.element("circle", [("class", "saturated"), ("cx", SVGCanvas.num(x)), ("cy", SVGCanvas.num(yy)), ("r", "8"),
                                           ("fill", "none"), ("stroke", OkabeIto.vermillion), ("stroke-width", "1.8")])
                }
            }
            svg.close("g")
        }
        // Legend: a row per curve, then the percentile dashes and the saturation ring.
        var yy = frame.top
        let lx = frame.right + 30
        svg.open("g", [("class", "legend")])
        svg.text("curve", x: lx, y: yy + 11, size: 12, weight: "bold")
        yy += 19
        for curve in curves {
            svg.line(lx, yy + 7, lx + 26, yy + 7, stroke: curve.color, width: 2.5)
            svg.text(curve.label, x: lx + 32, y: yy + 11, size: 11.5)
            yy += 17
        }
        yy += 8
        for (_, dash, name) in percentiles {
            svg.line(lx, yy + 7, lx + 26, yy + 7, stroke: "#444444", width: 1.6, dash: dash)
            svg.text(name, x: lx + 32, y: yy + 11, size: 11.5)
            yy += 17
        }
        svg.element("circle", [("cx", SVGCanvas.num(lx + 13)), ("cy", SVGCanvas.num(yy + 7)), ("r", "7"), ("fill", "none"),
                               ("stroke", OkabeIto.vermillion), ("stroke-width", "1.8")])
        svg.text("saturated (not a valid point)", x: lx + 32, y: yy + 11, size: 11.5)
        svg.close("g")
        svg.text("A point is one open-loop case. Saturated: under 99% of the asked rate achieved, or arrivals still waiting at the end.",
                 x: frame.left, y: frame.bottom + 58, size: 10.5, fill: "#555555")
        return svg.render(title: title, description: "Latency against load for \(curves.count) curve\(curves.count == 1 ? "" : "s")", standalone: standalone)
    }
}

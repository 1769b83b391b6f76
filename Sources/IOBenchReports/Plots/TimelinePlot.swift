import Foundation

/// Reads completed in each whole second of the measured phase, one line per case
/// (`timeline_iops`). With `--repeat`, a case's repeats follow one another on the axis.
/// A point sits in the middle of its second; the partial last second is not counted.
public enum TimelinePlot {
    public static let title = "IOPS over time"

    public static func render(_ set: PlotSet, standalone: Bool = true) -> String {
        let series = set.cases.filter { !$0.result.timelineIOPS.isEmpty }
        guard !series.isEmpty else {
            return PlotFrame.empty(title: title,
                                   message: "No case ran a whole second, so there is no timeline; run with --runtime 2s or longer.",
                                   standalone: standalone)
        }
        let legendWidth = PlotLegend.width(series)
        let frame = PlotFrame(left: 78, top: 62, width: 700, height: max(320, Double(series.count) * 17 + 20))
        var svg = SVGCanvas(width: frame.right + 30 + legendWidth + 16, height: frame.bottom + 62)
        let seconds = Double(series.map(\.result.timelineIOPS.count).max() ?? 1)
        let peak = Double(series.flatMap(\.result.timelineIOPS).max() ?? 1)
        let yTicks = PlotAxis.linearTicks(high: max(peak, 1))
        let yMax = yTicks.last ?? max(peak, 1)
        let xTicks = PlotAxis.linearTicks(high: seconds, count: min(10, Int(seconds))).filter { $0 == $0.rounded() }
        func px(_ s: Double) -> Double { frame.left + s / seconds * frame.width }
        func py(_ v: Double) -> Double { frame.bottom - v / yMax * frame.height }

        let repeats = series.contains { ($0.result.repeats?.count ?? 0) > 1 }
        PlotFrame.heading(&svg, title: title,
                          subtitle: "Reads completed in each whole second of the measured phase" + (repeats ? "; a case's repeats follow one another." : "."))
        svg.open("g", [("class", "grid"), ("stroke", "#e3e3e3")])
        for v in yTicks { svg.line(frame.left, py(v), frame.right, py(v)) }
        for s in xTicks { svg.line(px(s), frame.top, px(s), frame.bottom) }
        svg.close("g")
        svg.open("g", [("class", "axis"), ("fill", "#222222")])
        for v in yTicks { svg.text(PlotAxis.countLabel(v), x: frame.left - 8, y: py(v) + 4, anchor: .end, size: 11) }
        for s in xTicks { svg.text(PlotAxis.trimmed(s) + "s", x: px(s), y: frame.bottom + 18, anchor: .middle, size: 11) }
        svg.text("time in the measured phase (seconds)", x: frame.left + frame.width / 2, y: frame.bottom + 40, anchor: .middle, size: 12)
        svg.text("IOPS (reads per second)", x: 18, y: frame.top + frame.height / 2, anchor: .middle, size: 12, rotate: -90)
        svg.close("g")
        svg.rect(frame.left, frame.top, frame.width, frame.height, fill: "none", extra: [("stroke", "#888888")])

        for c in series {
            let pts = c.result.timelineIOPS.enumerated().map { (px(Double($0.offset) + 0.5), py(Double($0.element))) }
            svg.open("g", [("class", "series-marks")])
            var a: [(String, String)] = [("class", "series")] + c.dataAttributes
            a += [("d", SVGCanvas.pathData(pts)), ("fill", "none"), ("stroke", c.style.color), ("stroke-width", "2"), ("stroke-linejoin", "round")]
            if !c.style.dash.isEmpty { a.append(("stroke-dasharray", c.style.dash)) }
            svg.open("path", a)
            svg.element("title", [], text: "\(c.label): " + c.result.timelineIOPS.map { Fmt.count(Double($0)) }.joined(separator: ", ") + " IOPS")
            svg.close("path")
            for p in pts {
                svg.element("circle", [("cx", SVGCanvas.num(p.0)), ("cy", SVGCanvas.num(p.1)), ("r", "3.5"), ("fill", c.style.color),
                                       ("stroke", "#ffffff"), ("stroke-width", "0.8")])
            }
            svg.close("g")
        }
        PlotLegend.draw(series, on: &svg, x: frame.right + 30, y: frame.top, title: "case", marker: true)
        var notes: [String] = []
        let missing = set.cases.count - series.count
        if missing > 0 { notes.append("\(missing) case\(missing == 1 ? "" : "s") ran less than a whole second and have no points.") }
        if series.contains(where: \.result.timelineTruncated) { notes.append("Some timelines were truncated (the run outlasted their capacity).") }
        if seconds <= 2 { notes.append("Runs of \(Int(seconds)) whole second\(seconds == 1 ? "" : "s"): use a longer --runtime for a timeline.") }
        if !notes.isEmpty {
            svg.text(notes.joined(separator: " "), x: frame.left, y: frame.bottom + 58, size: 10.5, fill: "#555555")
        }
        return svg.render(title: title, description: "IOPS timeline of \(series.count) cases", standalone: standalone)
    }
}

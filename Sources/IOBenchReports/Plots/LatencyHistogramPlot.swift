import Foundation
import IOBenchResults
import IOBenchHistogram

/// Where each case's reads fell, on a log latency axis shared by all cases: one row per
/// case (a ridgeline), ten buckets per decade, each bucket's height its share of the
/// case's reads, every row scaled to its own tallest bucket so that narrow and wide
/// distributions are both readable. Ticks mark p50 and p99. The counts come from the
/// case's HdrHistogram (the one the jobs recorded, or the V2 string a result file held),
/// so nothing is resampled.
public enum LatencyHistogramPlot {
    public static let title = "Latency histogram"
    /// Buckets per decade of latency.
    public static let bucketsPerDecade = 10

    /// Bucket index k covers [10^(k/10), 10^((k+1)/10)) ns. Returns index → reads.
    package static func buckets(_ c: CaseResult) -> [Int: UInt64] {
        guard let h = c.histogram?.live, h.count > 0 else { return [:] }
        var out: [Int: UInt64] = [:]
        for v in h.histogram.recordedValues() where v.count > 0 {
            let mid = Double(h.histogram.medianEquivalentForValue(v.value))
            let k = Int(floor(log10(max(mid, 1)) * Double(bucketsPerDecade) + 1e-9))
            out[k, default: 0] &+= UInt64(v.count)
        }
        return out
    }

    public static func render(_ set: PlotSet, standalone: Bool = true) -> String {
        let series = set.cases.map { ($0, buckets($0.result)) }.filter { !$0.1.isEmpty }
        guard !series.isEmpty else {
            return PlotFrame.empty(title: title, message: "No case has timed reads to plot: every case was skipped, failed before measuring, or ran with --no-latency.", standalone: standalone)
        }
        let rowHeight = 34.0
        let labelWidth = (series.map { PlotAxis.textWidth($0.0.label, size: 11.5) }.max() ?? 100) + 36
        let frame = PlotFrame(left: 16 + labelWidth, top: 78, width: 700, height: rowHeight * Double(series.count))
        var svg = SVGCanvas(width: frame.right + 110, height: frame.bottom + 66)
        let kMin = series.flatMap { $0.1.keys }.min()!, kMax = series.flatMap { $0.1.keys }.max()!
        let d = Double(bucketsPerDecade)
        let axis = PlotAxis.logTicks(low: pow(10, Double(kMin) / d), high: pow(10, Double(kMax + 1) / d))
        func px(_ logValue: Double) -> Double { frame.left + (logValue - axis.lo) / (axis.hi - axis.lo) * frame.width }
        func pxNs(_ ns: Double) -> Double { px(log10(max(ns, 1))) }

        PlotFrame.heading(&svg, title: title,
                          subtitle: "Share of each case's reads per latency bucket (10 per decade, log scale); each row is scaled to its tallest bucket.")
        // Key for the p50 / p99 marks.
        svg.line(16, 58, 16, 70, stroke: "#000000", width: 1.5)
        svg.text("p50", x: 21, y: 68, size: 11)
        svg.line(52, 58, 52, 70, stroke: "#000000", width: 1.5, dash: "2 2")
        svg.text("p99", x: 57, y: 68, size: 11)
        svg.text("peak: the tallest bucket's share of the case's reads", x: frame.right + 100, y: 68, anchor: .end, size: 10.5, fill: "#444444")

        svg.open("g", [("class", "grid"), ("stroke", "#e3e3e3")])
        for v in axis.minor { svg.line(pxNs(v), frame.top, pxNs(v), frame.bottom, stroke: "#f2f2f2") }
        for v in axis.major { svg.line(pxNs(v), frame.top, pxNs(v), frame.bottom) }
        svg.close("g")

        for (i, (c, counts)) in series.enumerated() {
            let base = frame.top + rowHeight * Double(i + 1) - 3
            let total = counts.values.reduce(0.0) { $0 + Double($1) }
            let peak = Double(counts.values.max() ?? 1)
            let scale = (rowHeight - 8) / peak
            // A step outline: for each bucket from the first to the last, a flat top.
            let ks = counts.keys.sorted()
            var pts: [(Double, Double)] = [(px(Double(ks.first!) / d), base)]
            for k in ks.first! ... ks.last! {
                let h = Double(counts[k] ?? 0) * scale
                pts.append((px(Double(k) / d), base - h))
                pts.append((px(Double(k + 1) / d), base - h))
            }
            pts.append((px(Double(ks.last! + 1) / d), base))
            if i % 2 == 1 { svg.rect(frame.left, base - rowHeight + 3, frame.width, rowHeight, fill: "#000000", extra: [("fill-opacity", "0.025")]) }
            svg.line(frame.left, base, frame.right, base, stroke: "#bbbbbb")
            svg.rect(16, base - 17, 10, 10, fill: c.style.color)
            svg.text(c.label, x: 32, y: base - 8, size: 11.5)
            var a: [(String, String)] = [("class", "series")] + c.dataAttributes
            a += [("d", SVGCanvas.pathData(pts) + " Z"), ("fill", c.style.color), ("fill-opacity", "0.35"),
                  ("stroke", c.style.color), ("stroke-width", "1.5"), ("stroke-linejoin", "round")]
            svg.open("path", a)
            svg.element("title", [], text: "\(c.label): \(Fmt.count(total)) reads; tallest bucket \(String(format: "%.1f", peak / total * 100))%")
            svg.close("path")
            if let l = c.result.latency {
                if let p50 = l.value(at: 50) { svg.line(pxNs(Double(p50)), base - rowHeight + 6, pxNs(Double(p50)), base, stroke: "#000000", width: 1.5) }
                if let p99 = l.value(at: 99) { svg.line(pxNs(Double(p99)), base - rowHeight + 6, pxNs(Double(p99)), base, stroke: "#000000", width: 1.5, dash: "2 2") }
            }
            svg.text("peak " + String(format: "%.0f%%", peak / total * 100), x: frame.right + 8, y: base - 8, size: 11, fill: "#333333")
        }
        svg.rect(frame.left, frame.top, frame.width, frame.height, fill: "none", extra: [("stroke", "#888888")])
        svg.open("g", [("class", "axis"), ("fill", "#222222")])
        for v in axis.major { svg.text(PlotAxis.latencyLabel(v), x: pxNs(v), y: frame.bottom + 17, anchor: .middle, size: 11) }
        if axis.hi - axis.lo <= 3 {
            for v in axis.minor { svg.text(PlotAxis.latencyLabel(v), x: pxNs(v), y: frame.bottom + 17, anchor: .middle, size: 10, fill: "#666666") }
        }
        svg.text("latency (log scale)", x: frame.left + frame.width / 2, y: frame.bottom + 40, anchor: .middle, size: 12)
        svg.close("g")
        return svg.render(title: title, description: "Latency histograms of \(series.count) cases", standalone: standalone)
    }
}

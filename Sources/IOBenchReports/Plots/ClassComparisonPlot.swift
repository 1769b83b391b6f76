import Foundation
import IOBenchWorkload
import IOBenchResults

/// What each kernel path costs: for every engine setting that ran path classes, one bar
/// per class, in two panels: CPU time per read (user + system of the job threads) and
/// p99 latency. Bars of one class share a colour across settings.
public enum ClassComparisonPlot {
    public static let title = "Path classes: CPU time per read and p99 latency"

    public static let classColors: [PathClass: String] = [
        .simple: OkabeIto.blue, .singleExtent: OkabeIto.orange, .multiExtent: OkabeIto.bluishGreen,
        .unwritten: OkabeIto.reddishPurple, .raw: OkabeIto.vermillion,
    ]

    struct Group {
        var name: String
        var bars: [PlotCase]
    }

    /// Settings in order of first appearance (engine, queue depth, jobs, options, file),
    /// each with its classes in the order simple, single-extent, multi-extent, unwritten, raw.
    static func groups(_ set: PlotSet) -> [Group] {
        var settings: [String] = []
        var sources: [String] = []
        var byKey: [String: Group] = [:]
        for c in set.cases where c.result.config.pathClass != nil && c.result.cpu != nil {
            // The same setting on two targets of one run is two groups, as in two files.
            let setting = c.result.config.settingID, source = (c.source ?? "") + "\u{0}" + (c.result.targetKey ?? "")
            if !settings.contains(setting) { settings.append(setting) }
            if !sources.contains(source) { sources.append(source) }
            let key = setting + "\u{0}" + source
            var name = c.result.config.settingLabel
            if let k = c.result.targetKey, !k.isEmpty { name = k + ": " + name }
            if let src = c.source { name = src + " · " + name }
            if byKey[key] == nil { byKey[key] = Group(name: name, bars: []) }
            byKey[key]!.bars.append(c)
        }
        // The same setting of every file side by side, settings in order of first appearance.
        var out: [Group] = []
        for setting in settings {
            for source in sources {
                guard var g = byKey[setting + "\u{0}" + source] else { continue }
                g.bars.sort {
                    let a = PathClass.allCases.firstIndex(of: $0.result.config.pathClass!)!, b = PathClass.allCases.firstIndex(of: $1.result.config.pathClass!)!
                    return a != b ? a < b : $0.result.config.blockSize < $1.result.config.blockSize
                }
                out.append(g)
            }
        }
        return out
    }

    /// True when the set has cases with a path class to plot.
    public static func applies(_ set: PlotSet) -> Bool { !groups(set).isEmpty }

    enum Metric {
        case cpu, p99
        var heading: String {
            switch self {
            case .cpu: return "CPU time per read (µs, user + system)"
            case .p99: return "p99 latency"
            }
        }
        var key: String { self == .cpu ? "cpu" : "p99" }
        /// CPU in µs; p99 in ns.
        func value(_ c: CaseResult) -> Double {
            switch self {
            case .cpu: return (c.cpu?.perIONs ?? 0) / 1000
            case .p99: return Double(c.latency?.value(at: 99) ?? 0)
            }
        }
        var pairedMetric: PairedDelta.Metric { self == .cpu ? .cpuPerIO : .p99 }
        /// The 95% t interval of the metric's mean over the case's rounds (µs for CPU,
        /// ns for p99), or nil with fewer than two rounds.
        func roundInterval(_ c: CaseResult) -> (low: Double, high: Double)? {
            let values = ClassComparison.roundValues(pairedMetric, c).values.map { self == .cpu ? $0 / 1000 : $0 }
            guard let iv = ClassComparison.interval(Array(values), level: ClassComparison.defaultLevel) else { return nil }
            return (iv.low, iv.high)
        }
        func label(_ v: Double) -> String {
            switch self {
            case .cpu: return v >= 100 ? String(format: "%.0f", v) : String(format: "%.1f", v)
            case .p99: return Fmt.latency(v)
            }
        }
        func axisLabel(_ v: Double) -> String {
            self == .cpu ? (v == 0 ? "0" : PlotAxis.trimmed(v) + "µs") : PlotAxis.latencyLabel(v)
        }
    }

    public static func render(_ set: PlotSet, standalone: Bool = true) -> String {
        let groups = groups(set)
        guard !groups.isEmpty else {
            return PlotFrame.empty(title: title, message: "No case had a path class (run --class, or the default run).", standalone: standalone)
        }
        let classes = PathClass.allCases.filter { p in groups.contains { $0.bars.contains { $0.result.config.pathClass == p } } }
        let barWidth = 38.0, barGap = 5.0, groupGap = 34.0
        let groupWidths = groups.map { Double($0.bars.count) * (barWidth + barGap) - barGap }
        let nameWidths = groups.map { PlotAxis.textWidth($0.name, size: 11.5) }
        let slots = zip(groupWidths, nameWidths).map { max($0, $1) }
        let plotWidth = max(420, slots.reduce(0, +) + groupGap * Double(groups.count + 1))
        let panelHeight = 230.0
        let left = 78.0
        let comparisons = deltaRows(set)
        let forestHeight = comparisons.isEmpty ? 0 : 70 + Double(comparisons.count) * 20
        var svg = SVGCanvas(width: max(left + plotWidth + 30, 900), height: 90 + 2 * (panelHeight + 98) + forestHeight)
        PlotFrame.heading(&svg, title: title,
                          subtitle: "One bar per path class and block size for each engine setting; whiskers: 95% interval over the rounds. Lower is better.")
        // Legend: the classes.
        var lx = 16.0
        svg.open("g", [("class", "legend")])
        for p in classes {
            svg.rect(lx, 56, 12, 12, fill: classColors[p]!)
            svg.text(p.rawValue, x: lx + 17, y: 66.5, size: 11.5)
            lx += 17 + PlotAxis.textWidth(p.rawValue, size: 11.5) + 22
        }
        svg.close("g")

        for (pi, metric) in [Metric.cpu, .p99].enumerated() {
            let frame = PlotFrame(left: left, top: 100 + Double(pi) * (panelHeight + 98), width: plotWidth, height: panelHeight)
            let peak = groups.flatMap { $0.bars.map { max(metric.value($0.result), metric.roundInterval($0.result)?.high ?? 0) } }.max() ?? 1
            let ticks = PlotAxis.linearTicks(high: max(peak, 1e-9))
            let yMax = ticks.last ?? peak
            func py(_ v: Double) -> Double { frame.bottom - v / yMax * frame.height }
            svg.text(metric.heading, x: frame.left, y: frame.top - 10, size: 13, weight: "bold")
            svg.open("g", [("class", "grid"), ("stroke", "#e3e3e3")])
            for t in ticks { svg.line(frame.left, py(t), frame.right, py(t)) }
            svg.close("g")
            for t in ticks { svg.text(metric.axisLabel(t), x: frame.left - 8, y: py(t) + 4, anchor: .end, size: 11) }
            var x = frame.left + groupGap
            for (gi, g) in groups.enumerated() {
                let start = x + (slots[gi] - groupWidths[gi]) / 2
                for (bi, c) in g.bars.enumerated() {
                    let v = metric.value(c.result)
                    let bx = start + Double(bi) * (barWidth + barGap)
                    if metric == .p99 && (c.result.latency?.count ?? 0) == 0 {
                        // Peak mode: no read was timed, so there is no p99 to draw.
                        svg.text("n/a", x: bx + barWidth / 2, y: frame.bottom - 4, anchor: .middle, size: 9.5, fill: "#666666")
                        continue
                    }
                    let cls = c.result.config.pathClass!
                    svg.open("rect", [("class", "bar"), ("data-metric", metric.key)] + c.dataAttributes + [
                        ("x", SVGCanvas.num(bx)), ("y", SVGCanvas.num(py(v))), ("width", SVGCanvas.num(barWidth)),
                        ("height", SVGCanvas.num(max(frame.bottom - py(v), 0))), ("fill", classColors[cls]!),
                    ])
                    svg.element("title", [], text: "\(c.label): \(metric.label(v))\(metric == .cpu ? " µs" : "")")
                    svg.close("rect")
                    var labelY = py(v) - 4
                    if let iv = metric.roundInterval(c.result) {
                        // The whisker: the 95% interval of the mean over the rounds.
                        let mx = bx + barWidth / 2, lo = py(max(iv.low, 0)), hi = py(iv.high)
                        svg.open("g", [("class", "whisker"), ("data-metric", metric.key), ("stroke", "#222222")] + c.dataAttributes)
                        svg.line(mx, lo, mx, hi)
                        svg.line(mx - 5, lo, mx + 5, lo)
                        svg.line(mx - 5, hi, mx + 5, hi)
                        svg.close("g")
                        labelY = min(labelY, hi - 4)
                    }
                    svg.text(metric.label(v), x: bx + barWidth / 2, y: labelY, anchor: .middle, size: 9.5, fill: "#222222")
                    // The block size under each bar: classes are compared at equal bs only.
                    svg.text(Units.formatSize(UInt64(c.result.config.blockSize)), x: bx + barWidth / 2, y: frame.bottom + 13,
                             anchor: .middle, size: 10, fill: "#444444")
                }
                svg.text(g.name, x: x + slots[gi] / 2, y: frame.bottom + 30, anchor: .middle, size: 11.5)
                x += slots[gi] + groupGap
            }
            svg.line(frame.left, frame.bottom, frame.right, frame.bottom, stroke: "#888888")
            svg.line(frame.left, frame.top, frame.left, frame.bottom, stroke: "#888888")
        }
        if !comparisons.isEmpty {
            drawDeltas(&svg, comparisons, top: 100 + 2 * (panelHeight + 98) - 10, width: max(left + plotWidth + 30, 900))
        }
        return svg.render(title: title, description: "CPU time per read and p99 latency by path class and engine, with the paired Δ against each class's reference", standalone: standalone)
    }

    /// Every comparison that has paired Δs, labelled with its setting and reference.
    static func deltaRows(_ set: PlotSet) -> [(label: String, cmp: ClassComparison, attrs: [(String, String)])] {
        var bySource: [String: [CaseResult]] = [:]
        var sourceOrder: [String] = []
        var plotCase: [String: PlotCase] = [:]
        for c in set.cases where c.result.config.pathClass != nil {
            let src = c.source ?? ""
            if bySource[src] == nil { sourceOrder.append(src) }
            bySource[src, default: []].append(c.result)
            plotCase[src + "\u{0}" + c.result.identity] = c
        }
        var out: [(String, ClassComparison, [(String, String)])] = []
        for src in sourceOrder {
            for cmp in ClassComparison.compute(bySource[src]!) where !cmp.deltas.isEmpty {
                guard let pc = plotCase[src + "\u{0}" + cmp.caseIdentity] else { continue }
                let name = (src.isEmpty ? "" : src + " · ") + pc.label + " vs " + cmp.referenceName
                out.append((name, cmp, pc.dataAttributes))
            }
        }
        return out
    }

    /// The paired Δs as a forest plot: one row per comparison, the estimate as a dot and
    /// the 95% interval as a line, against a zero line, for CPU per read and p99.
    static func drawDeltas(_ svg: inout SVGCanvas, _ rows: [(label: String, cmp: ClassComparison, attrs: [(String, String)])], top: Double, width: Double) {
        let labelWidth = min(max(rows.map { PlotAxis.textWidth($0.label, size: 10.5) }.max() ?? 200, 200), width * 0.45)
        let panelWidth = (width - labelWidth - 60) / 2
        svg.text("Paired Δ against the reference (dot: mean over rounds; line: 95% interval; n.d. when it crosses 0)",
                 x: 16, y: top + 14, size: 13, weight: "bold")
        let rowTop = top + 50
        for (i, r) in rows.enumerated() {
            svg.text(r.label, x: 16, y: rowTop + Double(i) * 20 + 4, size: 10.5)
        }
        for (pi, metric) in [Metric.cpu, .p99].enumerated() {
            let x0 = 16 + labelWidth + 20 + Double(pi) * (panelWidth + 20)
            let values: [(Double, Double, Double)?] = rows.map { r in
                guard let d = r.cmp.delta(metric.pairedMetric) else { return nil }
                let f: (Double) -> Double = metric == .cpu ? { $0 / 1000 } : { $0 }
                return (f(d.estimate), f(d.low ?? d.estimate), f(d.high ?? d.estimate))
            }
            let extent = values.compactMap { $0 }.flatMap { [abs($0.1), abs($0.2)] }.max() ?? 1
            let span = max(extent, 1e-9) * 1.1
            func px(_ v: Double) -> Double { x0 + (v + span) / (2 * span) * panelWidth }
            svg.text((metric == .cpu ? "Δ CPU time per read (µs)" : "Δ p99 latency") + " (±\(metric.axisLabel(span / 1.1)))",
                     x: x0 + panelWidth / 2, y: top + 34, anchor: .middle, size: 11, weight: "bold")
            let bottom = rowTop + Double(rows.count - 1) * 20 + 10
            svg.line(px(0), rowTop - 10, px(0), bottom, stroke: "#888888")
            for (i, v) in values.enumerated() {
                guard let (est, lo, hi) = v else { continue }
                let y = rowTop + Double(i) * 20
                let d = rows[i].cmp.delta(metric.pairedMetric)!
                let colour = d.finding == .noDifference || d.finding == .noInterval ? "#888888" : (d.finding == .higher ? OkabeIto.vermillion : OkabeIto.blue)
                svg.open("g", [("class", "delta"), ("data-metric", metric.key), ("data-finding", d.finding.rawValue)] + rows[i].attrs)
                svg.line(px(lo), y, px(hi), y, stroke: colour)
                svg.element("circle", [("cx", SVGCanvas.num(px(est))), ("cy", SVGCanvas.num(y)), ("r", "3.5"), ("fill", colour)])
                let text = metric == .cpu ? ReportContent.deltaText(d) { String(format: "%.2f", $0 / 1000) } : ReportContent.deltaText(d) { Fmt.latency($0) }
                svg.element("title", [], text: "\(rows[i].label): \(text)")
                svg.close("g")
            }
        }
    }
}

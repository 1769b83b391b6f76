import Foundation

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
            var s = c.result.config
            s.pathClass = nil
            s.blockSize = 0
            // The same setting on two targets of one run is two groups, as in two files.
            let setting = CaseResult.makeID(s), source = (c.source ?? "") + "\u{0}" + (c.result.targetKey ?? "")
            if !settings.contains(setting) { settings.append(setting) }
            if !sources.contains(source) { sources.append(source) }
            let key = setting + "\u{0}" + source
            var name = "\(s.engine.rawValue) QD\(s.queueDepth)" + (s.jobs > 1 ? " x\(s.jobs)" : "")
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
                g.bars.sort { PathClass.allCases.firstIndex(of: $0.result.config.pathClass!)! < PathClass.allCases.firstIndex(of: $1.result.config.pathClass!)! }
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
        var svg = SVGCanvas(width: left + plotWidth + 30, height: 90 + 2 * (panelHeight + 84))
        PlotFrame.heading(&svg, title: title,
                          subtitle: "One bar per path class for each engine setting; lower is better in both panels.")
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
            let frame = PlotFrame(left: left, top: 100 + Double(pi) * (panelHeight + 84), width: plotWidth, height: panelHeight)
            let peak = groups.flatMap { $0.bars.map { metric.value($0.result) } }.max() ?? 1
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
                    svg.text(metric.label(v), x: bx + barWidth / 2, y: py(v) - 4, anchor: .middle, size: 9.5, fill: "#222222")
                }
                svg.text(g.name, x: x + slots[gi] / 2, y: frame.bottom + 18, anchor: .middle, size: 11.5)
                x += slots[gi] + groupGap
            }
            svg.line(frame.left, frame.bottom, frame.right, frame.bottom, stroke: "#888888")
            svg.line(frame.left, frame.top, frame.left, frame.bottom, stroke: "#888888")
        }
        return svg.render(title: title, description: "CPU time per read and p99 latency by path class and engine", standalone: standalone)
    }
}

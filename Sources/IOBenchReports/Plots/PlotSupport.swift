import Foundation
import IOBenchResults
import IOBenchWorkload

/// The Okabe–Ito palette (Okabe & Ito, "Color Universal Design", 2008): eight colours that
/// stay distinct under the common forms of colour blindness. Yellow is left out of line
/// series (too faint on white); series beyond seven also differ by dash pattern.
public enum OkabeIto {
    public static let black = "#000000"
    public static let orange = "#E69F00"
    public static let skyBlue = "#56B4E9"
    public static let bluishGreen = "#009E73"
    public static let yellow = "#F0E442"
    public static let blue = "#0072B2"
    public static let vermillion = "#D55E00"
    public static let reddishPurple = "#CC79A7"

    /// Line colours in the order series get them.
    public static let series = [blue, vermillion, bluishGreen, reddishPurple, orange, skyBlue, black]
}

/// How one series is drawn: a colour and a dash pattern (empty: solid).
public struct SeriesStyle: Equatable, Sendable {
    public var color: String
    public var dash: String

    public static let dashes = ["", "7 4", "2 3", "9 3 2 3", "4 2"]
}

/// One case as the plots show it: its result, a label unique among the plotted cases,
/// the file it came from when several files are plotted, and its line style.
public struct PlotCase: Sendable {
    public var result: CaseResult
    /// The case's identity, the `data-case` attribute: its id
    /// (`io_uring-randread-bs4k-qd32-j1`), prefixed `KEY/` when its target has a key
    /// (a run of several targets), so the same id on two targets is two series.
    public var id: String { result.identity }
    public var label: String
    /// The file or host the case came from; nil when a single file is plotted.
    public var source: String?
    public var style: SeriesStyle

    /// The attributes that name a series in the SVG: `data-case`, and `data-source` when
    /// several files are plotted.
    var dataAttributes: [(String, String)] {
        var a = [("data-case", id)]
        if let source { a.append(("data-source", source)) }
        return a
    }
}

/// The cases of one or more run results, ready to plot: those that ran (not skipped, at
/// least one measured read), each with a unique label and style.
public struct PlotSet: Sendable {
    public var cases: [PlotCase]
    /// Cases of the inputs that were skipped or measured nothing, for the captions.
    public var notPlotted: [PlotCase]

    public init(_ runs: [(name: String, result: RunResult)]) {
        let names = PlotSet.sourceNames(runs)
        var ran: [PlotCase] = []
        var other: [PlotCase] = []
        for (i, run) in runs.enumerated() {
            for c in run.result.cases {
                let source = runs.count > 1 ? names[i] : nil
                let label = source.map { "\($0) · \(c.label)" } ?? c.label
                let pc = PlotCase(result: c, label: label, source: source, style: SeriesStyle(color: OkabeIto.black, dash: ""))
                if c.status != .skipped && c.ios > 0 && c.latency != nil { ran.append(pc) } else { other.append(pc) }
            }
        }
        if runs.count > 1 {
            // The same case of every file side by side (in the legend, the histogram rows).
            var firstSeen: [String: Int] = [:]
            for c in ran where firstSeen[c.id] == nil { firstSeen[c.id] = firstSeen.count }
            ran = ran.enumerated().sorted { (firstSeen[$0.element.id]!, $0.offset) < (firstSeen[$1.element.id]!, $1.offset) }.map(\.element)
        }
        PlotSet.assignStyles(&ran, sources: runs.count)
        cases = ran
        notPlotted = other
    }

    /// Names for the files: their hosts when those tell them apart, else the file names,
    /// else the paths as given.
    static func sourceNames(_ runs: [(name: String, result: RunResult)]) -> [String] {
        let hosts = runs.map(\.result.environment.hostname)
        if Set(hosts).count == runs.count { return hosts }
        let files = runs.map { ($0.name as NSString).lastPathComponent }
        if Set(files).count == runs.count { return files }
        return runs.enumerated().map { "\($0.offset + 1):\($0.element.name)" }
    }

    /// Colour by what differs most visibly: for one file, the engine setting gets the
    /// colour and the path class the dash (all io_uring QD32 lines share a colour); for
    /// several files, the case gets the colour and the file the dash. When that cannot keep
    /// every series distinct, series take colours in turn, then dashes (with several files,
    /// a case keeps its colour across files and the file changes the dash).
    static func assignStyles(_ cases: inout [PlotCase], sources: Int) {
        func settingKey(_ c: CaseResult) -> String {
            var s = c.config
            s.pathClass = nil
            s.blockSize = 0
            return s.id
        }
        func classIndex(_ c: CaseResult) -> Int {
            guard let p = c.config.pathClass else { return 0 }
            return 1 + (PathClass.allCases.firstIndex(of: p) ?? 0)
        }
        var colourKeys: [String] = []
        var dashKeys: [String] = []
        var pairs: [(Int, Int)] = []
        for c in cases {
            let ck = sources > 1 ? c.id : settingKey(c.result)
            // One file of several targets: the target joins the class in the dash.
            let dk = sources > 1 ? (c.source ?? "") : (c.result.targetKey ?? "") + "/" + String(classIndex(c.result))
            if !colourKeys.contains(ck) { colourKeys.append(ck) }
            if !dashKeys.contains(dk) { dashKeys.append(dk) }
            pairs.append((colourKeys.firstIndex(of: ck)!, dashKeys.firstIndex(of: dk)!))
        }
        let unique = Set(pairs.map { "\($0.0)/\($0.1)" }).count == pairs.count
        let fits = colourKeys.count <= OkabeIto.series.count && dashKeys.count <= SeriesStyle.dashes.count
        let n = OkabeIto.series.count, nd = SeriesStyle.dashes.count
        for i in cases.indices {
            var (c, d) = unique && fits ? pairs[i] : (i % n, (i / n) % nd)
            if !(unique && fits) && sources > 1 && dashKeys.count <= nd {
                // Many cases in several files: a case keeps one colour in every file where
                // it can; the file (and every further seven cases) shifts the dash.
                let (ci, si) = pairs[i]
                (c, d) = (ci % n, (si + (ci / n) * dashKeys.count) % nd)
            }
            cases[i].style = SeriesStyle(color: OkabeIto.series[c], dash: SeriesStyle.dashes[d])
        }
    }
}

/// Axis arithmetic and labels shared by the plots.
enum PlotAxis {
    /// Nice linear ticks from 0 (or `low`) to at least `high`: steps of 1, 2 or 5 × 10^k,
    /// about `count` of them.
    static func linearTicks(low: Double = 0, high: Double, count: Int = 5) -> [Double] {
        let span = max(high - low, 1e-12)
        let rough = span / Double(max(count, 1))
        let mag = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= rough } ?? 10 * mag
        var ticks: [Double] = []
        var v = (low / step).rounded(.down) * step
        while v < high + step * 0.999 && ticks.count < 50 {
            ticks.append(v)
            if v >= high { break }
            v += step
        }
        return ticks
    }

    /// Decade ticks of a log axis between two values (each rounded out to a decade), and
    /// the 2× and 5× ticks when the range is short enough to label them.
    static func logTicks(low: Double, high: Double) -> (lo: Double, hi: Double, major: [Double], minor: [Double]) {
        let lo = floor(log10(max(low, 1)))
        var hi = ceil(log10(max(high, 1)))
        if hi <= lo { hi = lo + 1 }
        var major: [Double] = []
        var minor: [Double] = []
        var e = lo
        while e <= hi {
            major.append(pow(10, e))
            if e < hi { minor += [2 * pow(10, e), 5 * pow(10, e)] }
            e += 1
        }
        return (lo, hi, major, minor)
    }

    /// `1µs`, `20µs`, `500µs`, `2ms`, `1.5s` — a latency axis label.
    static func latencyLabel(_ ns: Double) -> String {
        if ns == 0 { return "0" }
        let (v, unit): (Double, String) = ns < 1_000 ? (ns, "ns") : ns < 1e6 ? (ns / 1e3, "µs") : ns < 1e9 ? (ns / 1e6, "ms") : (ns / 1e9, "s")
        return trimmed(v) + unit
    }

    /// `20k`, `1.5M`, `750` — a count axis label.
    static func countLabel(_ v: Double) -> String {
        if v >= 1e6 { return trimmed(v / 1e6) + "M" }
        if v >= 1e3 { return trimmed(v / 1e3) + "k" }
        return trimmed(v)
    }

    static func trimmed(_ v: Double) -> String {
        guard v.isFinite, abs(v) < 1e15 else { return String(format: "%.3g", v) }
        if abs(v - v.rounded()) < 1e-9 { return String(Int(v.rounded())) }
        var s = String(format: "%.2f", v)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }

    /// Width in pixels of text at a font size, estimated for DejaVu/Liberation Sans
    /// (about 0.6 em per character), for laying out labels and legends.
    static func textWidth(_ s: String, size: Double = 12) -> Double {
        Double(s.count) * size * 0.6
    }
}

/// The legend: a line sample in each series' colour and dash, then its label, one per
/// row, from (x, y) downwards. Returns the height used.
enum PlotLegend {
    @discardableResult
    static func draw(_ cases: [PlotCase], on svg: inout SVGCanvas, x: Double, y: Double, title: String? = nil,
                     rowHeight: Double = 17, marker: Bool = false) -> Double {
        var yy = y
        svg.open("g", [("class", "legend")])
        if let title {
            svg.text(title, x: x, y: yy + 11, size: 12, weight: "bold")
            yy += rowHeight + 2
        }
        for c in cases {
            svg.open("g", [("class", "legend-entry")] + c.dataAttributes)
            svg.line(x, yy + 7, x + 26, yy + 7, stroke: c.style.color, width: 2.5, dash: c.style.dash)
            if marker {
                svg.element("circle", [("cx", SVGCanvas.num(x + 13)), ("cy", SVGCanvas.num(yy + 7)), ("r", "3"), ("fill", c.style.color)])
            }
            svg.text(c.label, x: x + 32, y: yy + 11, size: 11.5)
            svg.close("g")
            yy += rowHeight
        }
        svg.close("g")
        return yy - y
    }

    static func width(_ cases: [PlotCase], title: String? = nil) -> Double {
        let widest = cases.map { PlotAxis.textWidth($0.label, size: 11.5) }.max() ?? 0
        return max(widest + 40, title.map { PlotAxis.textWidth($0) + 10 } ?? 0)
    }
}

/// The frame every plot shares: a title, a subtitle, axis titles, a plot area.
struct PlotFrame {
    var left: Double
    var top: Double
    var width: Double
    var height: Double
    var right: Double { left + width }
    var bottom: Double { top + height }

    static func heading(_ svg: inout SVGCanvas, title: String, subtitle: String?) {
        svg.text(title, x: 16, y: 24, size: 16, weight: "bold")
        if let subtitle { svg.text(subtitle, x: 16, y: 43, size: 12, fill: "#444444") }
    }

    /// An empty plot with a message in place of the data.
    static func empty(title: String, message: String, standalone: Bool) -> String {
        var svg = SVGCanvas(width: max(760, PlotAxis.textWidth(message, size: 13) + 40), height: 140)
        heading(&svg, title: title, subtitle: nil)
        svg.text(message, x: 16, y: 80, size: 13, fill: "#444444")
        return svg.render(title: title, description: message, standalone: standalone)
    }
}

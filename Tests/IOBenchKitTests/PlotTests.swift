import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import IOBenchKit
@testable import IOBenchPlatform
@testable import IOBenchHistogram
@testable import IOBenchEngines
@testable import IOBenchWorkload
@testable import IOBenchMeasurement
@testable import IOBenchResults
@testable import IOBenchReports

/// The plots and the HTML report on synthetic results: every SVG parses as XML and holds
/// one series per case that ran; the HTML names no external asset and shows every case.
final class PlotTests: XCTestCase {
    /// A case of `n` reads around `latencyNs` with a long tail, `seconds` of timeline.
    func makeCase(_ engine: EngineKind, qd: Int, bs: Int = 4096, pathClass: PathClass? = nil, latencyNs: Double,
                  seed: UInt64, n: Int = 20_000, seconds: Int = 5) -> CaseResult {
        var spec = CaseSpec(engine: engine)
        spec.queueDepth = qd
        spec.blockSize = bs
        spec.pathClass = pathClass
        var o = JobOutcome()
        var rng = Xoshiro256StarStar(seed: seed)
        for i in 0 ..< n {
            let jitter = 0.8 + 0.4 * Double(rng.uniform(below: 1000)) / 1000
            let tail = i % 500 == 0 ? 20.0 : (i % 50 == 0 ? 4.0 : 1.0)
            o.histogram.record(UInt64(latencyNs * jitter * tail))
        }
        o.ios = UInt64(n)
        o.elapsedNs = UInt64(seconds) * 1_000_000_000
        o.usage.systemNs = UInt64(n) * UInt64(latencyNs / 20)
        o.usage.userNs = UInt64(n) * 2000
        o.timeline = (0 ..< seconds).map { UInt64(n / seconds) + UInt64($0 * 37 % 200) }
        return CaseResult(spec: spec, outcomes: [o])
    }

    func makeResult(host: String = "test-host") -> RunResult {
        var cases = [
            makeCase(.psync, qd: 1, latencyNs: 60_000, seed: 1),
            makeCase(.ioUring, qd: 32, latencyNs: 400_000, seed: 2),
            makeCase(.psync, qd: 1, pathClass: .simple, latencyNs: 62_000, seed: 3),
            makeCase(.psync, qd: 1, bs: 8192, pathClass: .multiExtent, latencyNs: 70_000, seed: 4),
            makeCase(.ioUring, qd: 32, pathClass: .simple, latencyNs: 350_000, seed: 5),
            makeCase(.ioUring, qd: 32, bs: 8192, pathClass: .multiExtent, latencyNs: 500_000, seed: 6),
        ]
        // Text that must be escaped, in a label.
        cases[1].label = "io_uring <QD32> & \"friends\""
        var skipped = CaseResult(spec: CaseSpec(engine: .ioUringPoll), status: .skipped, reason: "io_poll is 0 <no poll queues>")
        skipped.config.queueDepth = 32
        cases.append(skipped)
        var env = EnvironmentInfo.current()
        env.hostname = host
        var r = RunResult(startedAt: "2026-11-26T00:00:00Z", environment: env, target: nil,
                          arguments: ["iobench", "--dir", "/tmp/x y"], cases: cases)
        r.tool.version = IOBenchVersion.string
        return r
    }

    var ranIDs: [String] { makeResult().cases.filter { $0.status == .ok }.map(\.id) }

    /// Parses as XML (well-formed or it throws) and returns the document.
    func parse(_ svg: String, file: StaticString = #filePath, line: UInt = #line) throws -> XMLDocument {
        do {
            return try XMLDocument(data: Data(svg.utf8), options: [])
        } catch {
            XCTFail("not well-formed XML: \(error)\n\(svg.prefix(2000))", file: file, line: line)
            throw error
        }
    }

    /// An attribute's value. (swift-corelibs-foundation's `attribute(forName:)` finds
    /// nothing on an element in the SVG namespace, so the attributes are searched.)
    func attr(_ node: XMLNode, _ name: String) -> String? {
        (node as? XMLElement)?.attributes?.first { $0.name == name }?.stringValue
    }

    /// `data-case` of every element with class `series` (or `bar`).
    func seriesIDs(_ doc: XMLDocument, cls: String = "series") throws -> [String] {
        try doc.nodes(forXPath: "//*[@class='\(cls)']").compactMap { attr($0, "data-case") }
    }

    func testEverySVGIsWellFormedWithOneSeriesPerCase() throws {
        let set = PlotSet([("r.json", makeResult())])
        XCTAssertEqual(set.cases.count, 6, "the skipped case is not plotted")
        for (name, svg) in [("spectrum", PercentileSpectrumPlot.render(set)), ("histogram", LatencyHistogramPlot.render(set)),
                            ("timeline", TimelinePlot.render(set))] {
            let doc = try parse(svg)
            XCTAssertEqual(doc.rootElement()?.name, "svg", name)
            let ids = try seriesIDs(doc)
            XCTAssertEqual(ids.sorted(), ranIDs.sorted(), "\(name): one series per case that ran")
            XCTAssertTrue(svg.contains("io_uring &lt;QD32&gt; &amp; &quot;friends&quot;"), "\(name): labels escaped")
            XCTAssertFalse(svg.contains("io_uring-poll"), "\(name): skipped case not drawn")
            // A legend (or row label) names every case.
            for c in set.cases where !c.label.contains("<") { XCTAssertTrue(svg.contains(c.label), "\(name) names \(c.label)") }
        }
    }

    func testSeriesStylesAreDistinctAndColourBlindSafe() {
        let set = PlotSet([("r.json", makeResult())])
        let styles = set.cases.map { "\($0.style.color) \($0.style.dash)" }
        XCTAssertEqual(Set(styles).count, styles.count, "every series drawn differently")
        XCTAssertTrue(set.cases.allSatisfy { OkabeIto.series.contains($0.style.color) })
        // One file: colour by engine setting, dash by class.
        let psync = set.cases.filter { $0.result.config.engine == .psync }
        XCTAssertEqual(Set(psync.map(\.style.color)).count, 1)
    }

    func testSpectrumAxisIsTheNinesScale() throws {
        XCTAssertEqual(PercentileSpectrumPlot.nines(0), 0, accuracy: 1e-12)
        XCTAssertEqual(PercentileSpectrumPlot.nines(90), 1, accuracy: 1e-12)
        XCTAssertEqual(PercentileSpectrumPlot.nines(99), 2, accuracy: 1e-12)
        XCTAssertEqual(PercentileSpectrumPlot.nines(99.9), 3, accuracy: 1e-9)
        XCTAssertEqual(PercentileSpectrumPlot.tickLabel(5), "99.999%")
        let svg = PercentileSpectrumPlot.render(PlotSet([("r.json", makeResult())]))
        for tick in ["0%", "90%", "99%", "99.9%", "99.99%"] { XCTAssertTrue(svg.contains(">\(tick)</text>"), tick) }
        // Points rise with the percentile: latency never falls along a line.
        let c = makeResult().cases[0]
        let pts = PercentileSpectrumPlot.points(c)
        XCTAssertGreaterThan(pts.count, 20)
        XCTAssertEqual(pts.last?.1, Double(c.latency!.maxNs), "the line ends at the largest read")
        XCTAssertEqual(pts.last?.0 ?? 0, log10(20_000), accuracy: 1e-9)
        for (a, b) in zip(pts, pts.dropFirst()) { XCTAssertLessThanOrEqual(a.1, b.1); XCTAssertLessThanOrEqual(a.0, b.0) }
    }

    func testHistogramBucketsHoldEveryRead() {
        let c = makeResult().cases[1]
        let buckets = LatencyHistogramPlot.buckets(c)
        XCTAssertEqual(buckets.values.reduce(0, +), c.latency?.count)
        // 400 µs × 0.8…1.2 lands in the buckets from 10^5.5 to 10^5.7 ns.
        let peak = buckets.max { $0.value < $1.value }!.key
        XCTAssertTrue((55 ... 57).contains(peak), "peak bucket \(peak)")
    }

    func testClassPlotHasABarPerClassCaseAndMetric() throws {
        let set = PlotSet([("r.json", makeResult())])
        XCTAssertTrue(ClassComparisonPlot.applies(set))
        let doc = try parse(ClassComparisonPlot.render(set))
        let bars = try seriesIDs(doc, cls: "bar")
        let classIDs = makeResult().cases.filter { $0.config.pathClass != nil }.map(\.id)
        XCTAssertEqual(bars.sorted(), (classIDs + classIDs).sorted(), "CPU and p99 bar for each class case")
        // Without classes there is no class plot.
        var plain = makeResult()
        plain.cases.removeAll { $0.config.pathClass != nil }
        XCTAssertFalse(ClassComparisonPlot.applies(PlotSet([("p.json", plain)])))
        XCTAssertEqual(PlotFiles.svgs([("p.json", plain)]).map(\.file), ["spectrum.svg", "histogram.svg", "timeline.svg"])
        XCTAssertEqual(PlotFiles.svgs([("r.json", makeResult())]).map(\.file), ["spectrum.svg", "histogram.svg", "timeline.svg", "classes.svg"])
    }

    func testSeveralFilesAreLabelledByHost() throws {
        let set = PlotSet([("a.json", makeResult(host: "kernel-a")), ("b.json", makeResult(host: "kernel-b"))])
        XCTAssertEqual(set.cases.count, 12)
        let doc = try parse(PercentileSpectrumPlot.render(set))
        let series = try doc.nodes(forXPath: "//*[@class='series']")
        XCTAssertEqual(series.count, 12)
        XCTAssertEqual(Set(series.compactMap { attr($0, "data-source") }), ["kernel-a", "kernel-b"])
        XCTAssertTrue(set.cases.contains { $0.label == "kernel-b · psync 4k QD1" })
        XCTAssertEqual(Set(set.cases.map { "\($0.style.color) \($0.style.dash)" }).count, 12)
    }

    func testEmptySetStillRendersAWellFormedSVG() throws {
        var r = makeResult()
        r.cases = [r.cases.last!]   // only the skipped case
        let set = PlotSet([("r.json", r)])
        for svg in [PercentileSpectrumPlot.render(set), LatencyHistogramPlot.render(set), TimelinePlot.render(set), ClassComparisonPlot.render(set)] {
            let doc = try parse(svg)
            XCTAssertEqual(try seriesIDs(doc), [])
        }
    }

    func testHTMLIsSelfContainedAndShowsEveryCase() throws {
        let r = makeResult()
        let html = HTMLReport.render([.run(name: "r.json", result: r)])
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        for forbidden in ["http://", "https://", "<script", "<link", "src=", "url(", "@import"] {
            XCTAssertFalse(html.contains(forbidden), "external asset or script: \(forbidden)")
        }
        for c in r.cases { XCTAssertTrue(html.contains(c.id), "case id \(c.id)") }
        XCTAssertTrue(html.contains(SVGCanvas.escape(r.cases[1].label)))
        XCTAssertFalse(html.contains("<QD32>"), "labels are escaped")
        XCTAssertTrue(html.contains(r.environment.kernel))
        XCTAssertTrue(html.contains("iobench --dir &#39;/tmp/x y&#39;"), "arguments as a command line")
        XCTAssertTrue(html.contains("io_poll is 0 &lt;no poll queues&gt;"), "skip reason shown")
        XCTAssertEqual(html.components(separatedBy: "<svg ").count - 1, 4, "four inline plots")
        XCTAssertTrue(html.contains("Path classes"))
        // Inline SVG and all: the page's markup is balanced XML apart from the doctype.
        let body = html.replacingOccurrences(of: "<!DOCTYPE html>\n", with: "")
            .replacingOccurrences(of: "<meta charset=\"utf-8\">", with: "<meta charset=\"utf-8\"/>")
            .replacingOccurrences(of: "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">", with: "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>")
        _ = try parse(body)
    }

    func testComparisonHighlightsRegressionsAndImprovements() throws {
        let base = makeResult()
        var new = makeResult()
        // psync QD1 twice as slow; io_uring QD32 twice as fast.
        // (The histograms are scaled: the gate reads them, not the printed percentiles.)
        for i in new.cases.indices where new.cases[i].status == .ok {
            let f = new.cases[i].config.engine == .psync ? 2.0 : 0.5
            new.cases[i] = CompareMergeTests.scaled(new.cases[i], by: f)
        }
        let cmp = try Comparator.compare(base: base, new: new, baseName: "base.json", newName: "new.json")
        XCTAssertGreaterThan(cmp.regressions, 0)
        XCTAssertGreaterThan(cmp.improvements, 0)
        // Through JSON, as `iobench report compare.json` reads it.
        let data = try ComparisonReport.json(cmp)
        let dir = NSTemporaryDirectory() + "iobench-plot-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try data.write(to: URL(fileURLWithPath: dir + "/compare.json"))
        guard case .comparison(_, let decoded) = try ReportInput.read(dir + "/compare.json") else { return XCTFail("not read as a comparison") }
        let html = HTMLReport.render([.comparison(name: "compare.json", result: decoded)])
        XCTAssertTrue(html.contains("<tr class=\"regression\""))
        XCTAssertTrue(html.contains("<tr class=\"improvement\""))
        XCTAssertTrue(html.contains("✗ REGRESSION"))
        XCTAssertTrue(html.contains("banner bad"))
        XCTAssertFalse(html.contains("<svg"), "a comparison alone has no plots")
        // Regressions come first.
        let firstRegression = html.range(of: "<tr class=\"regression\"")!.lowerBound
        let firstImprovement = html.range(of: "<tr class=\"improvement\"")!.lowerBound
        XCTAssertLessThan(firstRegression, firstImprovement)
    }

    func testReportInputsAreToldApartAndBadOnesAreExit2() throws {
        let dir = NSTemporaryDirectory() + "iobench-plotin-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ResultWriter.writeJSON(makeResult(), to: dir + "/r.json")
        guard case .run(_, let r) = try ReportInput.read(dir + "/r.json") else { return XCTFail("not read as a run") }
        XCTAssertEqual(r.cases.count, 7)
        try Data("{\"schema\": \"something/else\"}".utf8).write(to: URL(fileURLWithPath: dir + "/other.json"))
        try Data("not json".utf8).write(to: URL(fileURLWithPath: dir + "/bad.json"))
        try Data("{\"schema\": \"iobench/compare\", \"schema_version\": 9}".utf8).write(to: URL(fileURLWithPath: dir + "/v9.json"))
        for bad in ["/other.json", "/bad.json", "/v9.json", "/missing.json"] {
            XCTAssertThrowsError(try ReportInput.read(dir + bad), bad) { error in
                XCTAssertEqual((error as? IOBenchError)?.exitCode, 2, bad)
                XCTAssertTrue((error as? IOBenchError)?.description.contains(dir + bad) ?? false, "names the file: \(error)")
            }
        }
        // A plot directory that cannot be made is bad input, naming the option.
        XCTAssertThrowsError(try PlotFiles.makeDirectory(dir + "/r.json/plots", option: "--plot")) { error in
            XCTAssertEqual((error as? IOBenchError)?.exitCode, 2)
            XCTAssertTrue("\(error)".contains("--plot"), "\(error)")
        }
        // Only the directory itself is created, not its parents (README).
        XCTAssertThrowsError(try PlotFiles.makeDirectory(dir + "/a/b", option: "--plot")) { error in
            XCTAssertEqual((error as? IOBenchError)?.exitCode, 2)
            XCTAssertTrue("\(error)".contains("parent"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/a"), "no parent was created")
        let written = try PlotFiles.write(inputs: [.run(name: "r.json", result: r)], to: dir + "/a", html: true, option: "--plot",
                                          guard: OutputGuard())
        XCTAssertEqual(written.map { ($0 as NSString).lastPathComponent }, ["spectrum.svg", "histogram.svg", "timeline.svg", "classes.svg", "report.html"])
    }

    /// Values no run produces but a file can hold: the report renders them, never traps.
    func testExtremeValuesNeverTrap() throws {
        var r = makeResult()
        for i in r.cases.indices where r.cases[i].status == .ok {
            r.cases[i].iops = i % 2 == 0 ? 1.7e308 : -5
            r.cases[i].bytesPerSecond = 1e300
            r.cases[i].cpu?.perIONs = i % 2 == 0 ? 1e300 : -1
            r.cases[i].latency?.meanNs = -1
            r.cases[i].latency?.maxNs = UInt64.max
            r.cases[i].latency?.percentiles = LatencySummary.reportedPercentiles.map { PercentileValue(percentile: $0, valueNs: UInt64.max - 1) }
            r.cases[i].timelineIOPS = [UInt64.max, 0, UInt64.max / 2]
        }
        // A damaged histogram string is refused when a file is read (ResultDecodingTests);
        // what a file can hold is a histogram at both ends of the range.
        var extremes = LatencyHistogram()
        extremes.record(1)
        extremes.record(LatencyHistogram.highest)
        r.cases[0].histogram = HistogramEncoding(extremes)
        r.cases[1].histogram = nil
        let set = PlotSet([("x.json", r)])
        for svg in [PercentileSpectrumPlot.render(set), LatencyHistogramPlot.render(set), TimelinePlot.render(set), ClassComparisonPlot.render(set)] {
            _ = try parse(svg)
        }
        XCTAssertFalse(HTMLReport.render([.run(name: "x.json", result: r)]).isEmpty)
    }

    func testSVGEscaping() {
        XCTAssertEqual(SVGCanvas.escape("a<b>&\"c'\u{1}\u{7}d\n"), "a&lt;b&gt;&amp;&quot;c&#39;d\n")
        XCTAssertEqual(SVGCanvas.num(-0.001), "0")
        XCTAssertEqual(SVGCanvas.num(12.5), "12.5")
        XCTAssertEqual(SVGCanvas.num(.nan), "0")
    }
}

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

/// `iobench run --plot` and `iobench report` as a person uses them: real results, the files
/// on disk, and the HTML page rendered by headless Chromium into a screenshot.
final class ReportScreenshotTests: XCTestCase {
    var dir: ScratchDirectory!

    override func setUpWithError() throws { dir = try ScratchDirectory() }
    override func tearDown() { dir = nil }

    /// A short real run of three cases with --plot; returns the result path.
    func runWithPlots(_ plotDir: String) throws -> String {
        let out = dir.file("r.json")
        let r = try CLI.run(["run", "--target", dir.file("t.dat"), "--size", "16m", "--engine", "psync,io_uring", "--iodepth", "1,8",
                             "--runtime", "1200ms", "--ramp-time", "0", "--no-progress", "--output", out, "--plot", plotDir])
        XCTAssertEqual(r.status, 0, r.stderr)
        return out
    }

    func seriesCount(_ svgPath: String) throws -> [String] {
        let doc = try XMLDocument(data: try Data(contentsOf: URL(fileURLWithPath: svgPath)), options: [])
        return try doc.nodes(forXPath: "//*[@class='series']").compactMap { node in
            (node as? XMLElement)?.attributes?.first { $0.name == "data-case" }?.stringValue
        }
    }

    func testRunPlotAndReportWriteWellFormedFiles() throws {
        let plots = dir.file("plots")
        let resultPath = try runWithPlots(plots)
        let result = try ResultFile.read(resultPath)
        let ran = result.cases.filter { $0.status == .ok }.map(\.id)
        XCTAssertEqual(ran.count, 3)
        for f in ["spectrum.svg", "histogram.svg", "timeline.svg", "report.html"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: plots + "/" + f), f)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: plots + "/classes.svg"), "no path classes in this run")
        for f in ["spectrum.svg", "histogram.svg"] {
            XCTAssertEqual(try seriesCount(plots + "/" + f).sorted(), ran.sorted(), f)
        }

        // report: the same page from the saved result, to a file and to stdout.
        let page = dir.file("report.html")
        let html = try CLI.run(["report", resultPath, "--format", "html", "--output", page])
        XCTAssertEqual(html.status, 0, html.stderr)
        let text = try String(contentsOfFile: page, encoding: .utf8)
        for id in ran { XCTAssertTrue(text.contains(id), id) }
        XCTAssertFalse(text.contains("http://") || text.contains("https://"), "no external assets")
        let stdout = try CLI.run(["report", resultPath, "--format", "html"])
        XCTAssertEqual(stdout.status, 0)
        XCTAssertTrue(stdout.stdout.hasPrefix("<!DOCTYPE html>"))

        let svgDir = dir.file("svgs")
        let svg = try CLI.run(["report", resultPath, "--format", "svg", "--output", svgDir])
        XCTAssertEqual(svg.status, 0, svg.stderr)
        XCTAssertEqual(try seriesCount(svgDir + "/timeline.svg").sorted(), ran.sorted())

        for format in ["text", "markdown"] {
            let r = try CLI.run(["report", resultPath, "--format", format])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stdout.contains("io_uring 4k QD8"), format)
        }
    }

    func testBadReportInputIsExit2WithOneLine() throws {
        try Data("{}".utf8).write(to: URL(fileURLWithPath: dir.file("empty-object.json")))
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir.file("file")))
        let cases: [([String], String)] = [
            (["report", dir.file("missing.json")], "cannot read"),
            (["report", dir.file("empty-object.json")], "schema"),
            (["report", dir.file("empty-object.json"), "--format", "pdf"], "--format"),
            (["report", dir.file("empty-object.json"), "--format", "svg"], "--output DIR"),
            (["report"], "no input files"),
            (["run", "--target", dir.file("t.dat"), "--size", "4m", "--engine", "psync", "--number-ios", "100",
              "--ramp-time", "0", "--no-progress", "--plot", dir.file("file") + "/plots"], "--plot"),
        ]
        for (args, needle) in cases {
            let r = try CLI.run(args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            // (run also tells on stderr that it created its target)
            let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("iobench: error:") }
            XCTAssertEqual(lines.count, 1, "\(args): one error line: \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(needle), "\(args): \(r.stderr)")
        }
    }

    /// Renders the page in headless Chromium and checks the screenshot is a real picture.
    /// To look at it: IOBENCH_KEEP_SCREENSHOT=/some/dir keeps report.html and shot.png there.
    func testHTMLReportRendersInHeadlessChromium() throws {
        let browser = ["chromium", "chromium-browser"].first { sh("command -v \($0)").status == 0 }
        guard let browser else {
            throw XCTSkip("no chromium or chromium-browser on PATH; install Debian's chromium (scripts/install-deps.sh test) to render the report")
        }
        let keep = ProcessInfo.processInfo.environment["IOBENCH_KEEP_SCREENSHOT"]
        let out = keep ?? dir.path
        if let keep { try FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: true) }
        _ = try runWithPlots(out)
        let shots = [("report.html", "shot.png", "1400,2400", 20_000), ("spectrum.svg", "spectrum.png", "1000,520", 10_000)]
        for (page, png, size, minBytes) in shots {
            let shot = out + "/" + png
            let r = sh("timeout 180 \(browser) --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir='\(dir.path)/chromium-profile' --screenshot='\(shot)' --window-size=\(size) 'file://\(out)/\(page)' 2>&1")
            let bytes = ((try? FileManager.default.attributesOfItem(atPath: shot))?[.size] as? Int) ?? 0
            XCTAssertGreaterThan(bytes, minBytes, "\(page): screenshot of \(bytes) bytes; chromium said: \(r.output.suffix(1500))")
            let head = try Data(contentsOf: URL(fileURLWithPath: shot)).prefix(8)
            XCTAssertEqual(Array(head), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "\(png) is a PNG")
        }
    }
}

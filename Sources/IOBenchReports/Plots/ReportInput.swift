import Foundation
import Glibc
import Synchronization
import IOBenchResults
import IOBenchPlatform
import IOBenchWorkload

/// A file `iobench report` reads: a run result (`iobench/result`) or a comparison
/// (`iobench/compare`), told apart by its `schema` field.
public enum ReportInput: Sendable {
    case run(name: String, result: RunResult)
    case comparison(name: String, result: RunComparison)

    public var name: String {
        switch self {
        case .run(let n, _), .comparison(let n, _): return n
        }
    }

    public static func read(_ path: String) throws(IOBenchError) -> ReportInput {
        let usage = "pass a result of 'iobench run --output FILE' or a comparison of 'iobench compare --format json' (or --output)"
        let data = try InputFile.read(path, usage: usage)
        struct Header: Decodable { var schema: String?; var schema_version: Int? }
        guard let header = try? JSONDecoder().decode(Header.self, from: data) else {
            throw .badInput("\(path) is not JSON (or not a JSON object); \(usage)")
        }
        switch header.schema {
        case RunResult.schemaName?:
            return .run(name: path, result: try RunResult.decode(data, source: path))
        case "iobench/compare"?:
            guard let v = header.schema_version, RunComparison.readableVersions.contains(v) else {
                throw .badInput("\(path) is an iobench comparison of schema version \(header.schema_version.map(String.init) ?? "none"); this iobench reads versions 1 and 2")
            }
            do {
                return .comparison(name: path, result: try JSONDecoder().decode(RunComparison.self, from: data))
            } catch {
                throw .badInput("\(path) is a malformed iobench comparison: \(error)")
            }
        default:
            throw .badInput("\(path) has schema '\(header.schema ?? "none")', not an iobench result or comparison; \(usage)")
        }
    }
}

/// The plots of a report, as files: `spectrum.svg`, `histogram.svg`, `timeline.svg`,
/// `classes.svg` when cases had a path class, and `latency-load.svg` when cases ran
/// open-loop (`--rate-iops`, `--load`).
public enum PlotFiles {
    /// Every file `write` may put in its directory.
    public static let fileNames = ["spectrum.svg", "histogram.svg", "timeline.svg", "classes.svg", "latency-load.svg", "report.html"]

    public static func svgs(_ runs: [(name: String, result: RunResult)]) -> [(file: String, svg: String)] {
        let set = PlotSet(runs)
        var out: [(String, String)] = [
            ("spectrum.svg", PercentileSpectrumPlot.render(set)),
            ("histogram.svg", LatencyHistogramPlot.render(set)),
            ("timeline.svg", TimelinePlot.render(set)),
        ]
        if ClassComparisonPlot.applies(set) { out.append(("classes.svg", ClassComparisonPlot.render(set))) }
        if LatencyLoadPlot.applies(set) { out.append(("latency-load.svg", LatencyLoadPlot.render(set))) }
        return out
    }

    /// Creates `directory` when missing; its parent must exist (README: "DIR is created
    /// when missing; its parent must exist"). `option` names the flag in the error
    /// (`--plot`, `--output`).
    public static func makeDirectory(_ directory: String, option: String) throws(IOBenchError) {
        guard !directory.isEmpty else { throw .badInput("\(option) is empty; name a directory for the plots") }
        var st = stat()
        if stat(directory, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFDIR else {
                throw .badInput("\(option) \(directory) exists and is not a directory; pass a directory for the plots (it is created when missing)")
            }
            return
        }
        let parent = Target.parentDirectory(of: directory.hasSuffix("/") && directory.count > 1 ? String(directory.dropLast()) : directory)
        var pst = stat()
        guard stat(parent, &pst) == 0, (pst.st_mode & S_IFMT) == S_IFDIR else {
            throw .badInput("\(option) \(directory): its parent \(parent) does not exist or is not a directory; create the parent first (only \(directory) itself is created)")
        }
        if Glibc.mkdir(directory, 0o755) != 0 && errno != EEXIST {
            let e = Errno.current
            throw .badInput("\(option) \(directory) cannot be created: \(e); pass a directory you may write")
        }
        createdDirectory.withLock { $0 = directory }
    }

    /// The directory `makeDirectory` created in this process, if any.
    static let createdDirectory = Mutex<String?>(nil)

    /// A command refused after creating its plot directory removes it again while it is
    /// still empty: a refused command leaves nothing behind.
    public static func removeCreatedDirectoryIfEmpty() {
        guard let d = createdDirectory.withLock({ d in defer { d = nil }; return d }) else { return }
        _ = Glibc.rmdir(d)  // fails, harmlessly, when something was written into it
    }

    /// Writes the plots (and `report.html` when `html`) into `directory`, creating it,
    /// each file by the output rule of `g`.
    /// Returns the paths written.
    @discardableResult
    public static func write(inputs: [ReportInput], to directory: String, html: Bool, option: String,
                             guard g: OutputGuard) throws(IOBenchError) -> [String] {
        try makeDirectory(directory, option: option)
        let runs: [(name: String, result: RunResult)] = inputs.compactMap {
            if case .run(let n, let r) = $0 { return (n, r) } else { return nil }
        }
        var written: [String] = []
        let dir = directory.hasSuffix("/") ? directory : directory + "/"
        // Every file is checked before the first is written: all of them or none.
        for file in fileNames { try g.check(dir + file, option: option) }
        if !runs.isEmpty {
            for (file, svg) in svgs(runs) {
                try g.write(Data(svg.utf8), to: dir + file, option: option)
                written.append(dir + file)
            }
        }
        if html {
            try g.write(Data(HTMLReport.render(inputs).utf8), to: dir + "report.html", option: option)
            written.append(dir + "report.html")
        }
        return written
    }
}

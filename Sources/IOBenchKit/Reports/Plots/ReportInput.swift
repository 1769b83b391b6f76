import Foundation
import Glibc

/// A file `iobench report` reads: a run result (`iobench/result`) or a comparison
/// (`iobench/compare`), told apart by its `schema` field.
public enum ReportInput: Sendable {
    case run(name: String, result: RunResult)
    case comparison(name: String, result: ComparisonResult)

    public var name: String {
        switch self {
        case .run(let n, _), .comparison(let n, _): return n
        }
    }

    public static func read(_ path: String) throws(IOBenchError) -> ReportInput {
        let usage = "pass a result of 'iobench run --output FILE' or a comparison of 'iobench compare --format json' (or --output)"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .badInput("cannot read \(path): \(Errno.current); \(usage)")
        }
        guard !data.isEmpty else { throw .badInput("\(path) is empty; \(usage)") }
        struct Header: Decodable { var schema: String?; var schema_version: Int? }
        guard let header = try? JSONDecoder().decode(Header.self, from: data) else {
            throw .badInput("\(path) is not JSON (or not a JSON object); \(usage)")
        }
        switch header.schema {
        case RunResult.schemaName?:
            return .run(name: path, result: try RunResult.decode(data, source: path))
        case "iobench/compare"?:
            guard header.schema_version == 1 else {
                throw .badInput("\(path) is an iobench comparison of schema version \(header.schema_version.map(String.init) ?? "none"); this iobench reads version 1")
            }
            do {
                return .comparison(name: path, result: try JSONDecoder().decode(ComparisonResult.self, from: data))
            } catch {
                throw .badInput("\(path) is a malformed iobench comparison: \(error)")
            }
        default:
            throw .badInput("\(path) has schema '\(header.schema ?? "none")', not an iobench result or comparison; \(usage)")
        }
    }
}

/// The plots of a report, as files: `spectrum.svg`, `histogram.svg`, `timeline.svg`,
/// and `classes.svg` when cases had a path class.
public enum PlotFiles {
    public static func svgs(_ runs: [(name: String, result: RunResult)]) -> [(file: String, svg: String)] {
        let set = PlotSet(runs)
        var out: [(String, String)] = [
            ("spectrum.svg", PercentileSpectrumPlot.render(set)),
            ("histogram.svg", LatencyHistogramPlot.render(set)),
            ("timeline.svg", TimelinePlot.render(set)),
        ]
        if ClassComparisonPlot.applies(set) { out.append(("classes.svg", ClassComparisonPlot.render(set))) }
        return out
    }

    /// Creates `directory` (and its parents) when missing. `option` names the flag in the
    /// error (`--plot`, `--output`).
    public static func makeDirectory(_ directory: String, option: String) throws(IOBenchError) {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDir) {
            guard isDir.boolValue else {
                throw .badInput("\(option) \(directory) is a file, not a directory; pass a directory for the plots")
            }
            return
        }
        // mkdir -p, one level at a time, so the error names the errno of the level that failed.
        var path = directory.hasPrefix("/") ? "" : "."
        for part in directory.split(separator: "/") {
            path += "/" + part
            if Glibc.mkdir(path, 0o755) != 0 && errno != EEXIST {
                let e = Errno.current
                throw .badInput("\(option) \(directory): cannot create \(path): \(e); pass a directory you may write")
            }
        }
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw .badInput("\(option) \(directory): cannot create the directory (a part of the path is a file); pass another directory")
        }
    }

    /// Writes the plots (and `report.html` when `html`) into `directory`, creating it.
    /// Returns the paths written.
    @discardableResult
    public static func write(inputs: [ReportInput], to directory: String, html: Bool, option: String) throws(IOBenchError) -> [String] {
        try makeDirectory(directory, option: option)
        let runs: [(name: String, result: RunResult)] = inputs.compactMap {
            if case .run(let n, let r) = $0 { return (n, r) } else { return nil }
        }
        var written: [String] = []
        let dir = directory.hasSuffix("/") ? directory : directory + "/"
        if !runs.isEmpty {
            for (file, svg) in svgs(runs) {
                try ResultWriter.writeAtomically(Data(svg.utf8), to: dir + file)
                written.append(dir + file)
            }
        }
        if html {
            try ResultWriter.writeAtomically(Data(HTMLReport.render(inputs).utf8), to: dir + "report.html")
            written.append(dir + "report.html")
        }
        return written
    }
}

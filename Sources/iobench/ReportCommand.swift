import ArgumentParser
import Foundation
import IOBenchKit

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render results and comparisons for people: plots (SVG), one self-contained HTML page, Markdown or text.",
        discussion: """
        Reads result files (iobench run --output FILE) and comparison files (iobench compare \
        --format json, or --output), told apart by their schema. The plots: latency by \
        percentile on the nines scale (one line per case), a latency histogram per case on a \
        log axis, the IOPS timeline, and CPU time per read and p99 per path class and engine. \
        With several results, the plots hold the cases of all of them, each labelled with its \
        host (or file). Colours are the Okabe–Ito palette, safe for colour-blind readers.

        Formats:
          text      the text report of each result and comparison (the default)
          markdown  the Markdown report of each result and comparison
          html      one self-contained page: environment, configuration, tables,
                    inline SVG plots, comparisons with regressions highlighted
                    (to stdout, or to --output FILE)
          svg       spectrum.svg, histogram.svg, timeline.svg, classes.svg
                    when cases had a path class, and latency-load.svg when
                    cases ran open-loop, in --output DIR (created)

        Examples:
          iobench report result.json --format html --output report.html
          iobench report result.json --format svg --output plots/
          iobench report base.json new.json cmp.json --format html -o report.html
        """
    )

    @Argument(help: ArgumentHelp("Result or comparison JSON files.", valueName: "file"))
    var files: [String] = []

    @Option(name: .long, help: ArgumentHelp("text, markdown, html or svg (see Formats above).", valueName: "format"))
    var format: ReportFormat = .text

    @Option(name: .shortAndLong, help: ArgumentHelp("Write to this file instead of stdout; for --format svg, the directory for the SVG files (required).", valueName: "path"))
    var output: String?

    @Flag(name: .customLong("force-overwrite"), help: "Let --output (and the files written into an --output directory) replace an existing file that is not an iobench output. Without it such a file is never written.")
    var forceOverwrite = false

    func run() throws {
        guard !files.isEmpty else {
            throw IOBenchError.badInput("no input files; pass one or more results of 'iobench run --output FILE' (or comparisons of 'iobench compare --output FILE'), e.g. iobench report result.json --format html --output report.html")
        }
        if format == .svg && output == nil {
            throw IOBenchError.badInput("--format svg writes several files; name their directory with --output DIR, e.g. --output plots/")
        }
        let outputs = OutputGuard(forceOverwrite: forceOverwrite, protected: files.map { ProtectedFile($0, role: "an input") })
        if let output, format != .svg { try outputs.check(output, option: "--output") }
        let inputs = try files.map { try ReportInput.read($0) }
        let runs = inputs.filter { if case .run = $0 { return true } else { return false } }
        switch format {
        case .svg:
            guard !runs.isEmpty else {
                throw IOBenchError.badInput("the plots need at least one run result; a comparison holds no latencies (pass the results it compared too)")
            }
            let written = try PlotFiles.write(inputs: inputs, to: output!, html: false, option: "--output", guard: outputs)
            for path in written { StandardError.write("iobench: wrote \(path)\n") }
        case .html:
            try emit(HTMLReport.render(inputs), outputs)
        case .text, .markdown:
            let parts = inputs.map { input -> String in
                switch input {
                case .run(_, let r): return format == .markdown ? LabReport.renderMarkdown(r) : LabReport.renderText(r)  // a lab result gets its own parts; any other, the run report
                case .comparison(_, let c): return format == .markdown ? ComparisonReport.markdown(c) : ComparisonReport.text(c)
                }
            }
            try emit(parts.joined(separator: "\n"), outputs)
        }
    }

    /// To --output (atomically) or stdout.
    func emit(_ text: String, _ outputs: OutputGuard) throws {
        if let output {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: output, isDirectory: &isDir), isDir.boolValue {
                throw IOBenchError.badInput("--output \(output) is a directory; name a file, e.g. --output \(output.hasSuffix("/") ? output : output + "/")report.\(format == .html ? "html" : format == .markdown ? "md" : "txt")")
            }
            try outputs.write(Data(text.utf8), to: output, option: "--output")
        } else {
            print(text, terminator: "")
        }
    }
}

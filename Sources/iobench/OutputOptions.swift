import ArgumentParser
import Glibc
import IOBenchKit

/// `run`: the report on stdout and the files written besides it.
struct OutputOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Report format on stdout: text, json, markdown (for a pull request or CI step summary), csv or junit (one test case per case: failed cases fail).", valueName: "format"))
    var format: RunFormat = .text

    @Option(name: .shortAndLong, help: ArgumentHelp("Also write the JSON result to this file.", valueName: "file"), completion: .file())
    var output: String?

    @Option(name: .customLong("hist-log"), help: ArgumentHelp("Write an HdrHistogram interval log (one histogram per --hist-interval per case, tagged with the case id, LABEL/id with several targets) that HistogramLogAnalyzer and hdrh's log reader read.", valueName: "file"),
            completion: .file())
    var histLog: String?

    @Option(name: .customLong("hist-interval"), help: ArgumentHelp("Interval of --hist-log (10ms or more).", valueName: "duration"))
    var histInterval: String = "1s"

    @Option(name: .customLong("hgrm"), help: ArgumentHelp("Write each case's percentile distribution in HdrHistogram's .hgrm text to DIR/<case id>.hgrm (DIR/<label>_<case id>.hgrm with several targets; values in µs). DIR must exist.", valueName: "dir"),
            completion: .directory)
    var hgrmDir: String?

    @Option(name: .customLong("plot"), help: ArgumentHelp("Write the plots (spectrum.svg, histogram.svg, timeline.svg, classes.svg) and a self-contained report.html to DIR, created when missing. 'iobench report' makes the same from a saved result.", valueName: "dir"),
            completion: .directory)
    var plotDir: String?

    @Flag(name: .customLong("force-overwrite"), help: "Replace an existing --target that iobench did not write (and that is too small for --size) with iobench's stamped data; also let --output, --hist-log, --hgrm and --plot replace existing files that are not iobench outputs. Without it such files are never written.")
    var forceOverwrite = false

    @Flag(name: .customLong("no-progress"), help: "No progress line on stderr.")
    var noProgress = false

    @Option(name: .customLong("status-interval"), help: ArgumentHelp("When stderr is not a terminal (a CI log), print a status line there this often while a case runs: the case, elapsed time, IOPS and p99 so far (e.g. 10s). On a terminal the progress line shows instead.", valueName: "duration"))
    var statusInterval: String?

    @Option(name: .customLong("percentiles"), help: ArgumentHelp("The percentiles every report and the JSON list, e.g. 50,90,99,99.9 (default: 1 to 99.999, the tables show 50 to 99.99). The histograms stay whole: 'compare' still gates from them.", valueName: "list"))
    var percentiles: String?

    /// Fills the output half of `request`.
    func apply(to request: inout RunRequest) throws {
        request.outputs.json = output
        request.outputs.histLog = histLog
        // Checked even without --hist-log: a typo is never ignored.
        request.outputs.histIntervalNs = try Units.parseDuration(histInterval, option: "hist-interval")
        request.outputs.hgrmDirectory = hgrmDir
        request.outputs.plotDirectory = plotDir
        request.forceOverwrite = forceOverwrite
        if let statusInterval {
            let ns = try Units.parseDuration(statusInterval, option: "status-interval")
            guard ns >= 100_000_000 else {
                throw IOBenchError.badInput("--status-interval \(statusInterval) is shorter than 100ms; status lines are for logs, e.g. --status-interval 10s")
            }
            request.statusIntervalNs = isatty(2) == 1 && !noProgress ? nil : ns
        }
        // Beside --fio-job, the command line's list wins over the job's percentile_list.
        if let percentiles { request.percentiles = try ReportedPercentiles.parse(percentiles) }
    }
}

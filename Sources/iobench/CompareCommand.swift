import ArgumentParser
import Foundation
import IOBenchKit

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two results and fail (exit 1) only on a regression beyond threshold and noise.",
        discussion: """
        Cases are matched by their id (engine, pattern, bs, iodepth, jobs, options, class). \
        For each, IOPS, mean, p50, p99 and p99.9 latency and CPU time per read are compared. \
        A change is a regression when it goes past its threshold in the worse direction and, \
        when both results have repeats (run --repeat N), every repeat of NEW is worse than \
        every repeat of BASE. Within the spread it is reported as noise.

        Default thresholds: iops=-5% mean=+5% p50=+5% p99=+10% p99.9=+20% cpu=+5%.

        Exit codes: 0 no regression, 1 regression, 2 unreadable or incompatible input.

        Examples:
          iobench compare base.json new.json
          iobench compare base.json new.json --threshold p99=+15% --threshold iops=-10% --format markdown
          iobench compare base.json new.json --format junit --output compare.xml
        """
    )

    @Argument(help: ArgumentHelp("The baseline result (iobench run --format json / --output).", valueName: "base.json"))
    var base: String

    @Argument(help: ArgumentHelp("The result to judge.", valueName: "new.json"))
    var new: String

    @Option(name: .long, help: ArgumentHelp("METRIC=±N%: the worse-direction change allowed (metrics: iops, mean, p50, p99, p99.9, cpu). Repeatable.", valueName: "metric=pct"))
    var threshold: [String] = []

    @Option(name: .long, help: ArgumentHelp("text, markdown, json or junit.", valueName: "format"))
    var format: String = "text"

    @Option(name: .shortAndLong, help: ArgumentHelp("Also write the comparison to this file, in --format (JSON when the format is text).", valueName: "file"))
    var output: String?

    @Flag(name: .customLong("force-overwrite"), help: "Let --output replace an existing file that is not an iobench output. Without it such a file is never written.")
    var forceOverwrite = false

    func run() throws {
        guard ["text", "markdown", "json", "junit"].contains(format) else {
            throw IOBenchError.badInput("--format '\(format)' is not known; use text, markdown, json or junit")
        }
        let thresholds = try threshold.map { try CompareThreshold.parse($0) }
        let outputs = OutputGuard(forceOverwrite: forceOverwrite,
                                  protected: [ProtectedFile(base, role: "the base input"), ProtectedFile(new, role: "the new input")])
        if let output { try outputs.check(output, option: "--output") }
        let b = try ResultFile.read(base)
        let n = try ResultFile.read(new)
        let result = try Comparator.compare(base: b, new: n, baseName: base, newName: new, thresholds: thresholds)
        if let output {
            let data: Data
            switch format {
            case "markdown": data = Data(ComparisonReport.markdown(result).utf8)
            case "junit": data = Data(ComparisonReport.junit(result).utf8)
            default: data = try ComparisonReport.json(result)
            }
            try outputs.write(data, to: output, option: "--output")
        }
        switch format {
        case "json": FileHandle.standardOutput.write(try ComparisonReport.json(result))
        case "markdown": print(ComparisonReport.markdown(result), terminator: "")
        case "junit": print(ComparisonReport.junit(result), terminator: "")
        default: print(ComparisonReport.text(result), terminator: "")
        }
        if result.exitCode != 0 { throw RunExit(code: result.exitCode) }
    }
}

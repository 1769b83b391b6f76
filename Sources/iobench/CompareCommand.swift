import ArgumentParser
import Foundation
import IOBenchKit

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two results; exit 1 only when a change is beyond its threshold with the noise accounted for.",
        discussion: """
        Cases are matched by their id (engine, pattern, bs, iodepth, jobs, options, class) \
        and, for runs of several --target LABEL=PATH, by the label: ext4 with ext4, shown as \
        ext4/ID. A one-target run has no label, so one-target baselines keep matching. \
        For each, IOPS, mean, p50, p99 and p99.9 latency and CPU time per read are judged: \
        the change d = ln(new/base) gets an interval (Welch's t over the repeats; the \
        histogram's binomial order-statistic interval for percentiles; per-second IOPS or \
        nothing with fewer than 3 repeats), every interval at the level that \
        Benjamini-Hochberg at --alpha over all cases x metrics applies. Verdicts: regression \
        (the whole interval beyond the threshold, worse), improved, unchanged (inside \
        +-threshold), unclear (straddles it), not gated (with the reason, e.g. too few reads \
        above p99.9). A case ok in BASE but failed or with errors in NEW is a regression; a \
        case missing from NEW fails the gate unless --allow-missing.

        Default thresholds: iops=-5% mean=+5% p50=+5% p99=+10% p99.9=+20% cpu=+5%. \
        The thresholds must exceed the drift two identical runs show on your machine \
        (docs/ci.md).

        Exit codes: 0 no regression, 1 regression (or a case missing from NEW), 2 unreadable \
        or incompatible input, or nothing to compare.

        Examples:
          iobench compare base.json new.json
          iobench compare base.json new.json --threshold p99=+15% --threshold iops=-10% --format markdown
          iobench compare base.json new.json --format junit --output compare.json > compare.xml
          iobench compare --paired base-rounds.json new-rounds.json
        """
    )

    @Argument(help: ArgumentHelp("The baseline result (iobench run --format json / --output).", valueName: "base.json"))
    var base: String

    @Argument(help: ArgumentHelp("The result to judge.", valueName: "new.json"))
    var new: String

    @Option(name: .long, help: ArgumentHelp("METRIC=±N%: the worse-direction change allowed (metrics: iops, mean, p50, p99, p99.9, cpu). Repeatable.", valueName: "metric=pct"))
    var threshold: [String] = []

    @Option(name: .long, help: ArgumentHelp("The comparison on stdout: text, markdown, json (the iobench/compare document) or junit (one test case per case and metric: a regression, or a case missing from NEW, fails).", valueName: "format"))
    var format: CompareFormat = .text

    @Option(name: .shortAndLong, help: ArgumentHelp("Also write the comparison to this file, always as JSON (iobench/compare v2), whatever --format prints.", valueName: "file"))
    var output: String?

    @Option(name: .long, help: ArgumentHelp("The family's false-alarm level: Benjamini-Hochberg over all cases x metrics (default 0.05).", valueName: "level"))
    var alpha: Double = Comparator.defaultAlpha

    @Flag(name: .customLong("allow-missing"), help: "A case ok in BASE but missing from NEW does not fail the gate.")
    var allowMissing = false

    @Flag(name: .long, help: "Pair repeat i of BASE with repeat i of NEW (rounds run interleaved, e.g. merged from alternating runs) and test the per-round log ratios.")
    var paired = false

    @Flag(name: .customLong("force-overwrite"), help: "Let --output replace an existing file that is not an iobench output. Without it such a file is never written.")
    var forceOverwrite = false

    func run() throws {
        let thresholds = try threshold.map { try CompareThreshold.parse($0) }
        let outputs = OutputGuard(forceOverwrite: forceOverwrite,
                                  protected: [ProtectedFile(base, role: "the base input"), ProtectedFile(new, role: "the new input")])
        if let output { try outputs.check(output, option: "--output") }
        let b = try ResultFile.read(base)
        let n = try ResultFile.read(new)
        let result = try Comparator.compare(base: b, new: n, baseName: base, newName: new, thresholds: thresholds,
                                            alpha: alpha, allowMissing: allowMissing, paired: paired)
        // --output is the JSON comparison, whatever --format prints.
        if let output { try outputs.write(try ComparisonReport.json(result), to: output, option: "--output") }
        switch format {
        case .json: StandardOutput.write(String(decoding: try ComparisonReport.json(result), as: UTF8.self))
        case .markdown: print(ComparisonReport.markdown(result), terminator: "")
        case .junit: print(ComparisonReport.junit(result), terminator: "")
        case .text: print(ComparisonReport.text(result), terminator: "")
        }
        if result.exitCode != 0 { throw RunExit(code: result.exitCode) }
    }
}

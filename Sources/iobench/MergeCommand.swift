import ArgumentParser
import Foundation
import IOBenchKit

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge results losslessly: matching cases' histograms are added, hosts are kept.",
        discussion: """
        Cases with the same id (and target label, for runs of several --target LABEL=PATH) in \
        several results (repeats, runs on several hosts) become one \
        case whose latency histogram is the sum of theirs, exactly as if every read had been \
        recorded in one histogram. Each case keeps where it came from in 'sources' (file, \
        host, start time, reads, IOPS); its IOPS is the mean over sources.

        Example:
          iobench merge host-a.json host-b.json -o all.json
        """
    )

    @Argument(help: ArgumentHelp("Result files to merge.", valueName: "result.json"))
    var inputs: [String]

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the merged result (JSON).", valueName: "file"))
    var output: String

    @Option(name: .long, help: ArgumentHelp("Report on stdout: text or json.", valueName: "format"))
    var format: TextOrJSON = .text

    @Flag(name: .customLong("force-overwrite"), help: "Let --output replace an existing file that is not an iobench output. Without it such a file is never written.")
    var forceOverwrite = false

    @Flag(name: .customLong("allow-config-mismatch"), help: "Merge cases with the same id and target label even when their configuration differs (block size, queue depth, jobs, engine options, class, pattern, region, verify, error handling, latency sampling). Without it such cases are refused, naming the field.")
    var allowConfigMismatch = false

    func run() throws {
        guard inputs.count >= 1 else { throw IOBenchError.badInput("merge needs result files: iobench merge A.json B.json -o ALL.json") }
        let outputs = OutputGuard(forceOverwrite: forceOverwrite, protected: inputs.map { ProtectedFile($0, role: "an input") })
        try outputs.check(output, option: "--output")
        let results = try inputs.map { (file: $0, result: try ResultFile.read($0)) }
        let merged = try ResultMerger.merge(results, allowConfigMismatch: allowConfigMismatch)
        guard (try? merged.jsonData()) != nil else {
            throw IOBenchError.badInput("the inputs hold numbers out of any real range (the merged result has infinite or NaN values); check the files for damage")
        }
        try ResultWriter.writeJSON(merged, to: output, guard: outputs, option: "--output")
        if format == .json {
            StandardOutput.write(String(decoding: try merged.jsonData(), as: UTF8.self))
            print("")
        } else {
            print(TextReport.render(merged), terminator: "")
        }
    }
}

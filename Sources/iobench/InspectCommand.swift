import ArgumentParser
import Foundation
import IOBenchKit

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a file's filesystem, device, extent map (FIEMAP) and the path classes it can serve.",
        discussion: """
        For each block size, lists every class (simple, single-extent, multi-extent, unwritten, \
        raw) with the number of distinct read positions that meet it, or why none do. Nothing \
        is written.

        Examples:
          iobench inspect /tmp/iobench.dat
          iobench inspect frag.dat --bs 4k,8k,64k --format json
        """
    )

    @Argument(help: ArgumentHelp("The file to inspect.", valueName: "path"))
    var path: String

    @Option(name: .long, help: ArgumentHelp("Block sizes to check classes for, comma-separated. Default: one and two filesystem blocks.", valueName: "list"))
    var bs: String?

    @Option(name: .long, help: ArgumentHelp("text or json.", valueName: "format"))
    var format: TextOrJSON = .text

    func run() throws {
        let target = try Target.open(TargetRequest(path: path, createIfMissing: false))
        let fsBlock = ClassPlanner.filesystemBlockSize(fd: target.fd)
        let sizes = try bs.map { list in
            try list.split(separator: ",").map { Int(try Units.parseSize(String($0), option: "bs")) }
        } ?? [fsBlock, 2 * fsBlock]
        let report = try InspectReport.make(target: target, blockSizes: sizes)
        if format == .json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            StandardOutput.write(String(decoding: try enc.encode(report), as: UTF8.self))
            print("")
        } else {
            print(report.renderText(), terminator: "")
        }
    }
}

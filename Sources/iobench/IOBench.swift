import ArgumentParser
import Foundation
import IOBenchKit

/// `iobench`: block-I/O latency benchmark. With no subcommand it runs `run`.
@main
struct IOBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iobench",
        abstract: "Block-I/O latency benchmark: 4K random-read IOPS, latency histograms and CPU time per I/O across Linux I/O engines.",
        discussion: """
        With no arguments, iobench compares every engine this machine supports (psync, pvsync2, \
        libaio, io_uring, io_uring-poll) on a scratch file it creates, at QD1 and QD32.

        Exit codes: 0 success, 1 a comparison found a regression, 2 bad input (the message says \
        what to fix), 3 the run failed (I/O errors, an engine the kernel refused).
        """,
        version: IOBenchVersion.long,
        subcommands: [RunCommand.self, PrepareCommand.self, InspectCommand.self, CompareCommand.self, MergeCommand.self, ReportCommand.self, LabCommand.self],
        defaultSubcommand: RunCommand.self
    )

    static func main() {
        SignalStop.restoreDefaultQuit()
        do {
            var command = try parseAsRoot()
            try command.run()
            // The report is the product: a stdout that could not take it (a full disk, a
            // reader gone with SIGPIPE ignored) is not success.
            errno = 0
            if StandardOutput.flushFailed() {
                let err = StandardOutput.failure != 0 ? StandardOutput.failure : errno
                if err == EPIPE {
                    StandardError.write("iobench: error: stdout was closed before the report was written (EPIPE)\n")
                    Foundation.exit(128 + SIGPIPE)
                }
                StandardError.write("iobench: error: cannot write the report to stdout: \(Errno(err)); redirect stdout to a file with room, or use --output\n")
                Foundation.exit(2)
            }
        } catch let error as IOBenchError {
            PlotFiles.removeCreatedDirectoryIfEmpty()
            StandardError.write("iobench: error: \(error.description)\n")
            Foundation.exit(error.exitCode)
        } catch let exit as RunExit {
            Foundation.exit(exit.code)
        } catch {
            // Help and --version are clean exits; every other parse failure is bad input (2).
            if exitCode(for: error) == .success { self.exit(withError: error) }
            let sub = CommandLine.arguments.dropFirst().first { ["run", "prepare", "inspect", "compare", "merge", "report", "lab"].contains($0) } ?? "run"
            let parserMessage = self.message(for: error).split(separator: "\n").joined(separator: "; ")
            // An fio option name gets its iobench equivalent instead of "Unknown option".
            let message = FioHints.hint(for: Array(CommandLine.arguments.dropFirst()), error: parserMessage, subcommand: sub) ?? parserMessage
            StandardError.write("iobench: error: \(message) (see 'iobench \(sub) --help')\n")
            Foundation.exit(2)
        }
    }
}

/// A run that completed but must exit with a non-zero status (failed cases, a signal).
struct RunExit: Error {
    var code: Int32
}

import ArgumentParser
import Atomics
import Foundation
import Glibc
import IOBenchKit

struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "As root: build ext4 and XFS on loop devices, run the path-class comparison on both and on the raw devices, and remove everything again.",
        discussion: """
        What it creates, in a new directory DIR/.iobench-lab-<pid>-<random>/ on the \
        filesystem of --dir: one backing file per filesystem (512 MiB, or what fits the free \
        space leaving 256 MiB; XFS needs 300 MiB), a loop device over each with direct I/O on \
        (LOOP_CONFIGURE, LO_FLAGS_DIRECT_IO | LO_FLAGS_AUTOCLEAR), ext4 and XFS made on them \
        (mkfs.ext4, mkfs.xfs), mounted inside the directory, and on each a file of a quarter \
        of its size fragmented into 16 KiB extents.

        What it runs: per filesystem and engine, the classes simple 4k, raw 4k, single-extent \
        8k, multi-extent 8k and raw 8k (raw reads the loop device at the same blocks), every \
        case once per round for --rounds rounds; with tracing available (root, tracefs) each \
        class's kernel mappings per read are traced. With the defaults it takes about 2.5 \
        minutes here (2 filesystems x 20 runnable cases x 5 rounds x 0.7 s, plus set-up).

        The report names each filesystem with its loop device, whether direct I/O is on, its \
        backing size and the layout FIEMAP shows; then the kernel path per filesystem \
        (mappings per read, simple read path active); then the class table, each Δ paired \
        round by round against its like-for-like reference with a 95% interval (cases \
        labelled ext4: and xfs:); then every case; then the time of each phase and the \
        cleanup check.

        Teardown: on success, on failure and on any signal that would end the process but \
        SIGKILL (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1/2, SIGALRM, ...; exit 128 + the \
        signal, at any phase; further signals do not interrupt the teardown, and SIGPIPE is \
        ignored, so a reader of stderr going away cannot skip it) iobench unmounts, detaches the loop \
        devices, removes the directory, and checks that no loop device and no mount is left. \
        After a crash or SIGKILL run 'iobench lab --cleanup': it unmounts, detaches and \
        removes what labs whose process is gone left behind (mounts and loop devices \
        anywhere, directories in --dir), and leaves running labs alone. A new lab warns \
        about such leftovers but does not remove them.

        Needs root (CAP_SYS_ADMIN), /dev/loop-control, mkfs.ext4 (e2fsprogs) and mkfs.xfs \
        (xfsprogs).

        Examples:
          sudo iobench lab
          sudo iobench lab --filesystems ext4 --engine psync,io_uring --rounds 3
          sudo iobench lab --format json --output lab.json --plot lab-plots
          sudo iobench lab --cleanup
        """
    )

    @Option(name: .long, help: ArgumentHelp("Directory for the lab's backing files (its filesystem must hold them). Default: $IOBENCH_DIR, else the system temp directory.", valueName: "dir"))
    var dir: String?

    @Option(name: .long, help: ArgumentHelp("Filesystems to build, comma-separated: \(ValueList.names(LabFilesystem.self)). Default: all (\(LabFilesystem.allValueStrings.joined(separator: ","))).", valueName: "list"),
            completion: .list(LabFilesystem.allValueStrings), transform: { try ValueList.filesystems($0) })
    var filesystems: [LabFilesystem] = LabFilesystem.allCases

    @Option(name: .long, help: ArgumentHelp("Engines, comma-separated: \(ClassSuite.engines.map(\.engine.rawValue).joined(separator: ", ")). Default: all; those the loop devices cannot run are listed as skipped with the reason.", valueName: "list"),
            completion: .list(ClassSuite.engines.map(\.engine.rawValue)), transform: { try ValueList.engines($0, among: ClassSuite.engines.map(\.engine)) })
    var engine: [EngineKind]?

    @Option(name: .long, help: ArgumentHelp("Paired rounds: every case runs once per round, and the rounds are compared one by one (at least 2).", valueName: "n"))
    var rounds: Int = 5

    @Option(name: .long, help: ArgumentHelp("Measured time per case per round, after the ramp.", valueName: "duration"))
    var runtime: String = "500ms"

    @Option(name: .customLong("ramp-time"), help: ArgumentHelp("Warm-up per case per round, excluded from the results.", valueName: "duration"))
    var rampTime: String = "200ms"

    @Option(name: .long, help: ArgumentHelp("Backing file size per filesystem, in whole MiB (at least 256m for ext4, 300m for xfs). Default: 512m, or what fits in --dir's free space.", valueName: "size"))
    var size: String?

    @Option(name: .long, help: ArgumentHelp("Report format on stdout: text, json or markdown.", valueName: "format"))
    var format: LabFormat = .text

    @Option(name: .shortAndLong, help: ArgumentHelp("Also write the JSON result (with its lab object) to this file.", valueName: "file"))
    var output: String?

    @Option(name: .customLong("plot"), help: ArgumentHelp("Write the plots and report.html to DIR, created when missing.", valueName: "dir"))
    var plotDir: String?

    @Flag(name: .customLong("force-overwrite"), help: "Let --output and --plot replace existing files that are not iobench outputs.")
    var forceOverwrite = false

    @Flag(name: .customLong("no-progress"), help: "No progress line on stderr.")
    var noProgress = false

    @Flag(name: .long, help: "Remove what crashed or killed labs left behind (mounts, loop devices, directories in --dir), print what was done, and exit. Labs still running are left alone.")
    var cleanup = false

    func run() throws {
        let log: (String) -> Void = { StandardError.write(($0 + "\n")) }
        let dir = try Lab.resolveDirectory(self.dir)
        if cleanup { return try runCleanup(dir: dir, log: log) }

        guard rounds >= 2 && rounds <= 1000 else {
            throw IOBenchError.badInput("--rounds \(rounds) is invalid; use 2 to 1000 rounds (the comparison pairs rounds, so it needs at least 2)")
        }
        var options = Lab.Options(dir: dir)
        options.filesystems = filesystems.map(\.rawValue)
        options.engines = engine ?? ClassSuite.engines.map(\.engine)
        options.rounds = rounds
        options.runtimeNs = try Units.parseDuration(runtime, option: "runtime")
        options.rampNs = try Units.parseDuration(rampTime, option: "ramp-time")
        guard options.runtimeNs >= 10_000_000 else {
            throw IOBenchError.badInput("--runtime \(runtime) is too short; use 10ms or more")
        }
        options.size = try size.map { try Units.parseSize($0, option: "size") }
        options.showProgress = !noProgress && isatty(2) == 1
        options.arguments = CommandLine.arguments

        // Root, the loop driver and mkfs first: without them nothing else matters.
        try Lab.preflight(filesystems: options.filesystems)
        let named = self.dir != nil ? "--dir" : "the lab's directory (\(ProcessInfo.processInfo.environment["IOBENCH_DIR"] != nil ? "$IOBENCH_DIR" : "the system temp directory"))"
        try Lab.checkDirectory(dir, named: named)
        _ = try Lab.backingSize(filesystems: options.filesystems, requested: options.size, dir: dir)
        let outputs = OutputGuard(forceOverwrite: forceOverwrite, protected: [])
        var files = RunOutputs()
        files.json = output
        files.plotDirectory = plotDir
        try RunFiles.check(files, guard: outputs)

        // From here every signal ends in the teardown; none can skip it.
        let stop = ManagedAtomic<Bool>(false)
        try SignalStop.install(stop, persistent: true)
        let lab = Lab(options: options, stop: stop, log: log)
        let outcome = try lab.run()

        if let failure = outcome.failure {
            log("iobench lab: " + LabReport.footer(outcome.info).split(separator: "\n").joined(separator: "; "))
            throw failure
        }
        guard let result = outcome.result else { throw IOBenchError.runFailed("the lab produced no result") }
        // A file that cannot be written now (its directory vanished during the run) is an
        // error, but the report is printed first: minutes of measurement are not lost.
        var saveError: Error?
        do { try RunFiles.write(result, files, guard: outputs, name: "iobench lab") } catch { saveError = error }
        switch format {
        case .json:
            StandardOutput.write(String(decoding: try result.jsonData(), as: UTF8.self) + "\n")
        case .markdown: print(LabReport.renderMarkdown(result), terminator: "")
        case .text: print(LabReport.renderText(result), terminator: "")
        }
        if let saveError { throw saveError }
        if let signal = SignalStop.received {
            throw RunExit(code: 128 + signal)
        }
        if !outcome.info.cleanup.verified { throw RunExit(code: 3) }
        if !result.cases.contains(where: { $0.status == .ok }) {
            log("iobench: error: no case could run on the lab's loop devices: every case was skipped or failed (the reasons are in the report); choose engines they support, e.g. --engine psync,io_uring")
            throw RunExit(code: result.cases.allSatisfy { $0.status == .skipped } ? 2 : 3)
        }
        for c in result.failedCases {
            log("iobench: error: \(c.label): \(Units.printable(c.reason ?? "failed"))")
        }
        if let code = result.failureExitCode { throw RunExit(code: code) }
    }

    /// `--cleanup`: what crashed labs left, removed.
    func runCleanup(dir: String, log: (String) -> Void) throws {
        guard Lab.hasCapSysAdmin else {
            throw IOBenchError.badInput("iobench lab --cleanup needs root (CAP_SYS_ADMIN) to unmount and detach loop devices; run it as root, e.g. sudo iobench lab --cleanup")
        }
        let report = LabCleanup.run(dir: dir)
        for a in report.actions { print(a) }
        for s in report.skipped { print("skipped " + s) }
        for f in report.failures { log("iobench: error: \(f)") }
        if report.actions.isEmpty && report.skipped.isEmpty && report.failures.isEmpty {
            print("nothing to clean up: no mount or loop device of a lab, no lab directory in \(dir)")
        } else {
            // Judge by what is there now: whatever is not a running lab's is left over.
            let (stray, running) = LabCleanup.remaining(in: dir)
            if !stray.isEmpty {
                log("iobench: error: still there after the cleanup: \(stray.joined(separator: "; "))")
                throw RunExit(code: 3)
            }
            print(running == 0 ? "cleanup: nothing left" : "cleanup: done; \(running) running lab\(running == 1 ? "" : "s") left alone")
        }
        if !report.failures.isEmpty { throw RunExit(code: 3) }
    }
}

import ArgumentParser
import Atomics
import Foundation
import Glibc
import IOBenchKit

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run random (or sequential) O_DIRECT reads with one or more engines and report latency, IOPS and CPU time per I/O.",
        discussion: """
        Each engine and queue depth is one case; each case reports IOPS, MiB/s, latency \
        percentiles (submission to completion, HdrHistogram, 0.1% precision) and CPU time per \
        read. Without --engine, every storage engine is run and those this machine cannot \
        run are listed as skipped with the reason; plain `iobench` (no engine, class or \
        target) adds null and io_uring-nop, which do no storage I/O, on a line of their own: \
        iobench's own cost per I/O.

        Several targets: repeat --target, best as LABEL=PATH (e.g. ext4=/mnt/ext4/t.dat \
        xfs=/mnt/xfs/t.dat). Every case runs on every target, and each case is identified by \
        its id and its target's label (target_key in the JSON; the label defaults to the file \
        name), so 'compare' and 'merge' match ext4 with ext4 and xfs with xfs. With --repeat, \
        repeats run in rounds over all targets, so drift of the machine spreads over every \
        filesystem alike. With one target there is no label: ids are as always, and stored \
        baselines keep matching.

        An fio job file: --fio-job FILE runs each job section as one case, labelled with \
        the section's name (fio's [global] sections, include, ${VAR}, kb_base and its units \
        as fio reads them). Keys iobench cannot honour are refused (exit 2, naming the line \
        and the key) unless listed in --fio-ignore; direct=1 is required. Sections run one \
        after another (fio runs sections without stonewall at the same time). The mapping \
        and what differs from fio: docs/fio.md.

        Examples:
          iobench                                   compare all engines on the scratch file
          iobench run --engine io_uring --iodepth 32 --runtime 10s
          iobench run --engine io_uring --iodepth 128 --fixed-buffers --registered-files --submit-batch 32
          iobench run --target /dev/loop0 --engine libaio --iodepth 1,32 --format json --output out.json
          iobench run --target ext4=/mnt/ext4/t.dat --target xfs=/mnt/xfs/t.dat --engine io_uring --iodepth 1,32 --repeat 5 --output fs.json
          iobench run --fio-job randread.fio --section psync-qd1,uring-qd16 --format json --output fio.json
        """
    )

    @OptionGroup(title: "Workload")
    var workload: WorkloadOptions

    @OptionGroup(title: "Engine options")
    var engines: EngineTuningOptions

    @OptionGroup(title: "Output")
    var out: OutputOptions

    @OptionGroup(title: "Profile")
    var profiling: ProfileOptions

    @OptionGroup(title: "fio job file")
    var fio: FioJobOptions

    /// The request these options describe.
    func makeRequest() throws -> RunRequest {
        var request = RunRequest()
        try workload.apply(to: &request)
        request.engineOptions = engines.engineOptions
        if let job = try fio.load(arguments: CommandLine.arguments) {
            try job.apply(to: &request)
            for note in job.notes { StandardError.write("iobench: note: \(Units.printable(note))\n") }
        }
        try out.apply(to: &request)
        try profiling.apply(to: &request)
        request.showProgress = !out.noProgress && isatty(2) == 1
        request.arguments = CommandLine.arguments
        return request
    }

    func run() throws {
        // Every check that creates nothing, before anything is created.
        // The command line's own errors name its flags; what the job file's settings meet
        // later (a target too small, a CPU not there) is said in the file's terms.
        let request = try makeRequest()
        let plan: RunPlan
        do { plan = try request.plan() } catch { throw fio.jobFileTerms(error) }
        // Signals stop the run from here on, file creation included.
        let stop = ManagedAtomic<Bool>(false)
        try SignalStop.install(stop)
        let outcome: RunOutcome
        do { outcome = try plan.run(stop: stop) { StandardError.write($0 + "\n") } } catch { throw fio.jobFileTerms(error) }
        let result = outcome.result

        // A file that could not be written (its directory vanished meanwhile) is an error,
        // but the report is printed first: what was measured is not lost.
        switch out.format {
        case .json:
            StandardOutput.write(String(decoding: try result.jsonData(), as: UTF8.self) + "\n")
        case .markdown: print(MarkdownReport.render(result), terminator: "")
        case .csv: print(CSVReport.render(result), terminator: "")
        case .junit: print(RunJUnitReport.render(result), terminator: "")
        case .text: print(TextReport.render(result), terminator: "")
        }
        if let saveError = outcome.saveError { throw saveError }
        if let signal = SignalStop.received {
            throw RunExit(code: 128 + signal)
        }
        for c in result.failedCases {
            // The report has the details; stderr names each failure on one line.
            StandardError.write("iobench: error: \(c.label): \(Units.printable(fio.jobFileTerms(c.reason ?? "failed")))\n")
        }
        // A failure the user can fix (a limit, a refused option) is bad input.
        if let code = result.failureExitCode { throw RunExit(code: code) }
    }
}

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
        read. Without --engine, every engine is run and those this machine cannot run are \
        listed as skipped with the reason.

        Several targets: repeat --target, best as LABEL=PATH (e.g. ext4=/mnt/ext4/t.dat \
        xfs=/mnt/xfs/t.dat). Every case runs on every target, and each case is identified by \
        its id and its target's label (target_key in the JSON; the label defaults to the file \
        name), so 'compare' and 'merge' match ext4 with ext4 and xfs with xfs. With --repeat, \
        repeats run in rounds over all targets, so drift of the machine spreads over every \
        filesystem alike. With one target there is no label: ids are as always, and stored \
        baselines keep matching.

        Examples:
          iobench                                   compare all engines on the scratch file
          iobench run --engine io_uring --iodepth 32 --runtime 10s
          iobench run --engine io_uring --iodepth 128 --fixed-buffers --registered-files --submit-batch 32
          iobench run --target /dev/loop0 --engine libaio --iodepth 1,32 --format json --output out.json
          iobench run --target ext4=/mnt/ext4/t.dat --target xfs=/mnt/xfs/t.dat --engine io_uring --iodepth 1,32 --repeat 5 --output fs.json
        """
    )

    @Option(name: .long, help: ArgumentHelp("Engines, comma-separated: psync, pvsync2, libaio, io_uring, io_uring-poll. Default: all.", valueName: "list"))
    var engine: String?

    @Option(name: .long, help: ArgumentHelp("Block size of each read, a multiple of the target's logical block size.", valueName: "size"))
    var bs: String = "4k"

    @Option(name: .customLong("class"), help: ArgumentHelp("Path classes, comma-separated, each optionally with its own block size: simple, single-extent, multi-extent, unwritten, raw (e.g. simple:4k,single-extent:8k,multi-extent:8k). Positions are planned from the file's extent map (FIEMAP) so every read meets its class.", valueName: "list"))
    var pathClasses: String?

    @Option(name: .long, help: ArgumentHelp("Reads in flight per job, comma-separated for several cases. Sync engines always use 1. Default: 1,32.", valueName: "list"))
    var iodepth: String?

    @Option(name: .long, help: ArgumentHelp("Access pattern: randread (random) or read (sequential).", valueName: "pattern"))
    var rw: String = "randread"

    @Option(name: .long, help: ArgumentHelp("Jobs (threads) per case, each with its own engine and histogram.", valueName: "n"))
    var numjobs: Int = 1

    @Option(name: .long, help: ArgumentHelp("Pin jobs to these CPUs, round-robin (e.g. 0,1).", valueName: "list"))
    var cpus: String?

    @Option(name: .long, help: ArgumentHelp("Region to read, from offset 0. Default: the whole target; 1g for a new file.", valueName: "size"))
    var size: String?

    @Option(name: .long, help: ArgumentHelp("Measured time per case (per round with --repeat), after the ramp. Default: 3s (500ms per round in the default suite).", valueName: "duration"))
    var runtime: String?

    @Option(name: .customLong("number-ios"), help: ArgumentHelp("Measure this many reads per job instead of a fixed --runtime.", valueName: "n"))
    var numberIOs: UInt64?

    @Option(name: .customLong("ramp-time"), help: ArgumentHelp("Warm-up per case, run but excluded from the results. Default: 500ms (200ms in the default suite).", valueName: "duration"))
    var rampTime: String?

    @Option(name: .long, help: ArgumentHelp("Seed of the offset generator; the same seed gives the same offsets.", valueName: "n"))
    var seed: UInt64 = 0x10BE_4C11

    @Option(name: .long, help: ArgumentHelp("File or block device to read (block devices are opened read-only). A missing file is created and filled. Default: iobench.dat in --dir. Repeatable: --target LABEL=PATH runs every case on every target, each case identified by its id and LABEL (default: the file name); LABEL is 1-32 of A-Z a-z 0-9 . _ - (e.g. ext4=/mnt/ext4/t.dat). A path that exists is always a path, '=' or not.", valueName: "[label=]path"))
    var target: [String] = []

    @Option(name: .long, help: ArgumentHelp("Directory of the scratch file. Default: $IOBENCH_DIR, else the system temp directory.", valueName: "dir"))
    var dir: String?

    @Option(name: .long, help: ArgumentHelp("Report format on stdout: text, json, markdown (for a pull request or CI step summary), csv or junit (one test case per case: failed cases fail).", valueName: "format"))
    var format: String = "text"

    @Option(name: .shortAndLong, help: ArgumentHelp("Also write the JSON result to this file.", valueName: "file"))
    var output: String?

    @Flag(name: .long, help: "Check that every read returned the data iobench wrote at its offset (targets iobench created).")
    var verify = false

    @Flag(name: .customLong("verify-path"), help: "With --class: trace a short pass per class (tracefs, root) and report the kernel's mappings and bios per read next to what the class promises, and whether the kernel's simple read path is active. On by default in the default suite when tracing is available.")
    var verifyPath = false

    @Flag(name: .long, help: "pvsync2: set RWF_HIPRI (polled sync reads).")
    var hipri = false

    @Flag(name: .customLong("fixed-buffers"), help: "io_uring: register the buffers and use READ_FIXED.")
    var fixedBuffers = false

    @Flag(name: .customLong("registered-files"), help: "io_uring: register the target as a fixed file.")
    var registeredFiles = false

    @Flag(name: .long, help: "io_uring: let a kernel thread poll the submission queue (SQPOLL).")
    var sqpoll = false

    @Flag(name: .customLong("plain-ring"), help: "io_uring: create rings without COOP_TASKRUN, SINGLE_ISSUER and DEFER_TASKRUN (the kernel's default completion handling), to see what they change.")
    var plainRing = false

    @Option(name: .long, help: ArgumentHelp("Run every case N times, in rounds: every case once per round, the order rotated each round. Reports each repeat, the merged histogram and the spread (min, median, max) of IOPS and percentiles. Path-class Δs are paired round by round against their like-for-like reference, with a 95% interval over the rounds (needs 2 or more; 3 or more recommended). With 3 or more, 'iobench compare' estimates the run-to-run noise from the repeats. Default: 1 (3 in the default suite).", valueName: "n"))
    var `repeat`: Int?

    /// Rounds: --repeat, else 3 in the default suite (paired class Δs need rounds), else 1.
    var rounds: Int { `repeat` ?? (isDefaultSuite ? Self.defaultSuiteRounds : 1) }
    static let defaultSuiteRounds = 3

    @Option(name: .customLong("submit-batch"), help: ArgumentHelp("Reads prepared per submit call (fio's iodepth_batch_submit).", valueName: "n"))
    var submitBatch: Int = 1

    @Option(name: .customLong("complete-batch"), help: ArgumentHelp("Completions to wait for before reaping (fio's iodepth_batch_complete_min); all that are ready are reaped.", valueName: "n"))
    var completeBatch: Int = 1

    @Option(name: .customLong("hist-log"), help: ArgumentHelp("Write an HdrHistogram interval log (one histogram per --hist-interval per case, tagged with the case id, LABEL/id with several targets) that HistogramLogAnalyzer and hdrh's log reader read.", valueName: "file"))
    var histLog: String?

    @Option(name: .customLong("hist-interval"), help: ArgumentHelp("Interval of --hist-log.", valueName: "duration"))
    var histInterval: String = "1s"

    @Option(name: .customLong("hgrm"), help: ArgumentHelp("Write each case's percentile distribution in HdrHistogram's .hgrm text to DIR/<case id>.hgrm (DIR/<label>_<case id>.hgrm with several targets; values in µs).", valueName: "dir"))
    var hgrmDir: String?

    @Option(name: .customLong("plot"), help: ArgumentHelp("Write the plots (spectrum.svg, histogram.svg, timeline.svg, classes.svg) and a self-contained report.html to DIR, created when missing. 'iobench report' makes the same from a saved result.", valueName: "dir"))
    var plotDir: String?

    @Option(name: .customLong("latency-sample"), help: ArgumentHelp("Time the reads of 1 commit in N (one clock read per sampled batch, as t/io_uring samples); IOPS still counts every read. Default 1: every read.", valueName: "n"))
    var latencySample: Int = 1

    @Flag(name: .customLong("no-latency"), help: "Peak mode: time no read (IOPS, bandwidth and CPU time only). Same as --latency-sample 0.")
    var noLatency = false

    @Flag(name: .customLong("continue-on-error"), help: "Keep reading after I/O errors and short reads. They are still counted and reported (with the first error's text), but the case does not fail for them.")
    var continueOnError = false

    @Flag(name: .customLong("force-overwrite"), help: "Replace an existing --target that iobench did not write (and that is too small for --size) with iobench's stamped data; also let --output, --hist-log, --hgrm and --plot replace existing files that are not iobench outputs. Without it such files are never written.")
    var forceOverwrite = false

    @Flag(name: .customLong("no-progress"), help: "No progress line on stderr.")
    var noProgress = false

    /// No engine, class or target named: compare the engines on the scratch file, then
    /// the path classes on a fragmented scratch file.
    var isDefaultSuite: Bool { engine == nil && pathClasses == nil && target.isEmpty }

    func run() throws {
        guard ["text", "json", "markdown", "csv", "junit"].contains(format) else {
            throw IOBenchError.badInput("--format '\(format)' is not known; use text, json, markdown, csv or junit")
        }
        guard rounds >= 1 && rounds <= 1000 else {
            throw IOBenchError.badInput("--repeat \(rounds) is invalid; use 1 to 1000 repeats")
        }
        let specs = try makeSpecs()
        // Options are checked even where this run does not use them (a --runtime next to
        // --number-ios, a --hist-interval without --hist-log): a typo is never ignored.
        _ = try Units.parseDuration(runtime ?? "3s", option: "runtime")
        let intervalNs = try Units.parseDuration(histInterval, option: "hist-interval")
        guard intervalNs >= 10_000_000 else {
            throw IOBenchError.badInput("--hist-interval \(histInterval) is too short; use 10ms or more")
        }
        let targets = try resolveTargets()
        let targetPath = targets[0].path
        // Outputs never replace a target (nor the default suite's fragmented file), nor a
        // file that is not iobench's own without --force-overwrite: checked before anything runs.
        var protected = targets.map { t in
            ProtectedFile(t.path, role: targets.count == 1 ? "the target" : "the target \(t.label ?? t.path)")
        }
        if isDefaultSuite { protected.append(ProtectedFile(Self.fragmentedPath(in: Target.parentDirectory(of: targetPath)), role: "the default run's fragmented file")) }
        let outputs = OutputGuard(forceOverwrite: forceOverwrite, protected: protected)
        try checkOutputPaths(outputs, specs: specs, labels: targets.map(\.label))
        let regionSize = try size.map { try Units.parseSize($0, option: "size") }
        // Checks that need no target: before anything is created.
        for t in targets {
            if let lbs = Target.probeLogicalBlockSize(path: t.path), let s = specs.first(where: { $0.blockSize % lbs != 0 }) {
                throw IOBenchError.badInput("--bs \(s.blockSize) is not a multiple of the logical block size at \(t.path) (\(lbs) bytes); use a multiple of \(lbs), e.g. --bs 4k")
            }
        }
        if engine != nil {
            for s in specs { try RunSession.preflight(s.engine) }
        }
        if verifyPath {
            if pathClasses == nil, !isDefaultSuite {
                throw IOBenchError.badInput("--verify-path checks path classes; add --class, e.g. --class simple,single-extent:8k,multi-extent:8k")
            }
            if let why = PathTracer.unavailableReason() {
                throw IOBenchError.badInput("--verify-path cannot trace here: \(why)")
            }
        }
        let log: (String) -> Void = { StandardError.write(($0 + "\n")) }
        // Signals stop the run from here on, file creation included.
        let stop = ManagedAtomic<Bool>(false)
        try SignalStop.install(stop)
        // Every target is opened (created when missing), checked and planned before
        // anything is measured: a mistake about the last one stops the run at once.
        var batches: [CaseBatch] = []
        for t in targets {
            var request = TargetRequest(path: t.path, size: regionSize)
            request.forceOverwrite = forceOverwrite
            let target = try Target.open(request, log: log)
            if let other = batches.first(where: { Self.sameFile($0.target, target) }) {
                throw IOBenchError.badInput("--target \(other.target.path) and --target \(target.path) are the same file; name each target once, e.g. --target a=PATH1 --target b=PATH2")
            }
            let (plans, _) = try planClasses(specs, target: target, skipFailures: false)
            for (i, spec) in specs.enumerated() {
                if plans[i]?.rawDevice == nil {
                    try CaseRunner.check(spec, against: target)
                } else if spec.verify && !target.isStamped {
                    // Raw reads are checked against the file's stamp at their file offsets.
                    throw IOBenchError.badInput("--verify needs a target iobench wrote (its data is stamped with offsets); \(target.path) was not written by iobench")
                }
            }
            batches.append(CaseBatch(target: target, specs: specs, plans: plans, label: t.label))
        }
        if isDefaultSuite {
            batches.append(try classSuiteBatch(scratchDirectory: Target.parentDirectory(of: targetPath), log: log))
        }

        let session = RunSession(arguments: CommandLine.arguments, showProgress: !noProgress && isatty(2) == 1, stop: stop)
        if verifyPath || isDefaultSuite {
            // One traced pass per target, planned class and block size, shared by every engine.
            session.afterCase = ClassSuite.verifyPathHook()
        }
        if histLog != nil { session.intervalNs = intervalNs }
        let result = session.run(batches, skipUnsupported: engine == nil, repeats: rounds)

        // A file that cannot be written now (its directory vanished meanwhile) is an error,
        // but the report is printed first: what was measured is not lost.
        var saveError: Error?
        do {
            if let output {
                try ResultWriter.writeJSON(result, to: output, guard: outputs, option: "--output")
            }
            if let histLog {
                try outputs.write(Data(Self.intervalLog(result).utf8), to: histLog, option: "--hist-log")
            }
            if let hgrmDir {
                for c in result.cases where c.histogram != nil {
                    try outputs.write(Data(try HgrmReport.render(case: c).utf8), to: hgrmDir + "/" + Self.hgrmName(id: c.id, label: c.targetKey), option: "--hgrm")
                }
            }
            if let plotDir {
                try PlotFiles.write(inputs: [.run(name: output ?? "this run", result: result)], to: plotDir, html: true, option: "--plot", guard: outputs)
            }
        } catch { saveError = error }
        switch format {
        case "json":
            StandardOutput.write(String(decoding: try result.jsonData(), as: UTF8.self) + "\n")
        case "markdown": print(MarkdownReport.render(result), terminator: "")
        case "csv": print(CSVReport.render(result), terminator: "")
        case "junit": print(RunJUnitReport.render(result), terminator: "")
        default: print(TextReport.render(result), terminator: "")
        }
        if let saveError { throw saveError }
        if let signal = SignalStop.received {
            throw RunExit(code: 128 + signal)
        }
        let failed = result.cases.filter { $0.status == .failed }
        for c in failed {
            // The report has the details; stderr names each failure on one line.
            StandardError.write("iobench: error: \(c.label): \(Units.printable(c.reason ?? "failed"))\n")
        }
        if !failed.isEmpty {
            // A failure the user can fix (a limit, a refused option) is bad input.
            throw RunExit(code: failed.allSatisfy { $0.failureClass == .badInput } ? 2 : 3)
        }
    }

    /// Every case's interval histograms in one log, tagged with the case identity (`LABEL/id`
    /// with several targets), timed from
    /// the first case's start.
    static func intervalLog(_ r: RunResult) -> String {
        let origin = r.cases.map(\.measureStartEpochNs).filter { $0 > 0 }.min() ?? 0
        var all: [IntervalHistogram] = []
        for c in r.cases {
            for iv in c.intervals {
                var t = iv
                t.startNs += c.measureStartEpochNs &- origin
                t.tag = c.identity
                all.append(t)
            }
        }
        all.sort { $0.startNs < $1.startNs }
        return IntervalLog.render(intervals: all, startTimeEpochSeconds: Double(origin) / 1e9,
                                  comment: "iobench \(IOBenchVersion.string) interval log: \(r.cases.count) cases, latency in ns")
    }

    /// The class half of the default suite: per engine, the like-for-like classes of
    /// `ClassSuite` (simple 4k, raw 4k, single-extent 8k, multi-extent 8k, raw 8k) on
    /// `iobench-fragmented.dat` (16 KiB extents: 8191 boundaries in 128 MiB), prepared
    /// once and reused. Whatever cannot run here is listed as skipped with the reason.
    func classSuiteBatch(scratchDirectory: String, log: (String) -> Void) throws -> CaseBatch {
        let path = Self.fragmentedPath(in: scratchDirectory)
        let layout = ClassSuite.layout
        let suiteSize = ClassSuite.defaultFileSize
        let specs = try ClassSuite.specs { e, qd, bs in try baseSpec(engine: e, queueDepth: qd, blockSize: bs) }
        let fragmented: Target
        do {
            if !FileManager.default.fileExists(atPath: path) {
                log("iobench: preparing \(path) (\(Units.formatSize(suiteSize)), \(layout)) for the path-class comparison")
                try Self.prepareUnlessAnotherRunDid(path: path, size: suiteSize, layout: layout, log: log)
            }
            fragmented = try Target.open(TargetRequest(path: path, createIfMissing: false))
            guard fragmented.isStamped else {
                throw IOBenchError.badInput("\(path) exists but was not written by iobench; remove it or use another --dir")
            }
        } catch let error as IOBenchError {
            if case .interrupted = error { throw error }
            // No fragmented file here (tmpfs has no extents, no space...): every class case is skipped with the reason.
            let failures = Dictionary(uniqueKeysWithValues: specs.indices.map { ($0, error) })
            return CaseBatch(target: try Target.open(TargetRequest(path: try resolveTargetPath())), specs: specs, planFailures: failures)
        }
        let (plans, failures) = try planClasses(specs, target: fragmented, skipFailures: true)
        return CaseBatch(target: fragmented, specs: specs, plans: plans, planFailures: failures)
    }

    /// Prepares the default run's fragmented file. Another default run may finish the
    /// same file first (prepare never renames over it): then that one is used.
    static func prepareUnlessAnotherRunDid(path: String, size: UInt64, layout: Layout, log: (String) -> Void) throws(IOBenchError) {
        do {
            _ = try LayoutBuilder.prepare(path: path, size: size, layout: layout, force: false, log: log)
        } catch {
            if case .interrupted = error { throw error }
            var st = stat()
            guard stat(path, &st) == 0 else { throw error }
            log("iobench: \(path) was prepared by another iobench meanwhile; using it")
        }
    }

    static func fragmentedPath(in scratchDirectory: String) -> String {
        (scratchDirectory.hasSuffix("/") ? scratchDirectory : scratchDirectory + "/") + "iobench-fragmented.dat"
    }

    /// Plans every class once per block size (`ClassSuite.planClasses`).
    func planClasses(_ specs: [CaseSpec], target: Target, skipFailures: Bool) throws -> ([Int: ClassPlan], [Int: IOBenchError]) {
        try ClassSuite.planClasses(specs, target: target, skipFailures: skipFailures)
    }

    /// `simple,single-extent:8k` → [(simple, nil), (single-extent, 8192)].
    static func parseClasses(_ text: String) throws -> [(PathClass, Int?)] {
        try text.split(separator: ",", omittingEmptySubsequences: false).map { item in
            guard !item.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw IOBenchError.badInput("--class '\(text)' is empty or has an empty item; name classes from \(PathClass.allCases.map(\.rawValue).joined(separator: ", ")), comma-separated, e.g. --class simple,multi-extent:8k")
            }
            let parts = item.split(separator: ":", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
            guard let c = PathClass(rawValue: parts[0]) else {
                throw IOBenchError.badInput("unknown class '\(parts[0])'; choose from \(PathClass.allCases.map(\.rawValue).joined(separator: ", ")), optionally with a block size, e.g. single-extent:8k")
            }
            let bs = try parts.count > 1 ? Int(Units.parseSize(parts[1], option: "class \(parts[0])")) : nil
            return (c, bs)
        }
    }

    /// Every output is checked before anything is measured: its directory exists, and the
    /// output rule (`OutputGuard`) allows writing it. `--plot DIR` is created now.
    func checkOutputPaths(_ outputs: OutputGuard, specs: [CaseSpec], labels: [String?] = [nil]) throws {
        // --plot's directory first: another output may be named inside it.
        if let plotDir { try PlotFiles.makeDirectory(plotDir, option: "--plot") }
        var files = [("--output", output), ("--hist-log", histLog)].compactMap { o, p in p.map { (o, $0) } }
        for (option, file) in files { try outputs.check(file, option: option) }
        if let hgrmDir {
            var st = stat()
            guard stat(hgrmDir, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
                throw IOBenchError.badInput("--hgrm \(hgrmDir) is not a directory; create it first")
            }
            for label in labels {
                for spec in specs {
                    let file = hgrmDir + "/" + Self.hgrmName(id: CaseResult.makeID(spec), label: label)
                    try outputs.check(file, option: "--hgrm")
                    files.append(("--hgrm", file))
                }
            }
        }
        if let plotDir {
            for name in PlotFiles.fileNames {
                try outputs.check(plotDir + "/" + name, option: "--plot")
                files.append(("--plot", plotDir + "/" + name))
            }
        }
        // No output may land on another: the last one written would silently win.
        var seen: [String: (String, String)] = [:]
        for (option, file) in files {
            let key = OutputGuard.canonical(file)
            if let (other, otherFile) = seen[key], otherFile != file || other != option {
                throw IOBenchError.badInput("\(other) and \(option) name the same file (\(file)); give each output its own file")
            }
            seen[key] = (option, file)
        }
    }

    func runtimeNanoseconds() throws -> UInt64 {
        try Units.parseDuration(runtime ?? (isDefaultSuite ? "500ms" : "3s"), option: "runtime")
    }

    func rampNanoseconds() throws -> UInt64 {
        try Units.parseDuration(rampTime ?? (isDefaultSuite ? "200ms" : "500ms"), option: "ramp-time")
    }

    func latencyEvery() throws -> Int {
        if noLatency { return 0 }
        guard latencySample >= 0 && latencySample <= 1_000_000 else {
            throw IOBenchError.badInput("--latency-sample \(latencySample) is invalid; use 1 (every read), N up to 1000000 (1 commit in N), or --no-latency")
        }
        return latencySample
    }

    func cpuNumbers() throws -> [Int] {
        try cpus.map { list in
            try list.split(separator: ",", omittingEmptySubsequences: false).map { c in
                guard let v = Int(c.trimmingCharacters(in: .whitespaces)), v >= 0 else {
                    throw IOBenchError.badInput("--cpus '\(list)' is not a list of CPU numbers; write e.g. --cpus 0,1")
                }
                return v
            }
        } ?? []
    }

    /// A spec with the run's shared settings (jobs, CPUs, seed, timing, verify).
    func baseSpec(engine e: EngineKind, queueDepth: Int, blockSize: Int) throws -> CaseSpec {
        var s = CaseSpec(engine: e)
        s.queueDepth = queueDepth
        s.blockSize = blockSize
        s.jobs = numjobs
        s.seed = seed
        s.rampNs = try rampNanoseconds()
        s.runtimeNs = numberIOs == nil ? try runtimeNanoseconds() : nil
        s.ioLimit = numberIOs
        s.verify = verify
        s.continueOnError = continueOnError
        s.latencySample = try latencyEvery()
        s.cpus = try cpuNumbers()
        guard let p = AccessPattern(rawValue: rw) else {
            throw IOBenchError.badInput("--rw '\(rw)' is not known; use randread (random) or read (sequential)")
        }
        s.pattern = p
        return s
    }

    /// `--hgrm`'s file for a case: `<case id>.hgrm`, or `<label>_<case id>.hgrm` for a
    /// case of a labelled target.
    static func hgrmName(id: String, label: String?) -> String {
        guard let label, !label.isEmpty else { return id + ".hgrm" }
        return label + "_" + id + ".hgrm"
    }

    /// A target's label: 1 to 32 of letters, digits, '.', '_' and '-', not starting with
    /// '.', '_' or '-'.
    static func isValidLabel(_ s: Substring) -> Bool {
        guard let first = s.first, s.count <= 32, first.isASCII, first.isLetter || first.isNumber else { return false }
        return s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") }
    }

    /// `--target PATH` or `--target LABEL=PATH`. An argument naming an existing path is
    /// that path even when it holds '='. Otherwise text before the first '=' with no '/'
    /// in it is meant as a label and must be a valid one (a typo is refused, never
    /// created as a file); PATH may hold '=' too. A new file whose name holds '=' is
    /// written with a directory: ./k=v.dat.
    static func parseTarget(_ arg: String) throws -> (label: String?, path: String) {
        var st = stat()
        if lstat(arg, &st) == 0 { return (nil, arg) }
        guard let eq = arg.firstIndex(of: "="), !arg[..<eq].contains("/") else { return (nil, arg) }
        guard isValidLabel(arg[..<eq]) else {
            throw IOBenchError.badInput("--target '\(Units.printable(arg))': '\(Units.printable(String(arg[..<eq])))' is not a valid label (1 to 32 of A-Z a-z 0-9 . _ -, starting with a letter or digit); fix the label, or, for a new file whose name holds '=', give its path with a directory (./NAME)")
        }
        let path = String(arg[arg.index(after: eq)...])
        guard !path.isEmpty else {
            throw IOBenchError.badInput("--target '\(Units.printable(arg))' has a label but no path; write --target LABEL=PATH, e.g. --target \(arg[..<eq])=/mnt/ext4/iobench.dat")
        }
        return (String(arg[..<eq]), path)
    }

    /// The targets to read, in the order given, each with its label: nil for a run of
    /// one target (no target key: ids and baselines as always), else `LABEL` or the
    /// file name. Duplicate labels and one file named twice are refused.
    func resolveTargets() throws -> [(label: String?, path: String)] {
        if target.count <= 1 { return [(nil, try resolveTargetPath())] }
        var out: [(label: String?, path: String)] = []
        var identities: [(String, String)] = []  // (file identity, path as given)
        for arg in target {
            let (given, path) = try Self.parseTarget(arg)
            let name = Self.fileName(path)
            let label = given ?? Self.defaultLabel(path)
            // One file twice (a hard link, a symlink, two names of a device) first: the
            // labels would collide too, but that is not the mistake.
            let id = Self.fileIdentity(path)
            if let (_, otherPath) = identities.first(where: { $0.0 == id }) {
                throw IOBenchError.badInput("--target \(otherPath) and --target \(path) are the same file; name each target once, e.g. --target a=PATH1 --target b=PATH2")
            }
            identities.append((id, path))
            guard Self.isValidLabel(Substring(label)) else {
                throw IOBenchError.badInput("the file name '\(Units.printable(name))' of --target \(Units.printable(path)) cannot be its label (1-32 of A-Z a-z 0-9 . _ -, starting with a letter or digit); label it: --target a=\(Units.printable(path))")
            }
            if let other = out.first(where: { $0.label == label }) {
                throw IOBenchError.badInput("two targets are labelled '\(label)' (\(other.path) and \(path)); give each its own label, e.g. --target a=\(other.path) --target b=\(path)")
            }
            out.append((label, path))
        }
        return out
    }

    /// The label of a target given without one: its file name, with characters a label
    /// cannot hold written as '_' (`k=v.dat` → `k_v.dat`).
    static func defaultLabel(_ path: String) -> String {
        String(fileName(path).map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") ? $0 : "_" })
    }

    static func fileName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    /// What makes two paths one file: the device of a block device, the inode of an
    /// existing file, else the canonical path of a file still to be created.
    static func fileIdentity(_ path: String) -> String {
        var st = stat()
        if stat(path, &st) == 0 {
            if (st.st_mode & S_IFMT) == S_IFBLK { return "blk:\(st.st_rdev)" }
            return "ino:\(st.st_dev):\(st.st_ino)"
        }
        return "path:" + OutputGuard.canonical(path)
    }

    /// Two opened targets that are one file (a hard link, or two names of one device).
    static func sameFile(_ a: Target, _ b: Target) -> Bool {
        var sa = stat(), sb = stat()
        guard fstat(a.fd, &sa) == 0, fstat(b.fd, &sb) == 0 else { return false }
        if (sa.st_mode & S_IFMT) == S_IFBLK || (sb.st_mode & S_IFMT) == S_IFBLK { return sa.st_rdev == sb.st_rdev }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }

    func resolveTargetPath() throws -> String {
        if let first = target.first { return try Self.parseTarget(first).path }
        let base = dir ?? ProcessInfo.processInfo.environment["IOBENCH_DIR"] ?? NSTemporaryDirectory()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: base, isDirectory: &isDir) else {
            throw IOBenchError.badInput("directory \(base) does not exist; create it, or pass an existing directory with --dir (or set IOBENCH_DIR)")
        }
        guard isDir.boolValue else {
            throw IOBenchError.badInput("\(base) is not a directory; pass a directory with --dir (or set IOBENCH_DIR)")
        }
        return (base.hasSuffix("/") ? base : base + "/") + "iobench.dat"
    }

    func makeSpecs() throws -> [CaseSpec] {
        var engines: [EngineKind] = EngineKind.allCases
        if let engine {
            engines = try engine.split(separator: ",", omittingEmptySubsequences: false).map { name in
                guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw IOBenchError.badInput("--engine '\(engine)' is empty or has an empty item; name engines from \(EngineKind.allCases.map(\.rawValue).joined(separator: ", ")), comma-separated")
                }
                guard let e = EngineKind(rawValue: String(name).trimmingCharacters(in: .whitespaces)) else {
                    throw IOBenchError.badInput("unknown engine '\(name)'; choose from \(EngineKind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return e
            }
        }
        engines = engines.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
        var depths = [1, 32]
        if let iodepth {
            depths = try iodepth.split(separator: ",", omittingEmptySubsequences: false).map { d in
                guard let v = Int(d.trimmingCharacters(in: .whitespaces)) else {
                    throw IOBenchError.badInput("--iodepth '\(iodepth)' is not a list of whole numbers; write e.g. --iodepth 32 or --iodepth 1,32")
                }
                guard v >= 1 else {
                    throw IOBenchError.badInput("--iodepth \(v) is invalid; the queue depth must be at least 1")
                }
                return v
            }
            depths = depths.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
        }
        let blockSize = try Units.parseSize(bs, option: "bs")
        guard blockSize > 0, blockSize <= 64 << 20 else {
            throw IOBenchError.badInput("--bs \(bs) is out of range; use 512 bytes to 64m")
        }
        var options = EngineOptions()
        options.hipri = hipri
        options.fixedBuffers = fixedBuffers
        options.registeredFiles = registeredFiles
        options.sqpoll = sqpoll
        options.plainRing = plainRing
        options.submitBatch = submitBatch
        options.completeBatch = completeBatch

        let classes: [(PathClass?, Int?)] = try pathClasses.map { try Self.parseClasses($0) } ?? [(nil, nil)]
        var specs: [CaseSpec] = []
        for e in engines {
            let engineDepths = e.isSynchronous ? [1] : depths
            for qd in engineDepths {
              for (cls, classBS) in classes {
                var s = try baseSpec(engine: e, queueDepth: qd, blockSize: classBS ?? Int(blockSize))
                s.pathClass = cls
                var o = options
                if !e.usesIoUring { o.fixedBuffers = false; o.registeredFiles = false; o.sqpoll = false; o.plainRing = false }
                if e != .pvsync2 { o.hipri = false }
                // Batches never exceed the queue (a QD1 case in a QD1,32 sweep).
                o.submitBatch = min(o.submitBatch, qd)
                o.completeBatch = min(o.completeBatch, qd)
                s.options = o
                try s.validate()
                specs.append(s)
              }
            }
        }
        // Options the user named for engines that do not take them are a mistake to report.
        if engine != nil {
            if (fixedBuffers || registeredFiles || sqpoll) && !engines.contains(where: \.usesIoUring) {
                throw IOBenchError.badInput("--fixed-buffers, --registered-files and --sqpoll apply to io_uring engines only; add --engine io_uring")
            }
            if hipri && !engines.contains(.pvsync2) {
                throw IOBenchError.badInput("--hipri applies to pvsync2 only; add --engine pvsync2 (io_uring-poll is the async polled engine)")
            }
        }
        if let iodepth, let engine, engines.allSatisfy(\.isSynchronous), depths != [1] {
            throw IOBenchError.badInput("--iodepth \(iodepth) with \(engine): sync engines keep one read in flight; use --iodepth 1, or an async engine (libaio, io_uring)")
        }
        return specs
    }
}

import ArgumentParser
import Foundation
import IOBenchKit

/// `run`: what to read, where, and for how long.
struct WorkloadOptions: ParsableArguments {
    @Option(name: .long, help: ValueList.engineHelp,
            completion: .list(EngineRegistry.names), transform: { try ValueList.engines($0) })
    var engine: [EngineKind]?

    @Option(name: .long, help: ArgumentHelp("Block size of each read, a multiple of the target's logical block size.", valueName: "size"))
    var bs: String = "4k"

    @Option(name: .customLong("class"), help: ArgumentHelp("Path classes, comma-separated, each optionally with its own block size: \(ValueList.names(PathClass.self)) (e.g. simple:4k,single-extent:8k,multi-extent:8k). Positions are planned from the file's extent map (FIEMAP) so every read meets its class.", valueName: "list"),
            completion: .list(PathClass.allValueStrings), transform: { try ValueList.classes($0) })
    var pathClasses: [ClassChoice]?

    @Option(name: .long, help: ArgumentHelp("Reads in flight per job, comma-separated for several cases. Sync engines always use 1. Default: 1,32.", valueName: "list"))
    var iodepth: String?

    @Option(name: .long, help: ArgumentHelp("Access pattern: randread (random) or read (sequential).", valueName: "pattern"))
    var rw: AccessPattern = .random

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

    @Option(name: .long, help: ArgumentHelp("File or block device to read (block devices are opened read-only). A missing file is created and filled. Default: iobench.dat in --dir. Repeatable: --target LABEL=PATH runs every case on every target, each case identified by its id and LABEL (default: the file name); LABEL is 1-32 of A-Z a-z 0-9 . _ - (e.g. ext4=/mnt/ext4/t.dat). A comma list is several targets (--target A,B); a path that exists is always one path, '=' or ',' in it or not.", valueName: "[label=]path"),
            completion: .file())
    var target: [String] = []

    @Option(name: .long, help: ArgumentHelp("Directory of the scratch file. Default: $IOBENCH_DIR, else the system temp directory.", valueName: "dir"),
            completion: .directory)
    var dir: String?

    @Flag(name: .long, help: "Check that every read returned the data iobench wrote at its offset (targets iobench created).")
    var verify = false

    @Flag(name: .customLong("verify-path"), help: "With --class: trace a short pass per class (tracefs, root) and report the kernel's mappings and bios per read next to what the class promises, and whether the kernel's simple read path is active. On by default in the default suite when tracing is available.")
    var verifyPath = false

    @Option(name: .long, help: ArgumentHelp("Run every case N times, in rounds: every case once per round, the order rotated each round. Reports each repeat, the merged histogram and the spread (min, median, max) of IOPS and percentiles. Path-class Δs are paired round by round against their like-for-like reference, with a 95% interval over the rounds (needs 2 or more; 3 or more recommended). With 3 or more, 'iobench compare' estimates the run-to-run noise from the repeats. Default: 1 (\(RunRequest.defaultSuiteRounds) in the default suite).", valueName: "n"))
    var `repeat`: Int?

    @Option(name: .customLong("latency-sample"), help: ArgumentHelp("Time the reads of 1 commit in N (one clock read per sampled batch, as t/io_uring samples); IOPS still counts every read. Default 1: every read.", valueName: "n"))
    var latencySample: Int = 1

    @Flag(name: .customLong("no-latency"), help: "Peak mode: time no read (IOPS, bandwidth and CPU time only). Same as --latency-sample 0.")
    var noLatency = false

    @Option(name: .long, help: ArgumentHelp("Clock that stamps each read: tsc (the CPU's time-stamp counter read with rdtscp, no vDSO call, converted to ns by a calibration against CLOCK_MONOTONIC at the start of the run and checked after every case; over 0.1% drift the rest of the run falls back to monotonic) or monotonic (CLOCK_MONOTONIC through the vDSO, the kernel's clock, tens of ns a read on some machines). The TSC needs x86_64 and the constant_tsc and nonstop_tsc CPU flags. Default: tsc when usable, else monotonic (the JSON's clock object says why).", valueName: "clock"))
    var clock: ClockSource?

    @Option(name: .customLong("rate-iops"), help: ArgumentHelp("Open loop: issue reads at this rate per job (reads per second, e.g. 5000, 50k, 1.5M), comma-separated for one case per rate. Each read has an intended issue time from the arrival schedule; --iodepth caps the reads in flight, and arrivals that find it full wait in order and keep their intended times. Reports the response time (completion − intended issue time, which a stall cannot hide: no coordinated omission), the service time (completion − submit, the 'latency' of a closed loop), the issue lag, the achieved rate, and 'saturated' when under 99% of the rate was achieved or the backlog grew.", valueName: "list"))
    var rateIOPS: String?

    @Option(name: .long, help: ArgumentHelp("The latency–throughput curve: run every case closed-loop first (its peak IOPS), then open-loop at each of these percentages of that peak, comma-separated (e.g. 10%,25%,50%,75%,90%,100%). Each load point is a case with id suffix -loadP, so compare pairs the same point across runs; the report draws response time against achieved IOPS.", valueName: "list"))
    var load: String?

    @Option(name: .long, help: ArgumentHelp("With --rate-iops or --load: uniform (exactly 1/rate apart, fio's rate_process=linear) or poisson (exponential gaps, fio's poisson); reproducible from --seed. Default: uniform.", valueName: "process"))
    var arrival: ArrivalProcess?

    @Flag(name: .customLong("continue-on-error"), help: "Keep reading after I/O errors and short reads. They are still counted and reported (with the first error's text), but the case does not fail for them.")
    var continueOnError = false

    /// Fills the workload half of `request`: text values parsed, each error naming its option.
    func apply(to request: inout RunRequest) throws {
        request.targets = try RunTargets.expandLists(target)
        if request.targets.count > target.count {
            // A new file's name with a comma would be split too: say how it was read.
            StandardError.write("iobench: note: --target \(target.filter { $0.contains(",") }.joined(separator: " ")) read as \(request.targets.count) targets: \(request.targets.joined(separator: "  "))\n")
        }
        request.scratchDirectory = dir
        request.engines = engine
        request.classes = pathClasses
        if let iodepth {
            request.queueDepths = try iodepth.split(separator: ",", omittingEmptySubsequences: false).map { d in
                guard let v = Int(d.trimmingCharacters(in: .whitespaces)) else {
                    throw IOBenchError.badInput("--iodepth '\(iodepth)' is not a list of whole numbers; write e.g. --iodepth 32 or --iodepth 1,32")
                }
                return v
            }
        }
        request.blockSize = Int(clamping: try Units.parseSize(bs, option: "bs"))
        request.pattern = rw
        request.jobs = numjobs
        request.cpus = try cpus.map { list in
            try list.split(separator: ",", omittingEmptySubsequences: false).map { c in
                guard let v = Int(c.trimmingCharacters(in: .whitespaces)), v >= 0 else {
                    throw IOBenchError.badInput("--cpus '\(list)' is not a list of CPU numbers; write e.g. --cpus 0,1")
                }
                return v
            }
        } ?? []
        // Checked even next to --number-ios: a typo is never ignored.
        request.runtimeNs = try runtime.map { try Units.parseDuration($0, option: "runtime") }
        request.ioLimit = numberIOs
        request.rampNs = try rampTime.map { try Units.parseDuration($0, option: "ramp-time") }
        request.regionSize = try size.map { try Units.parseSize($0, option: "size") }
        request.seed = seed
        request.verify = verify
        request.verifyPath = verifyPath
        request.repeats = `repeat`
        request.latencySample = noLatency ? 0 : latencySample
        request.continueOnError = continueOnError
        request.clock = clock
        request.rates = try rateIOPS.map { list in
            try list.split(separator: ",", omittingEmptySubsequences: false).map { try Units.parseRate(String($0), option: "rate-iops") }
        }
        request.loads = try load.map { list in
            try list.split(separator: ",", omittingEmptySubsequences: false).map { item in
                let t = item.trimmingCharacters(in: .whitespaces)
                let number = t.hasSuffix("%") ? String(t.dropLast()) : t
                guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let v = Double(number) else {
                    throw IOBenchError.badInput("--load '\(Units.printable(list))' is not a list of percentages; write e.g. --load 10%,50%,90%")
                }
                return v
            }
        }
        if arrival != nil && rateIOPS == nil && load == nil {
            throw IOBenchError.badInput("--arrival spaces the reads of an open loop; add --rate-iops (e.g. --rate-iops 5000) or --load")
        }
        request.arrival = arrival ?? .uniform
    }
}

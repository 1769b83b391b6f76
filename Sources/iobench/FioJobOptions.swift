import ArgumentParser
import Foundation
import IOBenchKit

/// `run --fio-job FILE`: the cases come from an fio job file (docs/fio.md).
struct FioJobOptions: ParsableArguments {
    @Option(name: .customLong("fio-job"), help: ArgumentHelp("Run an fio job file: each job section is one case, labelled with its name, run one after another. The file sets the workload, so workload and engine options are refused beside it; output and profile options, --repeat, --clock, --latency-sample, --no-latency, --verify and --continue-on-error apply. Keys iobench does not map are refused (exit 2) unless listed in --fio-ignore. See docs/fio.md.", valueName: "file"),
            completion: .file())
    var jobFile: String?

    @Option(name: .customLong("section"), help: ArgumentHelp("With --fio-job: run only these job sections (repeatable, or comma-separated), as fio's --section; [global] sections always apply.", valueName: "name"))
    var sections: [String] = []

    @Option(name: .customLong("fio-ignore"), help: ArgumentHelp("With --fio-job: keys to read past instead of refusing (repeatable, or comma-separated), e.g. --fio-ignore invalidate,lat_percentiles. The run then differs from fio's by what they do.", valueName: "keys"))
    var ignore: [String] = []

    /// Workload options that apply to a job file's cases too: how iobench measures,
    /// not what it reads.
    static let measuringFlags: Set<String> = ["repeat", "latency-sample", "no-latency", "clock", "verify", "continue-on-error"]

    /// The job file key that takes the place of a refused flag.
    static let fioKeys = [
        "engine": "ioengine", "bs": "bs", "iodepth": "iodepth", "rw": "rw", "numjobs": "numjobs", "cpus": "cpus_allowed",
        "size": "size", "runtime": "runtime", "number-ios": "number_ios", "ramp-time": "ramp_time", "seed": "randseed",
        "target": "filename", "dir": "directory", "rate-iops": "rate_iops", "arrival": "rate_process",
        "fixed-buffers": "fixedbufs", "registered-files": "registerfiles", "sqpoll": "sqthread_poll", "hipri": "hipri",
        "submit-batch": "iodepth_batch_submit", "complete-batch": "iodepth_batch_complete_min",
    ]

    /// The long flags of the Workload and Engine options groups, from their help (so a
    /// new option is refused beside --fio-job until it is listed in `measuringFlags`).
    static var workloadFlags: Set<String> {
        var flags = Set<String>()
        for help in [WorkloadOptions.helpMessage(columns: 100_000), EngineTuningOptions.helpMessage(columns: 100_000)] {
            for line in help.split(separator: "\n") {
                let t = line.drop { $0 == " " }
                guard t.hasPrefix("--") else { continue }
                flags.insert(String(t.dropFirst(2).prefix { $0.isLetter || $0.isNumber || $0 == "-" }))
            }
        }
        return flags.subtracting(measuringFlags)
    }

    /// The job file read and mapped, or nil without --fio-job. `arguments` is the
    /// command line, to find workload options given beside it.
    func load(arguments: [String]) throws -> FioJob? {
        guard let jobFile else {
            if !sections.isEmpty || !ignore.isEmpty {
                throw IOBenchError.badInput("--section and --fio-ignore read an fio job file; add --fio-job FILE")
            }
            return nil
        }
        let refused = Self.workloadFlags
        for arg in arguments.dropFirst() {
            if arg == "--" { break }
            guard arg.hasPrefix("--") else { continue }
            let flag = String(arg.dropFirst(2).prefix { $0 != "=" })
            guard refused.contains(flag) else { continue }
            let fix = Self.fioKeys[flag].map { "set \($0)= in \(jobFile)" } ?? "an fio job file has no such setting"
            throw IOBenchError.badInput("--\(flag) cannot be combined with --fio-job: the job file sets the workload; \(fix), or run without --fio-job")
        }
        let list = { (values: [String], option: String) throws -> [String] in
            try values.flatMap { v in
                try v.split(separator: ",", omittingEmptySubsequences: false).map { item in
                    let name = item.trimmingCharacters(in: .whitespaces)
                    guard !name.isEmpty else { throw IOBenchError.badInput("\(option) '\(Units.printable(v))' has an empty item; write names, comma-separated") }
                    return name
                }
            }
        }
        let wanted = try list(sections, "--section")
        return try FioJob.load(path: jobFile, sections: wanted.isEmpty ? nil : wanted, ignoring: try list(ignore, "--fio-ignore"))
    }
}

extension FioJobOptions {
    /// A message of the run (a case's reason, an error) with each option flag it names
    /// spelled as the job file's key: a job file's user fixes `size=` in the file, not a
    /// `--size` that --fio-job refuses.
    func jobFileTerms(_ message: String) -> String {
        guard let jobFile else { return message }
        var out = message
        // "--engine io_uring" → "ioengine=io_uring (in FILE)"; a following word is the
        // flag's value only when it holds a digit or is an engine's name.
        let value = #"(?: ((?:[A-Za-z0-9._:-]*[0-9][A-Za-z0-9._:-]*)|psync|pvsync2|libaio|io_uring-poll|io_uring)(?![A-Za-z0-9_-]))?"#
        for (flag, key) in Self.fioKeys.sorted(by: { $0.key.count > $1.key.count }) {
            out = out.replacingOccurrences(of: "--\(flag)(?![A-Za-z0-9-])" + value, with: "\(key)=$1 (in \(jobFile))", options: .regularExpression)
        }
        return out
    }

    /// `error` with its message in the job file's terms (see `jobFileTerms`).
    func jobFileTerms(_ error: Error) -> Error {
        guard jobFile != nil, let e = error as? IOBenchError else { return error }
        return e.mapMessage(jobFileTerms)
    }
}


/// fio's option names, for the engineer whose fingers type them: an option iobench does
/// not know that is fio's gets one line naming iobench's equivalent, or saying why there
/// is none, in place of "Unknown option" (or a "Did you mean '--dir'?" for --direct).
/// Names iobench shares with fio (--numjobs, --size, --runtime, --hipri, ...) parse as
/// they are and never reach this table.
enum FioHints {
    static let equivalents: [String: String] = [
        "filename": "--target PATH (a file or a block device; repeat --target for several)",
        "directory": "--dir DIR (iobench creates its scratch file there)",
        "ioengine": "--engine NAME (psync, pvsync2, libaio, io_uring, io_uring-poll; a comma list runs each)",
        "direct": "nothing: iobench always reads with O_DIRECT; drop --direct",
        "readwrite": "--rw randread|read (iobench only reads)",
        "blocksize": "--bs SIZE",
        "time_based": "nothing: iobench runs for --runtime unless --number-ios is given; drop --time_based",
        "ramp_time": "--ramp-time DURATION",
        "number_ios": "--number-ios N",
        "fixedbufs": "--fixed-buffers",
        "registerfiles": "--registered-files",
        "sqthread_poll": "--sqpoll",
        "iodepth_batch": "--submit-batch N",
        "iodepth_batch_submit": "--submit-batch N",
        "iodepth_batch_complete": "--complete-batch N",
        "iodepth_batch_complete_min": "--complete-batch N",
        "cpus_allowed": "--cpus LIST",
        "cpumask": "--cpus LIST (a CPU list, not a mask)",
        "randseed": "--seed N",
        "rate_iops": "--rate-iops N (open loop: reads are issued on a schedule, latency counted from it)",
        "rate_process": "--arrival uniform|poisson",
        "group_reporting": "nothing: iobench reports the jobs of a case summed, and each job in JSON",
        "percentile_list": "--percentiles LIST (e.g. 50,99,99.9)",
        "output-format": "--format text|json|markdown|csv|junit",
        "write_hist_log": "--hist-log FILE (HdrHistogram interval log)",
        "log_hist_msec": "--hist-interval DURATION",
        "write_lat_log": "--hist-log FILE (a histogram per interval, not every latency)",
        "loops": "--repeat N",
        "name": "nothing: cases are named by engine, block size and depth (a fio job file's sections keep their names with --fio-job)",
        "thread": "nothing: iobench's jobs are always threads",
        "invalidate": "nothing: O_DIRECT reads bypass the page cache",
        "lat_percentiles": "nothing: latency is always submission to completion",
        "clat_percentiles": "nothing: latency is always submission to completion",
        "rwmixread": "nothing: iobench only reads",
        "fsync": "nothing: iobench only reads",
        "end_fsync": "nothing: iobench only reads",
        "buffered": "nothing: iobench always reads with O_DIRECT",
        "norandommap": "nothing: iobench's random offsets are uniform with repeats, as fio's norandommap",
    ]

    static let writeModes: Set<String> = ["write", "randwrite", "rw", "readwrite", "randrw", "trim", "randtrim", "trimwrite"]

    /// The hint for the fio option among `arguments` that the parser's `error` names, as
    /// one line, or nil (another option is wrong: its own message is the one to show).
    /// Outside `run`, the hint says the equivalent is run's.
    static func hint(for arguments: [String], error: String, subcommand: String) -> String? {
        guard var text = hint(for: arguments.filter { a in
            let name = a.drop { $0 == "-" }.prefix { $0 != "=" }
            return !name.isEmpty && error.contains("--\(name)")
        }) else { return nil }
        if subcommand != "run" { text += " (an option of 'iobench run'; 'iobench \(subcommand)' has no such option)" }
        return text
    }

    /// The hint for the first fio option among `arguments`, as one line, or nil.
    static func hint(for arguments: [String]) -> String? {
        for arg in arguments where arg.hasPrefix("-") && arg != "--" {
            let body = arg.drop { $0 == "-" }
            let name = String(body.prefix { $0 != "=" }).lowercased()
            let value = body.contains("=") ? String(body.drop { $0 != "=" }.dropFirst()) : nil
            if name == "rw" || name == "readwrite", let value, writeModes.contains(value.lowercased()) {
                return "\(arg): iobench only reads (O_DIRECT reads, latency and IOPS); writes are not measured. Use --rw randread or --rw read"
            }
            if let equivalent = equivalents[name] {
                if equivalent.hasPrefix("nothing: ") {
                    return "\(arg) is fio's option and iobench needs none: " + equivalent.dropFirst("nothing: ".count)
                }
                return "\(arg) is fio's option; iobench's is \(equivalent)"
            }
        }
        return nil
    }
}

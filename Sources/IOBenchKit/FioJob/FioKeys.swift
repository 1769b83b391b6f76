/// The fio keys `--fio-job` reads, and why the others are refused.
enum FioKeys {
    /// Every key iobench maps (fio's main names; `FioJobFile.aliases` gives the others).
    /// docs/fio.md has the table.
    static let mapped: Set<String> = [
        "name", "description", "ioengine", "rw", "bs", "iodepth", "numjobs", "size", "runtime", "time_based",
        "ramp_time", "number_ios", "direct", "buffered", "fixedbufs", "registerfiles", "sqthread_poll", "hipri",
        "iodepth_batch_submit", "iodepth_batch_complete_min", "cpus_allowed", "cpus_allowed_policy", "randseed",
        "randrepeat", "rate_iops", "rate_process", "group_reporting", "percentile_list", "kb_base", "filename",
        "directory", "stonewall", "thread", "norandommap",
    ]

    /// Why a key iobench does not map is refused: a specific reason for keys people
    /// commonly write, else the general one.
    static func refusal(_ key: String) -> String {
        for (keys, why) in reasons where keys.contains(key) { return why }
        if key.hasPrefix("verify") { return "iobench only reads; 'iobench run --verify' checks the data iobench wrote" }
        if key.hasPrefix("write_") && key.hasSuffix("_log") || key.hasPrefix("log_") {
            return "iobench keeps its own logs (--hist-log, --output)"
        }
        return "iobench does not map this key, so the run would not be the one fio runs"
    }

    private static let reasons: [([String], String)] = [
        (["offset", "offset_increment", "offset_align"], "iobench reads from the start of the file (offset 0)"),
        (["filesize", "nrfiles", "openfiles", "file_service_type", "filename_format", "unique_filename", "create_only",
          "create_on_open", "allow_file_create", "fill_device", "fill_fs"],
         "iobench reads one file per section, size= bytes of it"),
        (["bsrange", "blocksize_range", "bssplit", "bs_unaligned", "blocksize_unaligned", "blockalign", "ba", "bs_is_seq_rand"],
         "iobench reads one block size per case"),
        (["rwmixread", "rwmixwrite", "percentage_random", "percentage_sequential", "rw_sequencer", "random_distribution",
          "random_generator"],
         "iobench reads uniformly at random (rw=randread) or in order (rw=read)"),
        (["do_verify", "fsync", "fdatasync", "end_fsync", "fsync_on_close", "sync", "write_barrier", "trim_percentage",
          "buffer_pattern", "refill_buffers", "scramble_buffers", "zero_buffers", "buffer_compress_percentage",
          "dedupe_percentage", "overwrite"],
         "iobench only reads"),
        (["thinktime", "thinktime_blocks", "thinktime_spin", "thinktime_iotime", "thinktime_blocks_type"],
         "iobench issues reads without pauses"),
        (["rate", "rate_min", "ratemin", "rate_iops_min", "rate_cycle", "rate_ignore_thinktime"],
         "iobench sets a rate in reads per second only: use rate_iops"),
        (["loops"], "iobench runs each case once ('iobench run --repeat N' repeats it)"),
        (["startdelay", "wait_for", "wait_for_previous", "new_group", "exitall", "exit_what", "exitall_on_error"],
         "iobench runs the sections one after another, each on its own"),
        (["io_size", "io_limit"], "iobench reads for runtime or number_ios reads over size= bytes; drop io_size"),
        (["invalidate", "pre_read"], "iobench reads with O_DIRECT and does not touch the page cache"),
        (["lat_percentiles", "clat_percentiles", "slat_percentiles", "disable_lat", "disable_clat", "disable_slat",
          "disable_bw_measurement", "gtod_reduce", "clocksource", "significant_figures"],
         "iobench times each read from submission to completion, with its own clock (see docs/fio.md)"),
        (["nowait"], "iobench does not set RWF_NOWAIT"),
        (["iodepth_low", "iodepth_batch_complete_max"], "iobench refills the queue as reads complete and reaps all that are ready"),
        (["ioscheduler", "cgroup", "cgroup_weight", "nice", "prio", "prioclass", "cmdprio_percentage"],
         "iobench does not change the scheduler or priorities; set them on the machine"),
        (["cpumask", "numa_cpu_nodes", "numa_mem_policy"], "iobench pins jobs with cpus_allowed only"),
        (["sqthread_poll_cpu", "nonvectored", "uncached", "force_async", "cmd_type", "userspace_reap", "hipri_percentage"],
         "iobench does not have this engine setting"),
        (["group_id", "unit_base", "per_job_logs", "stats", "steadystate", "ss", "steadystate_duration", "ss_dur"],
         "iobench does not map this reporting setting"),
    ]
}

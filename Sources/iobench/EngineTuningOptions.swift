import ArgumentParser
import IOBenchKit

/// `run`: how the engines talk to the kernel. Each applies to the engines named in its
/// help; naming one without such an engine in --engine is refused.
struct EngineTuningOptions: ParsableArguments {
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

    @Option(name: .customLong("submit-batch"), help: ArgumentHelp("Async engines (libaio, io_uring): reads prepared per submit call (fio's iodepth_batch_submit).", valueName: "n"))
    var submitBatch: Int = 1

    @Option(name: .customLong("complete-batch"), help: ArgumentHelp("Async engines (libaio, io_uring): completions to wait for before reaping (fio's iodepth_batch_complete_min); all that are ready are reaped.", valueName: "n"))
    var completeBatch: Int = 1

    var engineOptions: EngineOptions {
        var o = EngineOptions()
        o.hipri = hipri
        o.fixedBuffers = fixedBuffers
        o.registeredFiles = registeredFiles
        o.sqpoll = sqpoll
        o.plainRing = plainRing
        o.submitBatch = submitBatch
        o.completeBatch = completeBatch
        return o
    }
}

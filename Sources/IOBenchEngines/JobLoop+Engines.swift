import Atomics
import IOBenchPlatform
import IOBenchWorkload

/// Sets up the engine `kind` names and runs the job loop with it. The switch names each
/// engine's concrete type here, in the module that also defines the loop, so the
/// optimiser makes one copy of `runJobLoop` per engine with every per-read call
/// (prepare, commit, reap, the offset, the clock, the record) inlined. A generic call
/// from another module would get the unspecialised loop, which calls the engine through
/// its protocol witness table on every read.
///
/// `engineReady` runs once the engine is set up, before the loop (the caller frees the
/// memory it held in reserve for that set-up). An engine that cannot be set up throws.
public func runEngineJob(
    _ kind: EngineKind,
    setup: EngineSetup,
    plan: JobPlan,
    offsets: inout OffsetGenerator,
    stop: ManagedAtomic<Bool>,
    progress: ManagedAtomic<UInt64>,
    deadlineOut: ManagedAtomic<UInt64>?,
    engineReady: () -> Void
) throws(IOBenchError) -> JobOutcome {
    switch kind {
    case .psync:
        return drive(try PsyncEngine(setup), setup, plan, &offsets, stop, progress, deadlineOut, engineReady)
    case .pvsync2:
        return drive(try Pvsync2Engine(setup), setup, plan, &offsets, stop, progress, deadlineOut, engineReady)
    case .libaio:
        return drive(try LibaioEngine(setup), setup, plan, &offsets, stop, progress, deadlineOut, engineReady)
    case .ioUring:
        return drive(try IoUringEngine(setup), setup, plan, &offsets, stop, progress, deadlineOut, engineReady)
    case .ioUringPoll:
        return drive(try IoUringPollEngine(setup), setup, plan, &offsets, stop, progress, deadlineOut, engineReady)
    }
}

private func drive<E: IOEngine>(_ engine: E, _ setup: EngineSetup, _ plan: JobPlan, _ offsets: inout OffsetGenerator,
                                _ stop: ManagedAtomic<Bool>, _ progress: ManagedAtomic<UInt64>,
                                _ deadlineOut: ManagedAtomic<UInt64>?, _ engineReady: () -> Void) -> JobOutcome {
    engineReady()
    var o = runJobLoop(engine: engine, plan: plan, offsets: &offsets, buffers: setup.buffers, stop: stop,
                       progress: progress, deadlineOut: deadlineOut)
    o.ring = engine.ringInfo
    if o.abandonedReads > 0 {
        // Reads the device never completed still target these buffers, and libaio's
        // io_destroy would wait for them: keep both for the life of the process.
        _ = Unmanaged.passRetained(engine)
        _ = Unmanaged.passRetained(setup.buffers)
    }
    return o
}

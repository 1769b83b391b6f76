import Atomics
import IOBenchPlatform
import IOBenchWorkload

/// Sets up the engine `kind` names and runs the job loop with it: a lookup in
/// `EngineRegistry` and a call of the engine's `run`, written in the engine's file with
/// its concrete type. Each of those closures calls `drive` with a concrete engine in the
/// module that also defines the loop, so the optimiser makes one copy of `runJobLoop`
/// per engine with every per-read call (prepare, commit, reap, the offset, the clock,
/// the record) inlined. A generic call from another module would get the unspecialised
/// loop, which calls the engine through its protocol witness table on every read. The
/// closure is called once per job, never per read.
///
/// `engineReady` runs once the engine is set up, before the loop (the caller frees the
/// memory it held in reserve for that set-up). An engine that cannot be set up throws;
/// a name no engine has is bad input.
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
    let descriptor = try EngineRegistry.descriptor(for: kind)
    return try descriptor.run(setup, plan, &offsets, stop, progress, deadlineOut, engineReady)
}

/// Runs the job loop with a set-up engine: the body of every descriptor's `run`.
func drive<E: IOEngine>(_ engine: E, _ setup: EngineSetup, _ plan: JobPlan, _ offsets: inout OffsetGenerator,
                                _ stop: ManagedAtomic<Bool>, _ progress: ManagedAtomic<UInt64>,
                                _ deadlineOut: ManagedAtomic<UInt64>?, _ engineReady: () -> Void) -> JobOutcome {
    engineReady()
    var o: JobOutcome
    if let open = plan.openLoop {
        o = runOpenLoop(engine: engine, plan: plan, arrivals: open, offsets: &offsets, buffers: setup.buffers,
                        stop: stop, progress: progress, deadlineOut: deadlineOut)
    } else {
        o = runJobLoop(engine: engine, plan: plan, offsets: &offsets, buffers: setup.buffers, stop: stop,
                       progress: progress, deadlineOut: deadlineOut)
    }
    o.ring = engine.ringInfo
    if o.abandonedReads > 0 {
        // Reads the device never completed still target these buffers, and libaio's
        // io_destroy would wait for them: keep both for the life of the process.
        _ = Unmanaged.passRetained(engine)
        _ = Unmanaged.passRetained(setup.buffers)
    }
    return o
}

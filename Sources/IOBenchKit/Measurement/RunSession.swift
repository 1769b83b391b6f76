import Atomics
import Foundation
import Glibc

/// Runs a list of cases over one target, one case at a time, and gathers the result.
/// Cases the machine cannot run are recorded as skipped with the reason (in the default
/// suite) or fail the run (when the user asked for exactly that case).
public final class RunSession {
    public let target: Target
    public let stop = ManagedAtomic<Bool>(false)
    public var showProgress: Bool
    public var arguments: [String]

    public init(target: Target, arguments: [String], showProgress: Bool) {
        self.target = target
        self.arguments = arguments
        self.showProgress = showProgress
    }

    /// Fails with bad input when the machine's configuration rules the engine out, so a
    /// user who asked for it learns the fix before anything runs.
    public static func preflight(_ engine: EngineKind) throws(IOBenchError) {
        if engine.usesIoUring, let d = StorageInfo.ioUringDisabled(), d == 2 {
            throw .badInput("io_uring is disabled on this machine (sysctl kernel.io_uring_disabled=2); enable it with 'sysctl kernel.io_uring_disabled=0' or use --engine libaio")
        }
    }

    /// Why this engine cannot run on this machine and target, or nil.
    public func unsupportedReason(_ engine: EngineKind) -> String? {
        if engine.usesIoUring, let d = StorageInfo.ioUringDisabled(), d == 2 {
            return "io_uring is disabled (sysctl kernel.io_uring_disabled=2)"
        }
        if engine == .ioUringPoll {
            return IoUringPollEngine.unsupportedReason(queue: target.queue, targetPath: target.path)
        }
        return nil
    }

    /// Runs every case. With `skipUnsupported`, a case whose engine the machine lacks is
    /// recorded as skipped rather than attempted.
    public func run(_ specs: [CaseSpec], skipUnsupported: Bool, plans: [Int: ClassPlan] = [:], planFailures: [Int: IOBenchError] = [:]) -> RunResult {
        let started = ISO8601DateFormatter().string(from: Date())
        var results: [CaseResult] = []
        for (index, spec) in specs.enumerated() {
            if stop.load(ordering: .relaxed) { break }
            if skipUnsupported, let why = unsupportedReason(spec.engine) {
                results.append(CaseResult(spec: spec, status: .skipped, reason: why))
                continue
            }
            if let failure = planFailures[index] {
                var r = CaseResult(spec: spec, status: skipUnsupported ? .skipped : .failed, reason: failure.description)
                if !skipUnsupported { r.failureClass = failure.exitCode == 2 ? .badInput : .runFailed }
                results.append(r)
                continue
            }
            let runner = CaseRunner(target: target, spec: spec, stop: stop, classPlan: plans[index])
            let outcomes = OutcomeSlots(count: 0)
            let done = ManagedAtomic<Bool>(false)
            let worker = Thread {
                outcomes.setAll(runner.run())
                done.store(true, ordering: .releasing)
            }
            worker.start()
            let caseStart = monotonicNanoseconds()
            while !done.load(ordering: .acquiring) {
                usleep(100_000)
                if showProgress {
                    let n = runner.progress.reduce(UInt64(0)) { $0 + $1.load(ordering: .relaxed) }
                    let secs = Double(monotonicNanoseconds() - caseStart) / 1e9
                    let line = String(format: "\r[%d/%d] %@  %.1fs  %@ reads", index + 1, specs.count, spec.label, secs, Fmt.count(Double(n)))
                    FileHandle.standardError.write(line.padding(toLength: 72, withPad: " ", startingAt: 0).data(using: .utf8)!)
                }
            }
            if showProgress { FileHandle.standardError.write(("\r" + String(repeating: " ", count: 72) + "\r").data(using: .utf8)!) }
            var result = CaseResult(spec: spec, outcomes: outcomes.all)
            result.plan = plans[index]?.summary
            if result.status == .failed, spec.engine == .ioUringPoll,
               outcomes.all.contains(where: { $0.firstErrno == EOPNOTSUPP }) {
                let why = "every polled read failed with EOPNOTSUPP: the device under \(target.path) has no poll queues"
                if skipUnsupported {
                    result = CaseResult(spec: spec, status: .skipped, reason: why)
                } else {
                    result.reason = why + "; use --engine io_uring, or a device with io_poll=1"
                }
            }
            results.append(result)
        }
        var r = RunResult(startedAt: started, environment: .current(), target: TargetInfo(target),
                          arguments: arguments, cases: results)
        r.interrupted = stop.load(ordering: .relaxed) || results.contains { $0.interrupted }
        return r
    }
}

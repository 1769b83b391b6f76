/// The path-class comparison shared by the default run (`iobench`, on
/// `iobench-fragmented.dat`) and `iobench lab` (on ext4 and XFS): which engines and
/// classes it runs, how the classes are planned from the file's extent map, and the
/// `--verify-path` check that runs after each case.
///
/// The classes come in like-for-like pairs, so every filesystem path has its own floor:
/// `simple` 4k next to `raw` 4k, and `single-extent` 8k / `multi-extent` 8k next to
/// `raw` 8k (the device read at the single-extent 8k positions).
public enum ClassSuite {
    /// Engines and queue depths, from each engine's descriptor (`classSuiteDepth`): the
    /// sync engines at QD1, the async ones at QD32; null and io_uring-nop read no file,
    /// so they have no place here.
    public static var engines: [(engine: EngineKind, queueDepth: Int)] {
        EngineRegistry.all.compactMap { d in d.classSuiteDepth.map { (d.kind, $0) } }
    }

    /// Classes and block sizes per engine, in report order.
    public static let classes: [(pathClass: PathClass, blockSize: Int)] = [
        (.simple, 4096), (.raw, 4096), (.singleExtent, 8192), (.multiExtent, 8192), (.raw, 8192),
    ]

    /// The layout of the suite's file: 16 KiB extents, so every other 16 KiB is a boundary
    /// an 8 KiB read can cross.
    public static let layout = Layout.fragmented(extentBytes: 16 << 10)

    /// Size of the default run's fragmented file (the lab scales its file to its filesystems).
    public static let defaultFileSize: UInt64 = 128 << 20

    /// One spec per engine (of `only`, when given) and class. `makeSpec(engine, queueDepth,
    /// blockSize)` supplies the run's shared settings (timing, seed, jobs).
    public static func specs<E: Error>(engines only: [EngineKind]? = nil,
                                       makeSpec: (EngineKind, Int, Int) throws(E) -> CaseSpec) throws(E) -> [CaseSpec] {
        var specs: [CaseSpec] = []
        for (e, qd) in engines where only?.contains(e) ?? true {
            for (c, bs) in classes {
                var s = try makeSpec(e, qd, bs)
                s.pathClass = c
                specs.append(s)
            }
        }
        return specs
    }

    /// Plans every class once per block size. A class the file cannot serve throws, naming
    /// why (the user asked for it), unless `skipFailures`: then it is returned by case index
    /// and the case is listed as skipped.
    public static func planClasses(_ specs: [CaseSpec], target: Target, skipFailures: Bool) throws(IOBenchError) -> (plans: [Int: ClassPlan], failures: [Int: IOBenchError]) {
        guard specs.contains(where: { $0.pathClass != nil }) else { return ([:], [:]) }
        guard target.kind == .file else {
            throw .badInput("--class needs a file on a filesystem (its extent map decides each read's class); \(target.path) is a block device")
        }
        let map = try ExtentMap.read(fd: target.fd, path: target.path)
        var cache: [String: Result<ClassPlan, IOBenchError>] = [:]
        var plans: [Int: ClassPlan] = [:]
        var failures: [Int: IOBenchError] = [:]
        for (i, s) in specs.enumerated() {
            guard let c = s.pathClass else { continue }
            let key = "\(c.rawValue)/\(s.blockSize)"
            if cache[key] == nil {
                do { cache[key] = .success(try ClassPlanner.plan(c, bs: s.blockSize, target: target, map: map)) } catch {
                    cache[key] = .failure(error)
                }
            }
            switch cache[key]! {
            case .success(let p): plans[i] = p
            case .failure(let e):
                if !skipFailures { throw e }
                failures[i] = e
            }
        }
        return (plans, failures)
    }

    /// The `--verify-path` hook for `RunSession.afterCase`: one traced pass per target,
    /// class and block size, shared by every engine and round. Nil when tracing is not
    /// available here (the report then shows the promise only).
    public static func verifyPathHook() -> ((inout CaseResult, CaseSpec, Target, ClassPlan?) -> Void)? {
        guard PathTracer.unavailableReason() == nil else { return nil }
        var verified: [String: PathVerification] = [:]
        return { result, spec, target, plan in
            guard let plan else { return }
            let key = "\(target.path)/\(plan.summary.pathClass.rawValue)/\(plan.summary.blockSize)"
            if verified[key] == nil {
                verified[key] = PathVerifier.verify(plan: plan, target: target, seed: spec.seed)
            }
            result.pathVerification = verified[key]
        }
    }
}

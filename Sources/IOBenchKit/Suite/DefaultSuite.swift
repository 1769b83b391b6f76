import Foundation
import Glibc

/// `iobench` with no engine, class or target: every engine on the scratch file, then the
/// path classes of `ClassSuite` on a fragmented scratch file beside it.
public enum DefaultSuite {
    /// The class half's file, beside the scratch file.
    public static func fragmentedPath(in scratchDirectory: String) -> String {
        (scratchDirectory.hasSuffix("/") ? scratchDirectory : scratchDirectory + "/") + "iobench-fragmented.dat"
    }

    /// The class half of the default suite: per engine, the like-for-like classes of
    /// `ClassSuite` (simple 4k, raw 4k, single-extent 8k, multi-extent 8k, raw 8k) on
    /// `iobench-fragmented.dat` (16 KiB extents: 8191 boundaries in 128 MiB), prepared
    /// once and reused. Whatever cannot run here is listed as skipped with the reason.
    static func classBatch(_ request: RunRequest, scratchDirectory: String, log: (String) -> Void) throws -> CaseBatch {
        let path = fragmentedPath(in: scratchDirectory)
        let layout = ClassSuite.layout
        let suiteSize = ClassSuite.defaultFileSize
        let specs = ClassSuite.specs { e, qd, bs in request.baseSpec(engine: e, queueDepth: qd, blockSize: bs) }
        let fragmented: Target
        do {
            if !FileManager.default.fileExists(atPath: path) {
                log("iobench: preparing \(path) (\(Units.formatSize(suiteSize)), \(layout)) for the path-class comparison")
                try prepareUnlessAnotherRunDid(path: path, size: suiteSize, layout: layout, log: log)
            }
            fragmented = try Target.open(TargetRequest(path: path, createIfMissing: false))
            guard fragmented.isStamped else {
                throw IOBenchError.badInput("\(path) exists but was not written by iobench; remove it or use another --dir")
            }
        } catch let error as IOBenchError {
            if case .interrupted = error { throw error }
            // No fragmented file here (tmpfs has no extents, no space...): every class case is skipped with the reason.
            let failures = Dictionary(uniqueKeysWithValues: specs.indices.map { ($0, error) })
            let scratch = try RunTargets.singlePath(request.targets, scratchDirectory: request.scratchDirectory)
            return CaseBatch(target: try Target.open(TargetRequest(path: scratch)), specs: specs, planFailures: failures)
        }
        let (plans, failures) = try ClassSuite.planClasses(specs, target: fragmented, skipFailures: true)
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
}

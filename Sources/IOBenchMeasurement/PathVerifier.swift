import CIOBenchShim
import Glibc
import IOBenchWorkload
import IOBenchPlatform

/// `--verify-path`: a short traced pass per class that asks the kernel how many
/// mappings and bios each read of the plan took, next to what the class promises.
public struct PathVerification: Codable, Sendable, Equatable {
    /// The kernel's counts for the pass.
    public var counts: PathTraceCounts
    /// What the class promises ("1", ">=2", "0"): `PathClass.mappingPromise` as text.
    public var promisedMappingsPerRead: String
    /// True when the kernel's count meets the promise; nil when it could not be measured.
    public var holds: Bool?
    /// Why the pass was not traced or its counts are incomplete.
    public var note: String?
    /// How the kernel's events were counted; nil when the pass was not traced.
    public var method: PathTraceMethod?

    enum CodingKeys: String, CodingKey {
        case counts, holds, note, method
        case promisedMappingsPerRead = "promised_mappings_per_read"
    }
}

public enum PathVerifier {
    /// Reads traced per class: enough to average out, small enough to stay inside the
    /// trace buffer.
    public static let reads = 256

    /// Runs `reads` synchronous O_DIRECT reads of planned positions under the tracer.
    public static func verify(plan: ClassPlan, target: Target, seed: UInt64) -> PathVerification {
        let cls = plan.summary.pathClass
        let promise = cls.promisedMappings
        if cls == .raw {
            return PathVerification(counts: PathTraceCounts(reads: 0, dioRwBegin: 0, iomapIter: 0, dioComplete: 0, bios: 0, lost: false),
                                    promisedMappingsPerRead: promise, holds: nil,
                                    note: "raw reads go to the block device and take no filesystem mapping; nothing to trace on the file")
        }
        if let why = PathTracer.unavailableReason() {
            return PathVerification(counts: PathTraceCounts(reads: 0, dioRwBegin: 0, iomapIter: 0, dioComplete: 0, bios: 0, lost: false),
                                    promisedMappingsPerRead: promise, holds: nil, note: "skipped: \(why)")
        }
        let bs = plan.summary.blockSize
        let buffers: AlignedBuffers
        do { buffers = try AlignedBuffers(count: 1, size: bs) } catch {
            return failed(promise, error.description)
        }
        var gen = OffsetGenerator(table: plan.table, pattern: .random, seed: seed)
        let tracer: PathTracer
        do { tracer = try PathTracer(fd: target.fd) } catch {
            return failed(promise, error.description)
        }
        var done: UInt64 = 0
        for _ in 0 ..< reads {
            let r = pread(target.fd, buffers.base, bs, off_t(Int64(bitPattern: gen.next())))
            if r == bs { done += 1 }
        }
        let counts: PathTraceCounts
        do { counts = try tracer.finish(reads: done) } catch {
            return failed(promise, error.description)
        }
        var v = PathVerification(counts: counts, promisedMappingsPerRead: promise, holds: nil, note: nil, method: tracer.method)
        if counts.lost {
            v.note = tracer.method == .histTrigger
                ? "a hist trigger's table was full and dropped events; counts are lower bounds"
                : "the trace buffer overflowed; counts are lower bounds"
        } else if let m = counts.mappingsPerRead {
            v.holds = cls.mappingPromise.isKept(byMean: m)
        } else {
            v.note = "the reads left no iomap trace for this inode (a filesystem without iomap direct I/O?)"
        }
        if done < UInt64(reads) {
            v.note = (v.note.map { $0 + "; " } ?? "") + "\(UInt64(reads) - done) of \(reads) traced reads did not return \(bs) bytes"
        }
        return v
    }

    static func failed(_ promise: String, _ why: String) -> PathVerification {
        PathVerification(counts: PathTraceCounts(reads: 0, dioRwBegin: 0, iomapIter: 0, dioComplete: 0, bios: 0, lost: false),
                         promisedMappingsPerRead: promise, holds: nil, note: "not traced: \(why)")
    }
}

/// The kinds of read iobench tells apart, by the kernel path each exercises (see
/// docs/method.md, "Path classes"). The simple path is the iomap fast path for a small
/// O_DIRECT read that fits one mapping and one bio, where the kernel has it; every other
/// read runs the general `__iomap_dio_rw` loop, one `->iomap_begin` per mapping.
public enum PathClass: String, Codable, Sendable, CaseIterable {
    /// ≤ one filesystem block, block-aligned, inside one written extent and i_size:
    /// the kernel's simple direct-I/O read path where it has one.
    case simple
    /// Larger than one block, inside one written extent: the general path, one mapping.
    case singleExtent = "single-extent"
    /// Crosses at least one extent boundary (a physical discontinuity): the general path,
    /// one iomap_iter round and one bio per extent.
    case multiExtent = "multi-extent"
    /// Inside an unwritten (allocated, never written) extent: zero-fill, no device I/O.
    case unwritten
    /// The same physical blocks as the simple (or single-extent) reads, read from the
    /// block device under the filesystem: no filesystem at all.
    case raw

    /// The filesystem mappings each read of this class takes, as the plan guarantees from
    /// the extent map: the one statement of the promise, which the plan and reports print
    /// and `--verify-path` checks against the kernel's count.
    public var mappingPromise: MappingPromise {
        switch self {
        case .simple, .singleExtent, .unwritten: return .exactly(1)
        case .multiExtent: return .atLeast(2)
        case .raw: return .noFilesystem
        }
    }

    /// iomap mappings each read of this class needs, as the class promises it ("1", ">=2", "0").
    public var promisedMappings: String { mappingPromise.text }
}

/// What a class promises about each read's filesystem mappings (`->iomap_begin` rounds,
/// which the kernel's trace counts as mappings per read).
public enum MappingPromise: Sendable, Equatable {
    /// Exactly this many mappings per read.
    case exactly(Int)
    /// At least this many.
    case atLeast(Int)
    /// None: the read goes to the block device, not through a filesystem.
    case noFilesystem

    /// As the plan and the reports write it: "1", ">=2", "0".
    public var text: String {
        switch self {
        case .exactly(let n): return "\(n)"
        case .atLeast(let n): return ">=\(n)"
        case .noFilesystem: return "0"
        }
    }

    /// Whether a traced mean of mappings per read keeps the promise, within 0.01 (so two
    /// stray mappings in a 256-read pass still count as kept); nil when there is nothing
    /// to trace (no filesystem).
    public func isKept(byMean m: Double) -> Bool? {
        switch self {
        case .exactly(let n): return abs(m - Double(n)) < 0.01
        case .atLeast(let n): return m >= Double(n) - 0.01
        case .noFilesystem: return nil
        }
    }
}

/// The kinds of read iobench tells apart, by the kernel path each exercises (BRIEF.md).
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

    /// iomap mappings each read of this class needs, as the class promises it.
    public var promisedMappings: String {
        switch self {
        case .simple, .singleExtent, .unwritten: return "1"
        case .multiExtent: return ">=2"
        case .raw: return "0"
        }
    }
}

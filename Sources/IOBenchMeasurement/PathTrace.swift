/// What the path tracer counted: the kernel's own account of a traced pass (the model
/// shared by both counting methods; see PathTracer.swift for the session and
/// TraceEventParser.swift for the ring-buffer parser).

/// What the kernel did for one inode during a short traced verification pass: the iomap
/// direct-I/O events and the bios, counted from a private tracefs instance. This is the
/// proof behind `--verify-path`: a path class is a claim about the kernel's work per read
/// (one mapping, one bio, ...); these counts are the kernel's own account of it.
public struct PathTraceCounts: Codable, Sendable, Equatable {
    /// Reads issued during the pass (filled by the caller).
    public var reads: UInt64
    /// `iomap:iomap_dio_rw_begin` events for the inode (reads only): one per general-path
    /// direct I/O started (`__iomap_dio_rw`), including attempts that were retried.
    public var dioRwBegin: UInt64
    /// `iomap:iomap_iter` events for the inode (DIRECT, not WRITE).
    public var iomapIter: UInt64
    /// `iomap:iomap_dio_complete` events for the inode (reads only).
    public var dioComplete: UInt64
    /// Read bios queued (`block:block_bio_queue`) on the block device under the file by
    /// the tasks that issued the inode's direct I/O. 0 when no block device was traced
    /// (tmpfs).
    public var bios: UInt64
    /// The trace buffer overflowed (entries overwritten or dropped): every count is then
    /// a lower bound and the derived values below are nil.
    public var lost: Bool
    /// Mappings (`->iomap_begin` rounds) per read: `(iomapIter - dioRwBegin) / reads`.
    /// `iomap_iter()` runs once per mapping plus a final call that ends the loop, so each
    /// general-path dio contributes exactly its mapping count to `iomapIter - dioRwBegin`
    /// (measured on 6.18: a 4 KiB read inside one extent shows 1 begin + 2 iters, an
    /// 8 KiB read across a physical discontinuity 1 begin + 3 iters; an attempt that
    /// fails in its first `->iomap_begin`, e.g. -EAGAIN under IOCB_NOWAIT before an
    /// io-wq retry, shows 1 begin + 1 iter and so adds 0). Reads of unwritten extents and
    /// holes iterate the same way (they zero-fill instead of submitting bios).
    /// Nil when no reads, when the buffer overflowed, or when fewer dios began than reads
    /// were issued and it was not the simple path (the reads cannot be attributed); 1 when
    /// the simple read path served every read (it only takes reads of one mapping).
    public var mappingsPerRead: Double?
    /// `bios / reads`. Nil when no reads, when the buffer overflowed, or when no block
    /// device was traced.
    public var biosPerRead: Double?
    /// True when the kernel's simple read path served the reads: reads were issued, no
    /// `iomap_iter` ran for the inode, and at least one `iomap_dio_complete` per read was
    /// seen (the simple path calls `->iomap_begin` directly and traces only completion).
    /// False when `iomap_iter` events appeared (the general path ran). Nil when no reads,
    /// when the buffer overflowed, or when neither path left a trace for every read
    /// (wrong inode, a filesystem without iomap direct I/O such as tmpfs).
    public var simpleReadPathActive: Bool?

    enum CodingKeys: String, CodingKey {
        case reads, bios, lost
        case dioRwBegin = "dio_rw_begin"
        case iomapIter = "iomap_iter"
        case dioComplete = "dio_complete"
        case mappingsPerRead = "mappings_per_read"
        case biosPerRead = "bios_per_read"
        case simpleReadPathActive = "simple_read_path_active"
    }

    /// Raw counts; the derived values are computed from them. `biosTraced` says whether a
    /// block device was traced at all (false for tmpfs: `biosPerRead` is then nil).
    public init(reads: UInt64, dioRwBegin: UInt64, iomapIter: UInt64, dioComplete: UInt64,
                bios: UInt64, lost: Bool, biosTraced: Bool = true) {
        self.reads = reads
        self.dioRwBegin = dioRwBegin
        self.iomapIter = iomapIter
        self.dioComplete = dioComplete
        self.bios = bios
        self.lost = lost
        guard reads > 0, !lost else { return }
        let r = Double(reads)
        if iomapIter > 0 {
            simpleReadPathActive = false
        } else if dioComplete >= reads {
            simpleReadPathActive = true
        }
        if dioRwBegin >= reads, iomapIter >= dioRwBegin {
            mappingsPerRead = Double(iomapIter - dioRwBegin) / r
        } else if simpleReadPathActive == true {
            mappingsPerRead = 1
        }
        if biosTraced { biosPerRead = Double(bios) / r }
    }
}

/// Raw counts of one pass, before they are judged (`PathTraceCounts` derives from them).
struct TraceTally: Equatable {
    var dioRwBegin: UInt64 = 0
    var iomapIter: UInt64 = 0
    var dioComplete: UInt64 = 0
    var bios: UInt64 = 0
    /// Read bios on the disk from tasks that did not issue the inode's I/O (left out).
    var foreignBios: UInt64 = 0
    var entriesInBuffer: UInt64?
    var entriesWritten: UInt64?
}


/// How a traced pass was counted.
public enum PathTraceMethod: String, Codable, Sendable {
    /// In the kernel, by an ftrace hist trigger on each event (CONFIG_HIST_TRIGGERS): no
    /// ring buffer, no text to parse.
    case histTrigger = "hist-trigger"
    /// From the text of the trace instance's ring buffer (`TraceEventParser`).
    case traceParser = "trace-parser"
}

import CIOBenchShim
import Glibc
import IOBenchPlatform

/// Read positions shared read-only by every job of a case: the offsets handed to the
/// engine and, where they differ (raw reads), the file offsets whose data they return.
///
/// `@unchecked Sendable`: the buffers are written only in `init` and freed only in
/// `deinit`, so every thread that holds the table reads memory nobody writes.
public final class OffsetTable: @unchecked Sendable {
    public let ioOffsets: UnsafeMutableBufferPointer<UInt64>
    public let fileOffsets: UnsafeMutableBufferPointer<UInt64>?

    public init(ioOffsets: [UInt64], fileOffsets: [UInt64]? = nil) {
        self.ioOffsets = .allocate(capacity: max(1, ioOffsets.count))
        _ = self.ioOffsets.initialize(from: ioOffsets)
        if let fileOffsets {
            let f = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: max(1, fileOffsets.count))
            _ = f.initialize(from: fileOffsets)
            self.fileOffsets = f
        } else {
            self.fileOffsets = nil
        }
        count = ioOffsets.count
    }

    public let count: Int

    deinit {
        ioOffsets.deallocate()
        fileOffsets?.deallocate()
    }
}

/// What a class plan promises and how much room it has.
public struct PlanSummary: Codable, Sendable, Equatable {
    public var pathClass: PathClass
    public var blockSize: Int
    public var filesystemBlockSize: Int
    /// Distinct read positions in the plan (reads pick among them uniformly).
    public var positions: Int
    /// Positions that met the class before any sampling down to the cap.
    public var candidates: Int
    public var extents: Int
    public var extentBoundaries: Int
    public var promisedMappingsPerRead: String
    /// For raw: the device read, and how many sampled positions were checked byte for
    /// byte against the file.
    public var rawDevice: String?
    public var rawSampleVerified: Int?
    /// Set when the plan has so few positions that a device cache may serve repeats.
    public var warning: String?

    /// Below this many distinct positions, repeats may be served from a device cache.
    public static let fewPositions = 4096

    enum CodingKeys: String, CodingKey {
        case positions, candidates, extents, warning
        case pathClass = "class"
        case blockSize = "bs"
        case filesystemBlockSize = "filesystem_block_size"
        case extentBoundaries = "extent_boundaries"
        case promisedMappingsPerRead = "promised_mappings_per_read"
        case rawDevice = "raw_device"
        case rawSampleVerified = "raw_sample_verified"
    }
}

/// A planned class: the positions and what they promise.
public struct ClassPlan: Sendable {
    public var summary: PlanSummary
    public var table: OffsetTable
    /// For raw: the opened block device (read-only, O_DIRECT) the table's offsets address.
    public var rawDevice: RawDevice?
}

/// The block device under a filesystem, opened read-only with O_DIRECT.
public final class RawDevice: Sendable {
    public let path: String
    public let fd: Int32
    /// Added to FIEMAP physical offsets (the partition start, when the whole disk is read).
    public let offsetAdjust: UInt64
    public let queue: BlockQueueInfo?
    init(path: String, fd: Int32, offsetAdjust: UInt64, queue: BlockQueueInfo?) {
        self.path = path; self.fd = fd; self.offsetAdjust = offsetAdjust; self.queue = queue
    }
    deinit { close(fd) }
}

/// Plans the read positions of a class from the file's extent map, so that every read in
/// the plan meets the class's definition. Nothing is hoped for: the positions are derived
/// from FIEMAP records and checked.
public enum ClassPlanner {
    /// Positions beyond this are sampled evenly: enough that no device cache serves
    /// repeats, small enough to stay in a few MiB of memory.
    public static let maxPositions = 1 << 20

    public static func filesystemBlockSize(fd: Int32) -> Int {
        var sfs = statfs()
        if fstatfs(fd, &sfs) == 0, sfs.f_bsize > 0 { return Int(sfs.f_bsize) }
        return 4096
    }

    /// File offsets of every read of `bs` bytes that meets `cls` in `map`.
    public static func candidates(_ cls: PathClass, bs: Int, fsBlock: Int, map: ExtentMap) throws(IOBenchError) -> [UInt64] {
        let B = UInt64(fsBlock)
        let n = UInt64(bs)
        let size = map.fileSize
        var out: [UInt64] = []
        switch cls {
        case .simple,
             .raw where bs <= fsBlock:
            guard bs <= fsBlock else {
                throw .badInput("class simple reads at most one filesystem block (\(fsBlock) bytes); use --bs \(Units.formatSize(B)) or less, or class single-extent for larger reads")
            }
            out = startsInside(map, B: B, bs: n) { $0.isPlainWritten }
            if out.isEmpty {
                throw .badInput("the file has no written extents for class \(cls.rawValue); write it first (iobench prepare --layout contiguous)")
            }
        case .singleExtent, .raw:
            guard bs > fsBlock else {
                throw .badInput("class single-extent is for reads larger than one filesystem block (\(fsBlock) bytes); use --bs \(Units.formatSize(2 * B)) or more, or class simple")
            }
            out = startsInside(map, B: B, bs: n) { $0.isPlainWritten }
            if out.isEmpty {
                throw .badInput("no written extent of the file holds a whole \(Units.formatSize(n)) read; lower --bs or prepare larger extents (iobench prepare --layout fragmented:256k)")
            }
        case .multiExtent:
            guard bs >= 2 * fsBlock else {
                throw .badInput("class multi-extent needs --bs of at least two filesystem blocks (\(Units.formatSize(2 * B))) to cross an extent boundary")
            }
            // Runs of logically adjacent, plainly written records; boundaries inside a run
            // where the physical location jumps are where a read needs two mappings.
            var boundaries: [UInt64] = []
            var runStart: [UInt64] = []
            var runEnd: [UInt64] = []
            var i = 0
            let ex = map.extents
            while i < ex.count {
                guard ex[i].isPlainWritten else { i += 1; continue }
                var j = i
                while j + 1 < ex.count, ex[j + 1].isPlainWritten, ex[j + 1].logical == ex[j].end {
                    if ex[j + 1].physical != ex[j].physicalEnd {
                        boundaries.append(ex[j + 1].logical)
                        runStart.append(ex[i].logical)
                        runEnd.append(min(runEndOf(ex, from: i), size))
                    }
                    j += 1
                }
                i = j + 1
            }
            guard !boundaries.isEmpty else {
                throw .badInput("the file has no extent boundaries to cross (\(map.extents.count) extent\(map.extents.count == 1 ? "" : "s"), none physically discontiguous); prepare a fragmented file: iobench prepare PATH --layout fragmented")
            }
            var last: UInt64 = 0
            var first = true
            for (k, b) in boundaries.enumerated() {
                // Every block-aligned start whose read covers byte b-1 and byte b.
                let lo = b >= n - B ? b - (n - B) : 0
                var o = max((lo + B - 1) / B * B, runStart[k])
                while o < b && o + n <= runEnd[k] {
                    if first || o > last { out.append(o); last = o; first = false }
                    o += B
                }
            }
            if out.isEmpty {
                throw .badInput("no \(Units.formatSize(n)) read fits across an extent boundary inside written data; lower --bs")
            }
        case .unwritten:
            out = startsInside(map, B: B, bs: n) { $0.isUnwritten }
            if out.isEmpty {
                throw .badInput("the file has no unwritten extents inside its size for class unwritten; prepare one: iobench prepare PATH --layout unwritten (or mixed)")
            }
        }
        return out
    }

    /// Every block-aligned start of a `bs`-byte read that lies wholly inside one record
    /// accepted by `keep`, and inside i_size.
    static func startsInside(_ map: ExtentMap, B: UInt64, bs n: UInt64, keep: (Extent) -> Bool) -> [UInt64] {
        var out: [UInt64] = []
        for e in map.extents where keep(e) {
            var o = (e.logical + B - 1) / B * B
            while o + n <= min(e.end, map.fileSize) {
                out.append(o)
                o += B
            }
        }
        return out
    }

    /// The end of the run of logically adjacent written records starting at `i`.
    static func runEndOf(_ ex: [Extent], from i: Int) -> UInt64 {
        var j = i
        while j + 1 < ex.count, ex[j + 1].isPlainWritten, ex[j + 1].logical == ex[j].end { j += 1 }
        return ex[j].end
    }

    /// Plans `cls` for `bs`-byte reads of the file behind `target`.
    public static func plan(_ cls: PathClass, bs: Int, target: Target, map: ExtentMap) throws(IOBenchError) -> ClassPlan {
        let fsBlock = filesystemBlockSize(fd: target.fd)
        var all = try candidates(cls, bs: bs, fsBlock: fsBlock, map: map)
        // --size limits the region read, classes included.
        if target.regionSize < map.fileSize {
            all.removeAll { $0 + UInt64(bs) > target.regionSize }
            if all.isEmpty {
                throw .badInput("no \(cls.rawValue) read of \(Units.formatSize(UInt64(bs))) lies within the first \(Units.formatSize(target.regionSize)) (--size); raise --size or omit it")
            }
        }
        let found = all.count
        if all.count > maxPositions {
            let stride = Double(all.count) / Double(maxPositions)
            all = (0 ..< maxPositions).map { all[Int(Double($0) * stride)] }
        }
        var summary = PlanSummary(pathClass: cls, blockSize: bs, filesystemBlockSize: fsBlock, positions: all.count,
                                  candidates: found, extents: map.extents.count, extentBoundaries: map.discontinuities,
                                  promisedMappingsPerRead: cls.promisedMappings)
        if all.count < PlanSummary.fewPositions {
            let advice = cls == .unwritten
                ? "prepare a larger unwritten region (iobench prepare PATH --layout unwritten --size 1g)"
                : cls == .multiExtent
                    ? "prepare a larger or more fragmented file (iobench prepare PATH --layout fragmented:16k)"
                    : "prepare a larger file (iobench prepare PATH --size 1g)"
            summary.warning = "only \(all.count) distinct positions meet \(cls.rawValue) at bs \(Units.formatSize(UInt64(bs))); a device cache may serve repeats: \(advice)"
        }
        guard cls == .raw else {
            return ClassPlan(summary: summary, table: OffsetTable(ioOffsets: all))
        }
        let device = try openRawDevice(for: target)
        if let lbs = device.queue?.logicalBlockSize, bs % lbs != 0 {
            throw .badInput("--bs \(bs) is not a multiple of \(device.path)'s logical block size (\(lbs) bytes); use a multiple of \(lbs)")
        }
        var physical: [UInt64] = []
        physical.reserveCapacity(all.count)
        for o in all {
            guard let e = map.extent(containing: o) else {
                throw .runFailed("raw plan: offset \(o) lies in no extent")
            }
            if e.flags & (Extent.encoded | Extent.dataEncrypted) != 0 {
                throw .badInput("class raw cannot match this file: its extents are \(e.flagNames.joined(separator: ", ")), so the device holds other bytes than the file; use an unencrypted, uncompressed file")
            }
            physical.append(e.physical + (o - e.logical) + device.offsetAdjust)
        }
        let checked = try verifyRawSample(target: target, device: device, file: all, physical: physical, bs: bs)
        summary.rawDevice = device.path
        summary.rawSampleVerified = checked
        return ClassPlan(summary: summary, table: OffsetTable(ioOffsets: physical, fileOffsets: all), rawDevice: device)
    }

    /// Opens the block device under the target's filesystem read-only with O_DIRECT.
    static func openRawDevice(for target: Target) throws(IOBenchError) -> RawDevice {
        guard target.kind == .file else {
            throw .badInput("class raw compares a file with the device under it; --target is already a block device")
        }
        if target.filesystemType == "btrfs" {
            throw .badInput("class raw is not possible on btrfs: its FIEMAP physical addresses are btrfs logical addresses, not device offsets")
        }
        var st = stat()
        guard fstat(target.fd, &st) == 0 else { throw .runFailed("cannot stat \(target.path): \(Errno.current)") }
        let major = iob_major(st.st_dev), minor = iob_minor(st.st_dev)
        guard major != 0, let queue = StorageInfo.queueInfo(major: major, minor: minor) else {
            throw .badInput("\(target.path) is not on a block device (\(target.filesystemType ?? "?") has no device), so there is no raw class; use a file on ext4 or xfs")
        }
        let name = queue.partition ?? queue.device
        let path = "/dev/" + name
        let fd = iob_open(path, O_RDONLY | IOB_O_DIRECT | O_CLOEXEC, 0)
        if fd >= 0 {
            return RawDevice(path: path, fd: fd, offsetAdjust: 0, queue: queue)
        }
        let err = errno
        // A partition we may not open: the whole disk, shifted by the partition's start.
        if let part = queue.partition, let startSectors = StorageInfo.readSysfs("/sys/class/block/\(part)/start").flatMap({ UInt64($0) }) {
            let whole = "/dev/" + queue.device
            let wfd = iob_open(whole, O_RDONLY | IOB_O_DIRECT | O_CLOEXEC, 0)
            if wfd >= 0 {
                return RawDevice(path: whole, fd: wfd, offsetAdjust: startSectors * 512, queue: queue)
            }
        }
        throw .runFailed("class raw needs to read \(path) (the device under \(target.path)) but opening it read-only failed: \(Errno(err)); run on a filesystem whose device you may open, such as one on a loop device")
    }

    /// Reads a sample of planned positions from the file and from the device and checks
    /// they are byte-for-byte equal. Returns how many were checked.
    static func verifyRawSample(target: Target, device: RawDevice, file: [UInt64], physical: [UInt64], bs: Int) throws(IOBenchError) -> Int {
        let sample = min(32, file.count)
        let bufs = try AlignedBuffers(count: 2, size: bs)
        for k in 0 ..< sample {
            let i = file.count <= sample ? k : k * (file.count / sample)
            let a = pread(target.fd, bufs.buffer(0), bs, off_t(file[i]))
            let b = pread(device.fd, bufs.buffer(1), bs, off_t(physical[i]))
            guard a == bs, b == bs else {
                throw .runFailed("raw plan check: reading \(bs) bytes at file offset \(file[i]) / device offset \(physical[i]) returned \(a) / \(b): \(Errno.current)")
            }
            if memcmp(bufs.buffer(0), bufs.buffer(1), bs) != 0 {
                throw .runFailed("raw plan check: the device \(device.path) at offset \(physical[i]) holds other bytes than \(target.path) at \(file[i]); the extent map does not translate to device offsets here (encrypted, compressed, or a stacked device)")
            }
        }
        return sample
    }
}

import Atomics
import CIOBenchShim
import Glibc
import IOBenchPlatform

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

/// Counts, for one inode, the iomap direct-I/O events and the bios of a short pass, using
/// a private tracefs instance (`instances/iobench-<pid>-<n>`): nothing global is changed
/// (apart from mounting tracefs on /sys/kernel/tracing when no tracefs is mounted).
///
/// Usage: `let t = try PathTracer(...)`, issue the reads, `try t.finish(reads: n)`.
/// The kernel filters the events (inode and dev; device for bios) where it accepts the
/// filter; every event is checked again while parsing, so a rejected filter only costs
/// buffer space.
///
/// Device numbers: the tracepoints record the kernel-internal `dev_t`,
/// `major << 20 | minor` (MINORBITS, read from the events' print format), not
/// userspace's `makedev` encoding (`st_dev`): 254:0 is 266338304 in a filter, 65024 in
/// `st_dev`. A filter with the userspace value matches nothing.
///
/// Bios: `block:block_bio_queue` reports the whole disk (`bio_dev()` is the disk's
/// `dev_t`), so a partition is traced as its disk. Stacked devices (loop, dm) queue a bio
/// on each level; only the level named here counts (for a file on a loop device, the
/// loop device, not the loop worker's I/O to the backing file). Only read bios queued by
/// the tasks (thread ids) that issued the inode's direct I/O count, so that other I/O on
/// the same disk during the pass (page-cache misses of other programs, journal writes) is
/// left out: a dio's bios are submitted inside its `iomap_iter` loop, by the task that
/// runs it, which also emits `iomap_dio_rw_begin`/`iomap_iter` (general path),
/// `iomap_dio_rw_queued` (async, either path) or a synchronous `iomap_dio_complete`
/// (simple path). `iomap_dio_rw_queued` is traced for that reason only, when the kernel
/// has it. (`options/record-tgid` is not used: setting it touches every instance's
/// enabled events.)
///
/// Limits: the tracepoints name a file by superblock device and inode number only, so on
/// btrfs a file with the same inode number in another subvolume of the same filesystem
/// counts too; direct I/O to the inode by other processes during the pass counts too.
public final class PathTracer {
    public let inode: UInt64
    public let fsDevice: (major: UInt32, minor: UInt32)
    /// The disk whose bios are counted (a partition resolved to its disk), or nil.
    public let blockDevice: (major: UInt32, minor: UInt32)?
    /// The tracefs instance directory.
    public let instancePath: String
    /// Events whose filter the kernel rejected, with the reason: those are filtered only
    /// while parsing.
    public let unfilteredEvents: [String]

    private let masks: FlagMasks
    private var finished = false

    private static let counter = ManagedAtomic<Int>(0)
    static let iomapEvents = ["iomap_dio_rw_begin", "iomap_iter", "iomap_dio_complete"]
    /// Traced when present, only to learn which tasks submit the inode's async I/O.
    static let optionalIomapEvents = ["iomap_dio_rw_queued"]
    static let bioEvent = "block_bio_queue"

    // MARK: - Availability

    /// Why tracing cannot work here (not root, no tracefs, no iomap events), or nil.
    /// Mounts tracefs on /sys/kernel/tracing when none is mounted and we are root.
    public static func unavailableReason() -> String? {
        guard geteuid() == 0 else {
            return "tracing the kernel's read path needs root (tracefs instances are root-only); run as root"
        }
        let root: String
        switch tracefsRoot() {
        case .success(let r): root = r
        case .failure(let reason): return reason.description
        }
        guard isDirectory(root + "/instances") else {
            return "tracefs at \(root) has no instances directory; the kernel is too old for private trace instances"
        }
        let missing = iomapEvents.filter { !fileExists(root + "/events/iomap/\($0)/format") }
        if !missing.isEmpty {
            return "the kernel has no iomap trace events (\(missing.joined(separator: ", ")) missing under \(root)/events/iomap); the read path cannot be traced"
        }
        return nil
    }

    /// The mounted tracefs, mounting it on /sys/kernel/tracing when neither usual place
    /// has one.
    package static func tracefsRoot() -> Result<String, TraceUnavailable> {
        for root in ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"] where isDirectory(root + "/events") {
            return .success(root)
        }
        let root = "/sys/kernel/tracing"
        guard isDirectory(root) else {
            return .failure(TraceUnavailable("no tracefs: \(root) does not exist (kernel without CONFIG_TRACING?)"))
        }
        guard mount("nodev", root, "tracefs", 0, nil) == 0 else {
            return .failure(TraceUnavailable("tracefs is not mounted and mounting it on \(root) failed: \(Errno.current)"))
        }
        guard isDirectory(root + "/events") else {
            return .failure(TraceUnavailable("tracefs mounted on \(root) has no events directory"))
        }
        return .success(root)
    }

    package struct TraceUnavailable: Error, CustomStringConvertible {
        package var description: String
        package init(_ d: String) { description = d }
    }

    // MARK: - Start

    /// Starts tracing in a private tracefs instance (instances/iobench-<pid>-<n>), with the
    /// three iomap events filtered to the inode and the filesystem's device, and
    /// `block:block_bio_queue` filtered to `blockDevice` (a partition is traced as its
    /// disk; nil traces no bios, as for tmpfs).
    ///
    /// `fsDevice` is the device the tracepoints name: the superblock's `s_dev`, which is
    /// `st_dev` on ext4 and XFS but not on btrfs (`st_dev` there is the subvolume's own
    /// anonymous device, and inode numbers repeat across subvolumes). `init(fd:)` and
    /// `filesystemDevices(fd:)` find the right one from /proc/self/mountinfo.
    public convenience init(inode: UInt64, fsDevice: dev_t, blockDevice: (major: UInt32, minor: UInt32)?) throws(IOBenchError) {
        try self.init(inode: inode, fs: (UInt32(iob_major(fsDevice)), UInt32(iob_minor(fsDevice))), blockDevice: blockDevice)
    }

    /// Traces the file open on `fd`: its inode on its filesystem's superblock device, and
    /// the block device under that filesystem when there is one (see
    /// `filesystemDevices(fd:)`; none for tmpfs, so no bios are traced there).
    public convenience init(fd: Int32) throws(IOBenchError) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .runFailed("cannot stat the file to trace: \(Errno.current)") }
        if let devs = PathTracer.filesystemDevices(fd: fd) {
            try self.init(inode: UInt64(st.st_ino), fs: devs.superblock, blockDevice: devs.blockDevice)
        } else {
            let major = UInt32(iob_major(st.st_dev)), minor = UInt32(iob_minor(st.st_dev))
            try self.init(inode: UInt64(st.st_ino), fs: (major, minor), blockDevice: major != 0 ? (major, minor) : nil)
        }
    }

    init(inode: UInt64, fs: (major: UInt32, minor: UInt32), blockDevice: (major: UInt32, minor: UInt32)?) throws(IOBenchError) {
        if let reason = PathTracer.unavailableReason() {
            throw .badInput("cannot verify the read path: \(reason)")
        }
        guard case .success(let root) = PathTracer.tracefsRoot() else {
            throw .runFailed("tracefs disappeared while starting the path tracer")
        }
        PathTracer.removeStaleInstances(root: root)

        let disk = blockDevice.map { PathTracer.wholeDisk(major: $0.major, minor: $0.minor) }

        // Create the instance under a name no one else holds.
        var path = ""
        for _ in 0 ..< 64 {
            let n = PathTracer.counter.loadThenWrappingIncrement(ordering: .relaxed)
            let candidate = "\(root)/instances/iobench-\(getpid())-\(n)"
            if mkdir(candidate, 0o755) == 0 { path = candidate; break }
            if errno != EEXIST {
                throw .runFailed("cannot create the trace instance \(candidate): \(Errno.current)")
            }
        }
        guard !path.isEmpty else { throw .runFailed("cannot create a trace instance under \(root)/instances: every name is taken") }

        do {
            let setup = try PathTracer.configure(instance: path, inode: inode, fs: fs, disk: disk)
            self.masks = setup.masks
            self.unfilteredEvents = setup.unfiltered
        } catch {
            PathTracer.removeInstance(path)
            throw error
        }
        self.inode = inode
        self.fsDevice = fs
        self.blockDevice = disk
        self.instancePath = path
    }

    deinit {
        if !finished {
            _ = PathTracer.writeControl(instancePath + "/tracing_on", "0")
            PathTracer.removeInstance(instancePath)
        }
    }

    /// Flag bits learned from the events' print formats (kernel-version dependent).
    struct FlagMasks {
        /// IOMAP_DIRECT and IOMAP_WRITE in `iomap_iter`'s `flags`.
        var iterDirect: UInt64 = 1 << 4
        var iterWrite: UInt64 = 1 << 0
        /// The kernel's dev_t minor bits (MINORBITS).
        var minorBits: Int = 20
    }

    private static func configure(instance: String, inode: UInt64, fs: (major: UInt32, minor: UInt32),
                                  disk: (major: UInt32, minor: UInt32)?) throws(IOBenchError) -> (masks: FlagMasks, unfiltered: [String]) {
        func set(_ file: String, _ value: String) throws(IOBenchError) {
            let rc = writeControl(instance + "/" + file, value)
            if rc != 0 { throw .runFailed("cannot write '\(value)' to \(instance)/\(file): \(Errno(rc))") }
        }
        try set("tracing_on", "0")
        // Per-CPU ring size: 8 MiB, less on machines with many CPUs (64 MiB in all).
        let cpus = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_CONF))))
        let perCPU = max(1024, min(8192, 65536 / cpus))
        if writeControl(instance + "/buffer_size_kb", "\(perCPU)") != 0 {
            _ = writeControl(instance + "/buffer_size_kb", "1024")
        }
        var masks = FlagMasks()
        var unfiltered: [String] = []
        var formats: [String: EventFormat] = [:]
        for event in iomapEvents + optionalIomapEvents {
            guard let text = readWhole(instance + "/events/iomap/\(event)/format") else {
                if optionalIomapEvents.contains(event) { continue }
                throw .runFailed("cannot read the format of iomap:\(event) in \(instance)")
            }
            formats[event] = EventFormat(text)
        }
        if let iter = formats["iomap_iter"] {
            if let b = iter.minorBits { masks.minorBits = b }
            if let m = iter.flagMask(field: "flags", name: "DIRECT") { masks.iterDirect = m }
            if let m = iter.flagMask(field: "flags", name: "WRITE") { masks.iterWrite = m }
        }
        let fsDev = kernelDev(major: fs.major, minor: fs.minor, minorBits: masks.minorBits)

        for event in iomapEvents + optionalIomapEvents {
            guard let format = formats[event] else { continue }
            var base: [String] = []
            if format.fields.contains("ino") { base.append("ino == \(inode)") }
            if format.fields.contains("dev") { base.append("dev == \(fsDev)") }
            var full = base
            if event == "iomap_iter", format.fields.contains("flags") {
                full += ["flags & \(masks.iterDirect)", "!(flags & \(masks.iterWrite))"]
            } else if format.fields.contains("ki_flags"), let w = format.flagMask(field: "ki_flags", name: "WRITE") {
                full.append("!(ki_flags & \(w))")
            }
            if let why = applyFilter(instance + "/events/iomap/\(event)", candidates: [full, base]) {
                unfiltered.append("iomap:\(event) (\(why))")
            }
            try set("events/iomap/\(event)/enable", "1")
        }

        if let disk {
            let dir = instance + "/events/block/\(bioEvent)"
            guard let text = readWhole(dir + "/format") else {
                throw .runFailed("the kernel has no block:\(bioEvent) trace event; bios cannot be counted")
            }
            let format = EventFormat(text)
            let diskDev = kernelDev(major: disk.major, minor: disk.minor, minorBits: format.minorBits ?? masks.minorBits)
            if let why = applyFilter(dir, candidates: format.fields.contains("dev") ? [["dev == \(diskDev)"]] : []) {
                unfiltered.append("block:\(bioEvent) (\(why))")
            }
            try set("events/block/\(bioEvent)/enable", "1")
        }
        try set("tracing_on", "1")
        return (masks, unfiltered)
    }

    /// Writes the first filter the kernel accepts; clears the filter and returns why when
    /// it accepts none.
    private static func applyFilter(_ eventDir: String, candidates: [[String]]) -> String? {
        var lastError: Int32 = 0
        for clauses in candidates where !clauses.isEmpty {
            let rc = writeControl(eventDir + "/filter", clauses.joined(separator: " && "))
            if rc == 0 { return nil }
            lastError = rc
        }
        _ = writeControl(eventDir + "/filter", "0")
        return lastError == 0 ? "no filterable fields" : "filter rejected: \(Errno(lastError))"
    }

    /// The kernel-internal dev_t the tracepoints record: `major << MINORBITS | minor`.
    package static func kernelDev(major: UInt32, minor: UInt32, minorBits: Int = 20) -> UInt64 {
        UInt64(major) << UInt64(minorBits) | UInt64(minor)
    }

    /// The filesystem of the file open on `fd` as the kernel names it, from its mount in
    /// /proc/self/mountinfo (found by the fd's `mnt_id`): the superblock's device (the
    /// `dev` of iomap tracepoints; differs from `st_dev` on btrfs) and the block device
    /// under it: the superblock device itself when it is a real one (ext4, XFS), else the
    /// mount source when that is a block device (btrfs on one device), else nil (tmpfs).
    public static func filesystemDevices(fd: Int32) -> (superblock: (major: UInt32, minor: UInt32), blockDevice: (major: UInt32, minor: UInt32)?)? {
        guard let info = readWhole("/proc/self/fdinfo/\(fd)"),
              let mntLine = info.split(separator: "\n").first(where: { $0.hasPrefix("mnt_id:") }) else { return nil }
        let mntID = mntLine.dropFirst("mnt_id:".count).drop(while: { $0 == " " || $0 == "\t" })
        guard let mountinfo = readWhole("/proc/self/mountinfo") else { return nil }
        for line in mountinfo.split(separator: "\n") {
            let halves = line.split(separator: " - ", maxSplits: 1)
            let left = halves[0].split(separator: " ")
            guard halves.count == 2, left.count >= 3, left[0] == mntID else { continue }
            let mm = left[2].split(separator: ":")
            guard mm.count == 2, let major = UInt32(mm[0]), let minor = UInt32(mm[1]) else { return nil }
            if major != 0 { return ((major, minor), (major, minor)) }
            let right = halves[1].split(separator: " ")
            var st = stat()
            if right.count >= 2, right[1].hasPrefix("/"),
               stat(StorageInfo.unescapeMountinfo(String(right[1])), &st) == 0, (st.st_mode & S_IFMT) == S_IFBLK {
                return ((major, minor), (UInt32(iob_major(st.st_rdev)), UInt32(iob_minor(st.st_rdev))))
            }
            return ((major, minor), nil)
        }
        return nil
    }

    /// The disk holding a partition (bios are traced on the disk), or the device itself.
    static func wholeDisk(major: UInt32, minor: UInt32) -> (major: UInt32, minor: UInt32) {
        guard let real = realpath("/sys/dev/block/\(major):\(minor)", nil) else { return (major, minor) }
        let dir = String(cString: real)
        free(real)
        guard fileExists(dir + "/partition"), let slash = dir.lastIndex(of: "/"),
              let dev = readWhole(String(dir[..<slash]) + "/dev") else { return (major, minor) }
        let parts = dev.split(separator: "\n").first?.split(separator: ":") ?? []
        guard parts.count == 2, let ma = UInt32(parts[0]), let mi = UInt32(parts[1]) else { return (major, minor) }
        return (ma, mi)
    }

    // MARK: - Finish

    /// Stops tracing, parses the instance's trace buffer, removes the instance, returns counts.
    public func finish(reads: UInt64) throws(IOBenchError) -> PathTraceCounts {
        guard !finished else { throw .runFailed("the path trace was already finished") }
        finished = true
        defer { PathTracer.removeInstance(instancePath) }
        _ = PathTracer.writeControl(instancePath + "/tracing_on", "0")
        let lostInRing = PathTracer.ringLostEntries(instance: instancePath)
        guard let text = PathTracer.readBytes(instancePath + "/trace") else {
            throw .runFailed("cannot read the trace buffer \(instancePath)/trace: \(Errno.current)")
        }
        let match = TraceMatch(inode: inode, fsDevice: fsDevice, blockDevice: blockDevice,
                               iterDirect: masks.iterDirect, iterWrite: masks.iterWrite)
        let t = text.withUnsafeBufferPointer { PathTracer.tally(bytes: $0, match: match) }
        var lost = lostInRing > 0
        if let inBuffer = t.entriesInBuffer, let written = t.entriesWritten, inBuffer < written { lost = true }
        return PathTraceCounts(reads: reads, dioRwBegin: t.dioRwBegin, iomapIter: t.iomapIter,
                               dioComplete: t.dioComplete, bios: t.bios, lost: lost,
                               biosTraced: blockDevice != nil)
    }

    /// Entries overwritten or dropped in the instance's ring buffers (per_cpu/cpu*/stats).
    static func ringLostEntries(instance: String) -> UInt64 {
        var total: UInt64 = 0
        for cpu in listDirectory(instance + "/per_cpu") where cpu.hasPrefix("cpu") {
            guard let stats = readWhole(instance + "/per_cpu/\(cpu)/stats") else { continue }
            for line in stats.split(separator: "\n") {
                let kv = line.split(separator: ":", maxSplits: 1)
                guard kv.count == 2 else { continue }
                let key = kv[0].drop(while: { $0 == " " }).droppingTrailing(" ")
                if key == "overrun" || key == "commit overrun" || key == "dropped events",
                   let v = UInt64(kv[1].drop(while: { $0 == " " }).droppingTrailing(" ")) {
                    total += v
                }
            }
        }
        return total
    }

    // MARK: - Parsing

    /// What counts: the inode on its filesystem, the disk for bios, the flag bits.
    package struct TraceMatch {
        var inode: UInt64
        var fsDevice: (major: UInt32, minor: UInt32)
        package var blockDevice: (major: UInt32, minor: UInt32)?
        var iterDirect: UInt64 = 1 << 4
        var iterWrite: UInt64 = 1 << 0

        package init(inode: UInt64, fsDevice: (major: UInt32, minor: UInt32), blockDevice: (major: UInt32, minor: UInt32)? = nil, iterDirect: UInt64 = 1 << 4, iterWrite: UInt64 = 1 << 0) {
            self.inode = inode
            self.fsDevice = fsDevice
            self.blockDevice = blockDevice
            self.iterDirect = iterDirect
            self.iterWrite = iterWrite
        }
    }

    package struct TraceTally: Equatable {
        package var dioRwBegin: UInt64 = 0
        package var iomapIter: UInt64 = 0
        package var dioComplete: UInt64 = 0
        package var bios: UInt64 = 0
        /// Read bios on the disk from tasks that did not issue the inode's I/O (left out).
        package var foreignBios: UInt64 = 0
        package var entriesInBuffer: UInt64?
        package var entriesWritten: UInt64?
    }

    /// Counts the matching events in the text of a tracefs `trace` file, lines like
    /// `dd-9845 [000] ..... 799.824966: iomap_iter: dev 254:0 ino 0xf78317 pos ...`.
    package static func tally(trace: String, match: TraceMatch) -> TraceTally {
        var text = trace
        return text.withUTF8 { tally(bytes: $0, match: match) }
    }

    /// The same over the raw bytes (a full ring is tens of MB of text: parsed as bytes,
    /// not Characters).
    static func tally(bytes b: UnsafeBufferPointer<UInt8>, match: TraceMatch) -> TraceTally {
        var t = TraceTally()
        var readers: Set<Int32> = []
        var bioPids: [Int32?] = []
        let fsDev = Array("\(match.fsDevice.major):\(match.fsDevice.minor)".utf8)
        let disk = match.blockDevice.map { Array("\($0.major),\($0.minor)".utf8) }
        let header = Array("entries-in-buffer/entries-written:".utf8)
        let kDev = Array("dev".utf8), kIno = Array("ino".utf8), kFlags = Array("flags".utf8)
        let kDioFlags = Array("dio_flags".utf8), kAio = Array("aio".utf8), kWrite = Array("WRITE".utf8)
        let kZero = Array("0".utf8)
        var tokens: [Range<Int>] = []
        tokens.reserveCapacity(32)

        var lineStart = 0
        while lineStart < b.count {
            var lineEnd = lineStart
            while lineEnd < b.count, b[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            defer { lineStart = lineEnd + 1 }
            let line = lineStart ..< lineEnd
            if line.isEmpty { continue }
            if b[lineStart] == UInt8(ascii: "#") {
                if let h = find(header, in: b, line) {
                    let nums = numbers(in: b, h ..< lineEnd)
                    if nums.count >= 2 { t.entriesInBuffer = nums[0]; t.entriesWritten = nums[1] }
                }
                continue
            }
            guard let rec = TraceLine(bytes: b, line) else { continue }
            splitTokens(b, rec.body, into: &tokens)
            func equal(_ r: Range<Int>, _ p: [UInt8]) -> Bool {
                r.count == p.count && zip(r, p).allSatisfy { b[$0] == $1 }
            }
            func after(_ key: [UInt8]) -> Range<Int>? {
                guard let i = tokens.firstIndex(where: { equal($0, key) }), i + 1 < tokens.count else { return nil }
                return tokens[i + 1]
            }
            if rec.event == .bioQueue {
                // "254,0 RS 34099280 + 8 [dd]": read bios on the traced disk.
                guard let disk, tokens.count >= 2, equal(tokens[0], disk),
                      tokens[1].contains(where: { b[$0] == UInt8(ascii: "R") }) else { continue }
                bioPids.append(rec.pid)
                continue
            }
            guard let dev = after(kDev), equal(dev, fsDev),
                  let ino = after(kIno).flatMap({ hex(b, $0) }), ino == match.inode else { continue }
            switch rec.event {
            case .iter:
                // "flags WRITE|DIRECT (0x11)": the hex value in parentheses is the whole mask.
                if let i = tokens.firstIndex(where: { equal($0, kFlags) }),
                   let raw = tokens[(i + 1)...].first(where: { $0.count > 3 && b[$0.lowerBound] == UInt8(ascii: "(") }),
                   let flags = hex(b, raw.lowerBound + 1 ..< raw.upperBound - 1) {
                    guard flags & match.iterDirect != 0, flags & match.iterWrite == 0 else { continue }
                }
                t.iomapIter += 1
            case .dioBegin, .dioComplete:
                // "flags DIRECT|WAITQ dio_flags ..." (names; empty when no flag is set).
                if let v = after(kFlags), !equal(v, kDioFlags), !equal(v, kAio),
                   splitOn(UInt8(ascii: "|"), b, v).contains(where: { equal($0, kWrite) }) { continue }
                if rec.event == .dioComplete {
                    t.dioComplete += 1
                    // Only a synchronous completion runs in the submitting task.
                    guard let aio = after(kAio), equal(aio, kZero) else { continue }
                } else {
                    t.dioRwBegin += 1
                }
            case .dioQueued:
                break
            case .bioQueue:
                continue
            }
            // The tasks that submit the inode's direct I/O also queue its bios.
            if let pid = rec.pid { readers.insert(pid) }
        }
        for pid in bioPids {
            if let pid, readers.contains(pid) { t.bios += 1 } else { t.foreignBios += 1 }
        }
        return t
    }

    package enum TraceEvent: CaseIterable {
        case dioBegin, iter, dioComplete, dioQueued, bioQueue

        var name: String {
            switch self {
            case .dioBegin: return "iomap_dio_rw_begin"
            case .iter: return "iomap_iter"
            case .dioComplete: return "iomap_dio_complete"
            case .dioQueued: return "iomap_dio_rw_queued"
            case .bioQueue: return PathTracer.bioEvent
            }
        }

        /// ": <name>: ", the marker between timestamp and the event's own text.
        static let markers: [(TraceEvent, [UInt8])] = allCases.map { ($0, Array(": \($0.name): ".utf8)) }
    }

    /// One event line split into task, event and the event's own text.
    package struct TraceLine {
        package var pid: Int32?
        package var tgid: Int32?
        package var event: TraceEvent
        /// Byte range of the event's own text in the buffer.
        var body: Range<Int>

        init?(bytes b: UnsafeBufferPointer<UInt8>, _ line: Range<Int>) {
            var found: (TraceEvent, Int, Int)?
            var i = line.lowerBound
            search: while i + 1 < line.upperBound {
                if b[i] == UInt8(ascii: ":"), b[i + 1] == UInt8(ascii: " ") {
                    for (event, marker) in TraceEvent.markers
                    where i + marker.count <= line.upperBound && zip(i ..< i + marker.count, marker).allSatisfy({ b[$0] == $1 }) {
                        found = (event, i, i + marker.count)
                        break search
                    }
                }
                i += 1
            }
            guard let (event, markerStart, bodyStart) = found else { return nil }
            self.event = event
            body = bodyStart ..< line.upperBound
            // "<comm>-<pid> [<cpu>] <flags> <timestamp>", with " (<tgid>)" after the pid when
            // options/record-tgid is set; the comm may hold anything,
            // so read from the CPU field backwards.
            var end = markerStart
            while end > line.lowerBound, b[end - 1] != UInt8(ascii: "[") { end -= 1 }
            if end > line.lowerBound { end -= 1 } else { end = markerStart }
            while end > line.lowerBound, b[end - 1] == UInt8(ascii: " ") { end -= 1 }
            if end > line.lowerBound, b[end - 1] == UInt8(ascii: ")") {
                var open = end - 1
                while open > line.lowerBound, b[open] != UInt8(ascii: "(") { open -= 1 }
                if b[open] == UInt8(ascii: "(") {
                    tgid = PathTracer.decimal(b, open + 1 ..< end - 1)
                    end = open
                    while end > line.lowerBound, b[end - 1] == UInt8(ascii: " ") { end -= 1 }
                }
            }
            var dash = end
            while dash > line.lowerBound, b[dash - 1] != UInt8(ascii: "-") { dash -= 1 }
            if dash > line.lowerBound { pid = PathTracer.decimal(b, dash ..< end) }
        }

        package init?(_ line: String) {
            var text = line
            guard let parsed = text.withUTF8({ TraceLine(bytes: $0, 0 ..< $0.count) }) else { return nil }
            self = parsed
        }
    }

    static func find(_ pattern: [UInt8], in b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int? {
        guard pattern.count <= range.count else { return nil }
        for i in range.lowerBound ... range.upperBound - pattern.count
        where b[i] == pattern[0] && zip(i ..< i + pattern.count, pattern).allSatisfy({ b[$0] == $1 }) {
            return i + pattern.count
        }
        return nil
    }

    static func splitTokens(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into tokens: inout [Range<Int>]) {
        tokens.removeAll(keepingCapacity: true)
        tokens.append(contentsOf: splitOn(UInt8(ascii: " "), b, range))
    }

    static func splitOn(_ sep: UInt8, _ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var i = range.lowerBound
        while i < range.upperBound {
            while i < range.upperBound, b[i] == sep { i += 1 }
            let start = i
            while i < range.upperBound, b[i] != sep { i += 1 }
            if i > start { out.append(start ..< i) }
        }
        return out
    }

    /// Unsigned decimals in a range, separated by anything else ("12/12   #P:2" gives 12, 12, 2).
    static func numbers(in b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> [UInt64] {
        var out: [UInt64] = []
        var current: UInt64?
        for i in range {
            let c = b[i]
            if c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
                current = (current ?? 0) &* 10 &+ UInt64(c - UInt8(ascii: "0"))
            } else if let v = current {
                out.append(v)
                current = nil
            }
        }
        if let v = current { out.append(v) }
        return out
    }

    /// A decimal (surrounding spaces allowed), or nil ("-------" for an unknown tgid).
    static func decimal(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int32? {
        var v: Int64 = 0
        var digits = 0
        for i in range {
            let c = b[i]
            if c == UInt8(ascii: " ") { if digits > 0 { break } else { continue } }
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9"), digits < 10 else { return nil }
            v = v * 10 + Int64(c - UInt8(ascii: "0"))
            digits += 1
        }
        return digits > 0 && v <= Int64(Int32.max) ? Int32(v) : nil
    }

    /// "0x..." as a number.
    static func hex(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> UInt64? {
        guard range.count > 2, range.count <= 18, b[range.lowerBound] == UInt8(ascii: "0"),
              b[range.lowerBound + 1] == UInt8(ascii: "x") else { return nil }
        var v: UInt64 = 0
        for i in range.dropFirst(2) {
            let c = b[i]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0") ... UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a") ... UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A") ... UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            v = v << 4 | UInt64(d)
        }
        return v
    }

    /// An event's `format` file: its field names and print format.
    package struct EventFormat {
        package var fields: Set<String> = []
        var printFormat = ""

        package init(_ text: String) {
            for line in text.split(separator: "\n") {
                let l = line.drop(while: { $0 == "\t" || $0 == " " })
                if l.hasPrefix("field:"), let semi = l.firstIndex(of: ";") {
                    var decl = l[l.index(l.startIndex, offsetBy: 6) ..< semi]
                    if let bracket = decl.firstIndex(of: "[") { decl = decl[..<bracket] }
                    if let name = decl.split(separator: " ").last { fields.insert(String(name)) }
                } else if l.hasPrefix("print fmt:") {
                    printFormat = String(l)
                }
            }
        }

        /// MINORBITS from `((REC->dev) >> 20)`.
        package var minorBits: Int? {
            guard let r = printFormat.firstRange(of: "REC->dev) >> ") else { return nil }
            return Int(printFormat[r.upperBound...].prefix(while: \.isNumber))
        }

        /// The bit of flag `name` in `__print_flags(REC-><field>, "|", { (1 << 4), "DIRECT" }, ...)`.
        package func flagMask(field: String, name: String) -> UInt64? {
            guard let start = printFormat.firstRange(of: "__print_flags(REC->\(field),") else { return nil }
            var section = printFormat[start.upperBound...]
            if let next = section.firstRange(of: "__print_flags(") { section = section[..<next.lowerBound] }
            guard let quoted = section.firstRange(of: "\"\(name)\""),
                  let open = section[..<quoted.lowerBound].lastIndex(of: "{") else { return nil }
            let entry = section[open ..< quoted.lowerBound]
            if let shift = entry.firstRange(of: "<<") {
                let digits = entry[shift.upperBound...].drop(while: { $0 == " " }).prefix(while: \.isNumber)
                return UInt64(digits).flatMap { $0 < 64 ? 1 << $0 : nil }
            }
            if let hex = entry.firstRange(of: "0x") {
                return UInt64(entry[hex.upperBound...].prefix(while: \.isHexDigit), radix: 16)
            }
            return nil
        }
    }

    // MARK: - tracefs files

    /// Writes a control file; returns 0 or the errno (the kernel reports a rejected filter
    /// as EINVAL on write).
    package static func writeControl(_ path: String, _ value: String) -> Int32 {
        let fd = open(path, O_WRONLY | O_TRUNC)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        let bytes = Array((value + "\n").utf8)
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        return n == bytes.count ? 0 : (n < 0 ? errno : EIO)
    }

    package static func readWhole(_ path: String) -> String? {
        readBytes(path).map { String(decoding: $0, as: UTF8.self) }
    }

    static func readBytes(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            out.append(contentsOf: chunk[0 ..< n])
        }
        return out
    }

    package static func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    package static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func listDirectory(_ path: String) -> [String] {
        guard let d = opendir(path) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    /// Removes an instance (rmdir; the kernel refuses with EBUSY while a file in it is open).
    package static func removeInstance(_ path: String) {
        for attempt in 0 ..< 50 {
            if rmdir(path) == 0 || errno == ENOENT { return }
            guard errno == EBUSY else { return }
            if attempt < 49 { usleep(20_000) }
        }
    }

    /// Removes instances left by iobench processes that no longer exist.
    static func removeStaleInstances(root: String) {
        for name in listDirectory(root + "/instances") where name.hasPrefix("iobench-") {
            let parts = name.split(separator: "-")
            guard parts.count == 3, let pid = Int32(parts[1]), pid != getpid() else { continue }
            if kill(pid, 0) != 0, errno == ESRCH { removeInstance(root + "/instances/" + name) }
        }
    }
}

private extension Substring {
    func droppingTrailing(_ c: Character) -> Substring {
        var s = self
        while s.last == c { s = s.dropLast() }
        return s
    }
}

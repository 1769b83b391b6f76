import Atomics
import CIOBenchShim
import Glibc
import IOBenchPlatform

/// The tracefs session of a traced pass: counts, for one inode, the iomap direct-I/O events and the bios of a short pass, using
/// a private tracefs instance (`instances/iobench-<pid>-<n>`): nothing global is changed
/// (apart from mounting tracefs on /sys/kernel/tracing when no tracefs is mounted).
///
/// Usage: `let t = try PathTracer(...)`, issue the reads, `try t.finish(reads: n)`.
///
/// Two ways of counting (`method`): where the kernel has ftrace hist triggers
/// (CONFIG_HIST_TRIGGERS), a `hist:` trigger per event counts in the kernel, keyed by task
/// and flags, filtered to the inode (`TraceHistogram.swift`): no ring buffer, no text.
/// Otherwise, or when the kernel rejects a trigger, the events are recorded in the
/// instance's ring buffer and parsed (`TraceEventParser.swift`). In the ring, the kernel
/// filters the events (inode and dev; device for bios) where it accepts the filter; every
/// event is checked again while parsing, so a rejected filter only costs buffer space.
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
    /// How this pass is counted.
    public let method: PathTraceMethod
    /// Why hist triggers are not used (nil when they are).
    public let histUnavailable: String?

    private let masks: FlagMasks
    /// The hist triggers installed (hist-trigger method only).
    private let triggers: [TraceHistogram.Trigger]
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
        switch Tracefs.root() {
        case .success(let r): root = r
        case .failure(let reason): return reason.description
        }
        guard Tracefs.isDirectory(root + "/instances") else {
            return "tracefs at \(root) has no instances directory; the kernel is too old for private trace instances"
        }
        let missing = iomapEvents.filter { !Tracefs.fileExists(root + "/events/iomap/\($0)/format") }
        if !missing.isEmpty {
            return "the kernel has no iomap trace events (\(missing.joined(separator: ", ")) missing under \(root)/events/iomap); the read path cannot be traced"
        }
        return nil
    }

    /// Why the kernel cannot count with hist triggers (no `hist` file in the event's
    /// directory, or `hist` not among its available triggers: CONFIG_HIST_TRIGGERS unset),
    /// or nil when it can. `eventDir` is an event directory under tracefs or an instance.
    package static func histTriggersUnavailable(eventDir: String) -> String? {
        // The trigger file lists the commands the kernel has after "# Available triggers:".
        let lines = Tracefs.readWhole(eventDir + "/trigger")?.split(separator: "\n") ?? []
        let listed = lines.firstIndex { $0.hasPrefix("# Available triggers:") }.flatMap { i in i + 1 < lines.count ? lines[i + 1] : nil }
        if Tracefs.fileExists(eventDir + "/hist"), listed.map({ $0.split(separator: " ").contains("hist") }) ?? true {
            return nil
        }
        return "the kernel has no ftrace hist triggers (CONFIG_HIST_TRIGGERS unset: \(eventDir)/hist is missing)"
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
    /// `filesystemDevices(fd:)`; none for tmpfs, so no bios are traced there). `method`
    /// as in `init(inode:fs:blockDevice:method:)`.
    public convenience init(fd: Int32, method: PathTraceMethod? = nil) throws(IOBenchError) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .runFailed("cannot stat the file to trace: \(Errno.current)") }
        if let devs = PathTracer.filesystemDevices(fd: fd) {
            try self.init(inode: UInt64(st.st_ino), fs: devs.superblock, blockDevice: devs.blockDevice, method: method)
        } else {
            let major = UInt32(iob_major(st.st_dev)), minor = UInt32(iob_minor(st.st_dev))
            try self.init(inode: UInt64(st.st_ino), fs: (major, minor), blockDevice: major != 0 ? (major, minor) : nil, method: method)
        }
    }

    /// `method` forces one way of counting (tests compare them); nil uses hist triggers
    /// where the kernel has them and accepts them, else the ring buffer.
    package init(inode: UInt64, fs: (major: UInt32, minor: UInt32), blockDevice: (major: UInt32, minor: UInt32)?,
         method: PathTraceMethod? = nil) throws(IOBenchError) {
        if let reason = PathTracer.unavailableReason() {
            throw .badInput("cannot verify the read path: \(reason)")
        }
        guard case .success(let root) = Tracefs.root() else {
            throw .runFailed("tracefs disappeared while starting the path tracer")
        }
        Tracefs.removeStaleInstances(root: root)

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
            let setup = try PathTracer.configure(instance: path, inode: inode, fs: fs, disk: disk, method: method)
            self.masks = setup.masks
            self.unfilteredEvents = setup.unfiltered
            self.triggers = setup.triggers
            self.method = setup.triggers.isEmpty ? .traceParser : .histTrigger
            self.histUnavailable = setup.histUnavailable
        } catch {
            Tracefs.removeInstance(path)
            throw error
        }
        self.inode = inode
        self.fsDevice = fs
        self.blockDevice = disk
        self.instancePath = path
    }

    deinit {
        if !finished {
            _ = Tracefs.writeControl(instancePath + "/tracing_on", "0")
            removeTriggers()
            Tracefs.removeInstance(instancePath)
        }
    }

    private func removeTriggers() {
        for t in triggers { Tracefs.clearTriggers(instancePath + "/" + t.path) }
    }

    /// Flag bits learned from the events' print formats (kernel-version dependent).
    package struct FlagMasks {
        /// IOMAP_DIRECT and IOMAP_WRITE in `iomap_iter`'s `flags`.
        package var iterDirect: UInt64 = 1 << 4
        package var iterWrite: UInt64 = 1 << 0
        /// The kernel's dev_t minor bits (MINORBITS).
        package var minorBits: Int = 20
        /// WRITE in `ki_flags` of the dio events (hist keys; the parser reads the names).
        package var kiWrite: UInt64 = 1 << 18

        package init(iterDirect: UInt64 = 1 << 4, iterWrite: UInt64 = 1 << 0, minorBits: Int = 20, kiWrite: UInt64 = 1 << 18) {
            self.iterDirect = iterDirect
            self.iterWrite = iterWrite
            self.minorBits = minorBits
            self.kiWrite = kiWrite
        }
    }

    struct Setup {
        var masks: FlagMasks
        var unfiltered: [String]
        /// Empty when the ring buffer counts.
        var triggers: [TraceHistogram.Trigger]
        var histUnavailable: String?
    }

    private static func configure(instance: String, inode: UInt64, fs: (major: UInt32, minor: UInt32),
                                  disk: (major: UInt32, minor: UInt32)?, method: PathTraceMethod?) throws(IOBenchError) -> Setup {
        func set(_ file: String, _ value: String) throws(IOBenchError) {
            let rc = Tracefs.writeControl(instance + "/" + file, value)
            if rc != 0 { throw .runFailed("cannot write '\(value)' to \(instance)/\(file): \(Errno(rc))") }
        }
        try set("tracing_on", "0")
        var masks = FlagMasks()
        var unfiltered: [String] = []
        var formats: [String: TraceEventParser.EventFormat] = [:]
        for event in iomapEvents + optionalIomapEvents {
            guard let text = Tracefs.readWhole(instance + "/events/iomap/\(event)/format") else {
                if optionalIomapEvents.contains(event) { continue }
                throw .runFailed("cannot read the format of iomap:\(event) in \(instance)")
            }
            formats[event] = TraceEventParser.EventFormat(text)
        }
        if let iter = formats["iomap_iter"] {
            if let b = iter.minorBits { masks.minorBits = b }
            if let m = iter.flagMask(field: "flags", name: "DIRECT") { masks.iterDirect = m }
            if let m = iter.flagMask(field: "flags", name: "WRITE") { masks.iterWrite = m }
        }
        if let m = formats["iomap_dio_rw_begin"]?.flagMask(field: "ki_flags", name: "WRITE") { masks.kiWrite = m }
        let fsDev = kernelDev(major: fs.major, minor: fs.minor, minorBits: masks.minorBits)
        var bioFormat: TraceEventParser.EventFormat?
        var diskDev: UInt64?
        if let disk {
            guard let text = Tracefs.readWhole(instance + "/events/block/\(bioEvent)/format") else {
                throw .runFailed("the kernel has no block:\(bioEvent) trace event; bios cannot be counted")
            }
            let format = TraceEventParser.EventFormat(text)
            bioFormat = format
            diskDev = kernelDev(major: disk.major, minor: disk.minor, minorBits: format.minorBits ?? masks.minorBits)
        }

        // Hist triggers where the kernel has them and takes every one; else the ring buffer.
        var histUnavailable = method == .traceParser
            ? "the trace parser was chosen" : histTriggersUnavailable(eventDir: instance + "/events/iomap/iomap_iter")
        if histUnavailable == nil {
            let triggers = TraceHistogram.triggers(inode: inode, fsDev: fsDev, diskDev: diskDev,
                                                   withQueued: formats["iomap_dio_rw_queued"] != nil)
            var installed: [TraceHistogram.Trigger] = []
            for t in triggers {
                let fields = (t.system == "block" ? bioFormat : formats[t.event])?.fields ?? []
                guard TraceHistogram.requiredFields(t).isSubset(of: fields) else {
                    histUnavailable = "\(t.system):\(t.event) has no field \(TraceHistogram.requiredFields(t).subtracting(fields).sorted().joined(separator: ", "))"
                    break
                }
                let rc = Tracefs.writeControl(instance + "/" + t.path + "/trigger", t.command)
                guard rc == 0 else {
                    histUnavailable = "the kernel rejected '\(t.command)' on \(t.system):\(t.event): \(Errno(rc))"
                    break
                }
                installed.append(t)
            }
            if histUnavailable == nil {
                // The triggers enable their events themselves (soft mode): nothing is recorded in the ring.
                try set("tracing_on", "1")
                return Setup(masks: masks, unfiltered: [], triggers: triggers, histUnavailable: nil)
            }
            for t in installed { Tracefs.clearTriggers(instance + "/" + t.path) }
        }
        if method == .histTrigger, let why = histUnavailable {
            throw .runFailed("cannot count with hist triggers: \(why)")
        }

        // Per-CPU ring size: 8 MiB, less on machines with many CPUs (64 MiB in all).
        let cpus = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_CONF))))
        let perCPU = max(1024, min(8192, 65536 / cpus))
        if Tracefs.writeControl(instance + "/buffer_size_kb", "\(perCPU)") != 0 {
            _ = Tracefs.writeControl(instance + "/buffer_size_kb", "1024")
        }

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

        if let format = bioFormat, let diskDev {
            let dir = instance + "/events/block/\(bioEvent)"
            if let why = applyFilter(dir, candidates: format.fields.contains("dev") ? [["dev == \(diskDev)"]] : []) {
                unfiltered.append("block:\(bioEvent) (\(why))")
            }
            try set("events/block/\(bioEvent)/enable", "1")
        }
        try set("tracing_on", "1")
        return Setup(masks: masks, unfiltered: unfiltered, triggers: [], histUnavailable: histUnavailable)
    }

    /// Writes the first filter the kernel accepts; clears the filter and returns why when
    /// it accepts none.
    private static func applyFilter(_ eventDir: String, candidates: [[String]]) -> String? {
        var lastError: Int32 = 0
        for clauses in candidates where !clauses.isEmpty {
            let rc = Tracefs.writeControl(eventDir + "/filter", clauses.joined(separator: " && "))
            if rc == 0 { return nil }
            lastError = rc
        }
        _ = Tracefs.writeControl(eventDir + "/filter", "0")
        return lastError == 0 ? "no filterable fields" : "filter rejected: \(Errno(lastError))"
    }

    // MARK: - Finish

    /// Stops tracing, reads the counts (the hist tables, or the parsed trace buffer),
    /// removes the instance, returns counts.
    public func finish(reads: UInt64) throws(IOBenchError) -> PathTraceCounts {
        guard !finished else { throw .runFailed("the path trace was already finished") }
        finished = true
        defer { Tracefs.removeInstance(instancePath) }
        _ = Tracefs.writeControl(instancePath + "/tracing_on", "0")
        if method == .histTrigger {
            defer { removeTriggers() }
            var tables: [String: [TraceHistogram.Table]] = [:]
            for t in triggers {
                guard let text = Tracefs.readWhole(instancePath + "/" + t.path + "/hist") else {
                    throw .runFailed("cannot read the hist table \(instancePath)/\(t.path)/hist: \(Errno.current)")
                }
                tables[t.event] = TraceHistogram.parse(text)
            }
            let c = TraceHistogram.tally(tables, masks: .init(iterDirect: masks.iterDirect, iterWrite: masks.iterWrite, kiWrite: masks.kiWrite))
            return PathTraceCounts(reads: reads, dioRwBegin: c.dioRwBegin, iomapIter: c.iomapIter,
                                   dioComplete: c.dioComplete, bios: c.bios, lost: TraceHistogram.dropped(tables),
                                   biosTraced: blockDevice != nil)
        }
        let lostInRing = Tracefs.ringLostEntries(instance: instancePath)
        guard let text = Tracefs.readBytes(instancePath + "/trace") else {
            throw .runFailed("cannot read the trace buffer \(instancePath)/trace: \(Errno.current)")
        }
        let match = TraceEventParser.TraceMatch(inode: inode, fsDevice: fsDevice, blockDevice: blockDevice,
                                                iterDirect: masks.iterDirect, iterWrite: masks.iterWrite)
        let t = text.withUnsafeBufferPointer { TraceEventParser.tally(bytes: $0, match: match) }
        var lost = lostInRing > 0
        if let inBuffer = t.entriesInBuffer, let written = t.entriesWritten, inBuffer < written { lost = true }
        return PathTraceCounts(reads: reads, dioRwBegin: t.dioRwBegin, iomapIter: t.iomapIter,
                               dioComplete: t.dioComplete, bios: t.bios, lost: lost,
                               biosTraced: blockDevice != nil)
    }
}

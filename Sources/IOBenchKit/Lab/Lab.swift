import Atomics
import CIOBenchShim
import Foundation
import Glibc

/// `iobench lab`: builds ext4 and XFS on loop devices (direct I/O) over backing files in a
/// workspace, prepares the fragmented layout on each, runs the class suite on both in
/// paired rounds, and tears everything down again, on success, failure and SIGINT/SIGTERM.
public final class Lab {
    public struct Options: Sendable {
        public var dir: String
        public var filesystems: [String] = ["ext4", "xfs"]
        public var engines: [EngineKind] = ClassSuite.engines.map(\.engine)
        public var rounds = 5
        public var runtimeNs: UInt64 = 500_000_000
        public var rampNs: UInt64 = 200_000_000
        /// Backing file size per filesystem; nil: what fits (`defaultSize` at most).
        public var size: UInt64?
        public var showProgress = false
        public var arguments: [String] = []
        public init(dir: String) { self.dir = dir }
    }

    /// Filesystems the lab knows, with their mkfs and its package.
    public static let supportedFilesystems = LabFilesystem.allCases.map(\.rawValue)
    public static let defaultSize: UInt64 = 512 << 20
    /// Free space left untouched in `--dir` beyond the backing files.
    public static let reserve: UInt64 = 256 << 20

    /// CAP_SYS_ADMIN in the effective set: what loop devices and mount(2) need.
    public static var hasCapSysAdmin: Bool { RunSession.hasCapSysAdmin() }

    public static func minimumSize(_ fs: String) -> UInt64 { fs == "xfs" ? 300 << 20 : 256 << 20 }

    static func mkfs(_ fs: String) -> (tool: String, arguments: [String], package: String) {
        switch fs {
        // Inode tables and journal written now, not by a background thread during the run.
        // 4 KiB blocks whatever the size (mke2fs picks 1 KiB below 512 MiB, which would rule
        // out the simple class at 4k).
        case "ext4": return ("mkfs.ext4", ["-q", "-F", "-b", "4096", "-m", "0", "-E", "lazy_itable_init=0,lazy_journal_init=0,nodiscard"], "e2fsprogs")
        default: return ("mkfs.xfs", ["-f", "-q", "-K", "-b", "size=4096"], "xfsprogs")
        }
    }

    /// The outcome: the result (nil when the lab stopped before the run), the lab info,
    /// and the error that ended it early, if any. The teardown has run in every case.
    public struct Outcome {
        public var result: RunResult?
        public var info: LabInfo
        public var failure: IOBenchError?
    }

    final class Stage {
        let label: String
        let type: String
        let backing: String
        let mountPoint: String
        let size: UInt64
        var backingCreated = false
        var loop: LoopDevice?
        var mounted = false
        var prepared: PrepareReport?
        var loopPath = ""
        var directIO = false
        init(label: String, type: String, backing: String, mountPoint: String, size: UInt64) {
            self.label = label; self.type = type; self.backing = backing; self.mountPoint = mountPoint; self.size = size
        }
        var layoutPath: String { mountPoint + "/iobench-fragmented.dat" }
    }

    public let options: Options
    let stop: ManagedAtomic<Bool>
    let log: (String) -> Void
    var stages: [Stage] = []
    var workspace: LabWorkspace?

    public init(options: Options, stop: ManagedAtomic<Bool>, log: @escaping (String) -> Void) {
        self.options = options; self.stop = stop; self.log = log
    }

    // MARK: checks before anything is created

    /// What the lab needs of the machine, checked before anything is created; each miss
    /// is bad input (exit 2) naming the fix.
    public static func preflight(filesystems: [String]) throws(IOBenchError) {
        guard RunSession.hasCapSysAdmin() else {
            throw .badInput("iobench lab needs root (CAP_SYS_ADMIN) to create loop devices and mount filesystems; this process (uid \(geteuid())) lacks it: run it as root, e.g. sudo iobench lab")
        }
        guard access(LoopDevice.controlPath, F_OK) == 0 else {
            throw .badInput("iobench lab needs \(LoopDevice.controlPath) (the loop driver) to create loop devices, and this system has none: load it (modprobe loop) or use a kernel with CONFIG_BLK_DEV_LOOP")
        }
        try checkOpenFileLimit()
        let known = (try? String(contentsOfFile: "/proc/filesystems", encoding: .utf8)) ?? ""
        let kernelFS = Set(known.split(separator: "\n").compactMap { $0.split(whereSeparator: { $0 == "\t" || $0 == " " }).last.map(String.init) })
        for fs in filesystems {
            let m = mkfs(fs)
            guard findExecutable(m.tool) != nil else {
                let others = filesystems.filter { $0 != fs }
                let alt = others.isEmpty ? "" : " or leave \(fs) out with --filesystems \(others.joined(separator: ","))"
                throw .badInput("\(m.tool) is not installed: install \(m.package) (apt-get install \(m.package))\(alt)")
            }
            if !known.isEmpty && !kernelFS.contains(fs) {
                throw .badInput("this kernel does not support \(fs) (not in /proc/filesystems): load its module (modprobe \(fs)) or leave it out with --filesystems")
            }
        }
    }

    /// Descriptors the lab needs beyond those open now: loop control and devices, backing
    /// files, mkfs's pipes, the targets, raw devices, rings, trace files.
    public static let descriptorsNeeded: UInt64 = 64

    /// A kernel limit met at set-up is exit 3 (DECISIONS): the open-file limit must leave
    /// room for what the lab opens, or a child process or a ring would fail half-way.
    static func checkOpenFileLimit() throws(IOBenchError) {
        guard let limit = ResourceLimits.current(IOB_RLIMIT_NOFILE) else { return }
        let fds = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap { UInt64($0) }
        let open = UInt64(fds.count)
        // A descriptor inherited above the limit (a shell's `exec 200<...`) makes child
        // processes fail to start (EBADF): the limit must clear the highest one too.
        let highest = fds.max() ?? 2
        if limit < max(open, highest + 1) + descriptorsNeeded {
            let inherited = highest + 1 > open ? ", the highest inherited descriptor is \(highest)" : ""
            throw .runFailed("the open-file limit (ulimit -n, RLIMIT_NOFILE) is \(limit) with \(open) files open\(inherited); iobench lab needs \(descriptorsNeeded) more above them: raise it, e.g. ulimit -n \(max(1024, highest + 1 + descriptorsNeeded))")
        }
    }

    /// A program in PATH or the usual sbin directories.
    static func findExecutable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let dirs = path.split(separator: ":").map(String.init) + ["/usr/local/sbin", "/usr/sbin", "/sbin"]
        return dirs.map { $0 + "/" + name }.first { access($0, X_OK) == 0 }
    }

    /// Backing file size per filesystem: `--size`, else the default where it fits, else
    /// what fits after the reserve. Too little room is bad input naming what is needed.
    public static func backingSize(filesystems: [String], requested: UInt64?, dir: String) throws(IOBenchError) -> UInt64 {
        var vfs = statvfs()
        guard statvfs(dir, &vfs) == 0 else { throw .badInput("cannot query the filesystem of \(dir): \(Errno.current); pass another --dir") }
        let free = UInt64(vfs.f_bavail) * UInt64(vfs.f_frsize)
        let n = UInt64(filesystems.count)
        let minimum = filesystems.map(minimumSize).max() ?? 0
        if let requested {
            let unit: UInt64 = 1 << 20
            guard requested % unit == 0 else {
                throw .badInput("--size \(Units.formatSize(requested)) is not a whole number of MiB; use e.g. --size 512m")
            }
            for fs in filesystems where requested < minimumSize(fs) {
                throw .badInput("--size \(Units.formatSize(requested)) is too small for \(fs): it needs at least \(Units.formatSize(minimumSize(fs))) per filesystem")
            }
            let needed = requested * n + reserve
            guard needed <= free else {
                throw .badInput("not enough free space in \(dir) for --size \(Units.formatSize(requested)): \(filesystems.count) backing file\(n == 1 ? "" : "s") + \(Units.formatSize(reserve)) reserve need \(needed >> 20) MiB, \(free >> 20) MiB free; lower --size or pass a --dir on a filesystem with more room")
            }
            return requested
        }
        let fits = free > reserve ? (free - reserve) / n : 0
        let size = min(defaultSize, fits / (16 << 20) * (16 << 20))
        guard size >= minimum else {
            let needed = minimum * n + reserve
            throw .badInput("not enough free space in \(dir): the lab needs \(needed >> 20) MiB (\(minimum >> 20) MiB per filesystem for \(filesystems.joined(separator: " and ")) + \(reserve >> 20) MiB reserve), \(free >> 20) MiB free; free some space or pass a --dir on a filesystem with more room")
        }
        return size
    }

    // MARK: the lab

    /// Sets up, runs and tears down. Throws only for what fails before anything is created.
    public func run() throws(IOBenchError) -> Outcome {
        let fsList = options.filesystems
        try Self.preflight(filesystems: fsList)
        let size = try Self.backingSize(filesystems: fsList, requested: options.size, dir: options.dir)
        let dead = LabLeftovers.all(in: options.dir)
        let stale = dead.workspaces.filter { !LabWorkspace.ownerIsAlive($0).alive }
        if !stale.isEmpty {
            log("iobench: warning: leftovers of \(stale.count) lab\(stale.count == 1 ? "" : "s") that ended without cleaning up (killed?): \(stale.joined(separator: ", ")); 'iobench lab --cleanup' removes them")
        }

        // Backing files in RAM make a "disk" that no disk is like: say so, loudly.
        var warnings: [String] = []
        let backingFS = StorageInfo.filesystem(of: options.dir)?.type
        if let fs = backingFS, ["tmpfs", "ramfs"].contains(fs) {
            let w = "--dir \(options.dir) is on \(fs): the backing files live in RAM, so the loop devices read memory, not a disk; pass a --dir on a disk-backed filesystem for disk figures"
            warnings.append(w)
            log("iobench lab: WARNING: " + w)
        }
        let t0 = Date()
        var result: RunResult?
        var failure: IOBenchError?
        var tRun = t0, tTeardown = t0
        do throws(IOBenchError) {
            let ws = try LabWorkspace.create(in: options.dir)
            workspace = ws
            log("iobench lab: workspace \(ws.path) (remove leftovers of a killed lab with 'iobench lab --cleanup')")
            for fs in fsList {
                stages.append(Stage(label: fs, type: fs, backing: ws.file("\(fs).img"), mountPoint: ws.file(fs), size: size))
            }
            for s in stages { try setUp(s) }
            tRun = Date()
            result = try runPhase()
            tTeardown = Date()
        } catch {
            failure = error
            if tRun == t0 { tRun = Date() }
            tTeardown = Date()
        }
        var cleanup = tearDown()
        let tEnd = Date()
        if !cleanup.verified {
            log("iobench: error: the lab's teardown left: \(cleanup.leftovers.joined(separator: "; ")); run 'iobench lab --cleanup'")
        }
        cleanup.leftovers = cleanup.leftovers.map(Units.printable)
        let filesystems = stages.filter { $0.prepared != nil }.map { s in
            let cases = result?.cases.filter { $0.targetKey == s.label } ?? []
            var mappings: [String: Double] = [:]
            for c in cases {
                if let p = c.plan, let m = c.pathVerification?.counts.mappingsPerRead {
                    mappings["\(p.pathClass.rawValue)/\(Units.formatSize(UInt64(p.blockSize)))"] = m
                }
            }
            let simple = cases.first { $0.config.pathClass == .simple && ($0.pathVerification?.counts.reads ?? 0) > 0 }?
                .pathVerification?.counts.simpleReadPathActive
            return LabFilesystemInfo(label: s.label, type: s.type, loopDevice: s.loopPath, directIO: s.directIO,
                                     backingBytes: s.size, layout: s.prepared!.layout, layoutFileBytes: s.prepared!.size,
                                     extents: s.prepared!.extents, mappingsPerRead: mappings.isEmpty ? nil : mappings,
                                     simpleReadPathActive: simple)
        }
        let info = LabInfo(workspace: workspace?.path ?? "", rounds: options.rounds, filesystems: filesystems,
                           phaseSeconds: LabPhaseSeconds(setup: tRun.timeIntervalSince(t0), run: tTeardown.timeIntervalSince(tRun),
                                                         teardown: tEnd.timeIntervalSince(tTeardown)),
                           cleanup: cleanup, backingFilesystem: backingFS, warnings: warnings.isEmpty ? nil : warnings)
        result?.lab = info
        return Outcome(result: result, info: info, failure: failure)
    }

    func checkStop(_ step: String) throws(IOBenchError) {
        if stop.load(ordering: .relaxed) {
            throw .interrupted(SignalStop.received ?? SIGINT, "interrupted during set-up (\(step)); everything created so far was removed")
        }
    }

    /// Backing file, loop device, mkfs, mount, layout: for one filesystem.
    func setUp(_ s: Stage) throws(IOBenchError) {
        try checkStop("before creating \(s.backing)")
        let fd = iob_open(s.backing, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .runFailed("cannot create the backing file \(s.backing): \(Errno.current)") }
        s.backingCreated = true
        // Allocated now, so the filesystems cannot run out of room in --dir mid-run.
        var rc = iob_fallocate(fd, 0, 0, s.size)
        if rc == -EOPNOTSUPP { rc = ftruncate(fd, off_t(s.size)) == 0 ? 0 : -errno }
        close(fd)
        if rc != 0 {
            if -rc == ENOSPC { throw .badInput("no room for the \(Units.formatSize(s.size)) backing file \(s.backing) (ENOSPC); lower --size or pass a --dir with more free space") }
            throw .runFailed("cannot allocate the backing file \(s.backing): \(Errno(-rc))")
        }
        try checkStop("before attaching \(s.backing)")
        let loop = try LoopDevice.attach(backing: s.backing)
        s.loop = loop
        s.loopPath = loop.path
        s.directIO = loop.directIO
        if loop.directIO {
            log("iobench lab: \(s.label): \(loop.path) over \(s.backing) (\(Units.formatSize(s.size))), direct I/O on")
        } else {
            log("iobench lab: WARNING: \(s.label): the kernel did not enable direct I/O on \(loop.path) (/sys/block/\(loop.name)/loop/dio is 0): reads go through the page cache of \(s.backing), so the device is faster than a real one and raw/filesystem differences are distorted. Use a --dir on a filesystem that supports O_DIRECT (ext4, xfs)")
        }
        try checkStop("before mkfs.\(s.type)")
        try makeFilesystem(s, on: loop.path)
        try checkStop("before mounting \(s.type)")
        if mkdir(s.mountPoint, 0o700) != 0 && errno != EEXIST {
            throw .runFailed("cannot create the mount point \(s.mountPoint): \(Errno.current)")
        }
        try Mounts.mount(device: loop.path, at: s.mountPoint, type: s.type)
        s.mounted = true
        try checkStop("before preparing the layout on \(s.type)")
        // A quarter of the filesystem, as the default run's 128 MiB file at 512 MiB.
        let fileSize = max(64 << 20, s.size / 4 / (1 << 20) * (1 << 20))
        log("iobench lab: \(s.label): preparing \(Units.formatSize(fileSize)) \(ClassSuite.layout) at \(s.layoutPath)")
        let report = try LayoutBuilder.prepare(path: s.layoutPath, size: fileSize, layout: ClassSuite.layout, force: false, log: log)
        s.prepared = report
        try checkStop("after preparing the layout on \(s.type)")
    }

    /// Runs mkfs as a child process; its output becomes the error on failure.
    func makeFilesystem(_ s: Stage, on device: String) throws(IOBenchError) {
        let m = Self.mkfs(s.type)
        guard let tool = Self.findExecutable(m.tool) else {
            throw .badInput("\(m.tool) is not installed: install \(m.package), or leave \(s.type) out with --filesystems")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = m.arguments + [device]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch {
            throw .runFailed("cannot start \(tool): \(error)")
        }
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationReason == .exit && p.terminationStatus == 0 else {
            try checkStop("mkfs.\(s.type)")
            let text = String(decoding: out, as: UTF8.self).split(separator: "\n").joined(separator: " | ")
            throw .runFailed("\(m.tool) \((m.arguments + [device]).joined(separator: " ")) failed (status \(p.terminationStatus)): \(text.isEmpty ? "no output" : text)")
        }
    }

    /// The class suite on every filesystem, in paired rounds. The targets (and raw device
    /// descriptors) are released when this returns, so the filesystems can be unmounted.
    func runPhase() throws(IOBenchError) -> RunResult {
        var batches: [CaseBatch] = []
        for s in stages {
            let target = try Target.open(TargetRequest(path: s.layoutPath, createIfMissing: false))
            let specs = try ClassSuite.specs(engines: options.engines) { (e, qd, bs) throws(IOBenchError) -> CaseSpec in
                var spec = CaseSpec(engine: e)
                spec.queueDepth = qd
                spec.blockSize = bs
                spec.runtimeNs = options.runtimeNs
                spec.rampNs = options.rampNs
                try spec.validate()
                return spec
            }
            let (plans, failures) = try ClassSuite.planClasses(specs, target: target, skipFailures: true)
            batches.append(CaseBatch(target: target, specs: specs, plans: plans, planFailures: failures, label: s.label))
        }
        try checkStop("before the run")
        let cases = batches.reduce(0) { $0 + $1.specs.count }
        // No time estimate: per-case overheads (thread start, tracing, skips) vary too much
        // for one to be honest; the lab's phase times are in its report.
        log("iobench lab: running \(cases) cases x \(options.rounds) rounds on \(stages.map(\.label).joined(separator: " and ")) (unsupported cases are skipped at once)")
        let session = RunSession(arguments: options.arguments, showProgress: options.showProgress, stop: stop)
        session.afterCase = ClassSuite.verifyPathHook()
        session.log = log
        return session.run(batches, skipUnsupported: true, repeats: options.rounds)
    }

    /// Unmounts, detaches and removes everything, then checks that nothing is left.
    func tearDown() -> LabCleanupInfo {
        var info = LabCleanupInfo(verified: false, loopDevicesDetached: 0, filesystemsUnmounted: 0, lazyUnmounts: 0, leftovers: [])
        for s in stages.reversed() {
            if s.mounted {
                switch Mounts.unmount(s.mountPoint) {
                case .done: info.filesystemsUnmounted += 1
                case .lazily(let why):
                    info.filesystemsUnmounted += 1
                    info.lazyUnmounts += 1
                    log("iobench lab: \(why)")
                case .failed(let why): log("iobench lab: \(why)")
                }
                s.mounted = false
            }
            if let loop = s.loop {
                // Counted once the kernel has really unbound it (checked below).
                if let err = loop.detach() { log("iobench lab: \(err)") }
                s.loop = nil
            }
            if s.backingCreated, unlink(s.backing) != 0, errno != ENOENT {
                log("iobench lab: cannot remove \(s.backing): \(Errno.current)")
            }
        }
        guard let ws = workspace else {
            info.verified = true
            return info
        }
        // A last sweep by path: anything still attached to the workspace (a step that
        // failed half-way) goes the way --cleanup removes it.
        var sweep = LabCleanup.Report()
        LabCleanup.clean(workspace: ws.path, into: &sweep)
        for a in sweep.actions where !a.hasPrefix("removed ") && !a.hasPrefix("released ") { log("iobench lab: \(a)") }
        for f in sweep.failures { log("iobench lab: \(f)") }
        // The kernel unbinds an AUTOCLEAR loop device on its last close, which may lag
        // the unmount a little: wait for it before judging.
        var left = LabLeftovers.of(workspace: ws.path)
        let deadline = Date().addingTimeInterval(5)
        while !left.isEmpty && Date() < deadline {
            usleep(50_000)
            left = LabLeftovers.of(workspace: ws.path)
        }
        let created = stages.map(\.loopPath).filter { !$0.isEmpty }
        info.loopDevicesDetached = created.filter { d in !left.loopDevices.contains { $0.device == d } }.count
        info.verified = left.isEmpty
        info.leftovers = left.lines
        return info
    }
}

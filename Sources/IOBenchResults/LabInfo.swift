import IOBenchWorkload

/// The `lab` object of a result (`iobench lab`): what was built, how long each phase
/// took, and whether the teardown left the system as it was.
public struct LabInfo: Codable, Sendable {
    public var workspace: String
    public var rounds: Int
    public var filesystems: [LabFilesystemInfo]
    public var phaseSeconds: LabPhaseSeconds
    public var cleanup: LabCleanupInfo
    /// The filesystem type under --dir (where the backing files live), from statfs.
    public var backingFilesystem: String?
    /// What makes this lab's figures unlike a disk's (backing files in RAM), one line each.
    public var warnings: [String]?

    public init(workspace: String, rounds: Int, filesystems: [LabFilesystemInfo], phaseSeconds: LabPhaseSeconds, cleanup: LabCleanupInfo, backingFilesystem: String? = nil, warnings: [String]? = nil) {
        self.workspace = workspace
        self.rounds = rounds
        self.filesystems = filesystems
        self.phaseSeconds = phaseSeconds
        self.cleanup = cleanup
        self.backingFilesystem = backingFilesystem
        self.warnings = warnings
    }

    enum CodingKeys: String, CodingKey {
        case workspace, rounds, filesystems, cleanup, warnings
        case phaseSeconds = "phase_seconds"
        case backingFilesystem = "backing_filesystem"
    }
}

public struct LabFilesystemInfo: Codable, Sendable {
    /// The target key of its cases (`ext4`, `xfs`).
    public var label: String
    public var type: String
    public var loopDevice: String
    /// /sys/block/loopN/loop/dio after configuring: false when the kernel fell back to
    /// buffered I/O on the backing file.
    public var directIO: Bool
    public var backingBytes: UInt64
    /// The fragmented file the classes read, and what FIEMAP shows of it.
    public var layout: String
    public var layoutFileBytes: UInt64
    public var extents: ExtentSummary
    /// Traced kernel mappings per read, by `class/bs` (`multi-extent/8k`), where traced.
    public var mappingsPerRead: [String: Double]?
    /// Whether the kernel's simple read path served the simple-class reads; nil when not traced.
    public var simpleReadPathActive: Bool?

    public init(label: String, type: String, loopDevice: String, directIO: Bool, backingBytes: UInt64, layout: String, layoutFileBytes: UInt64, extents: ExtentSummary, mappingsPerRead: [String: Double]? = nil, simpleReadPathActive: Bool? = nil) {
        self.label = label
        self.type = type
        self.loopDevice = loopDevice
        self.directIO = directIO
        self.backingBytes = backingBytes
        self.layout = layout
        self.layoutFileBytes = layoutFileBytes
        self.extents = extents
        self.mappingsPerRead = mappingsPerRead
        self.simpleReadPathActive = simpleReadPathActive
    }

    enum CodingKeys: String, CodingKey {
        case label, type, layout, extents
        case loopDevice = "loop_device"
        case directIO = "direct_io"
        case backingBytes = "backing_bytes"
        case layoutFileBytes = "layout_file_bytes"
        case mappingsPerRead = "mappings_per_read"
        case simpleReadPathActive = "simple_read_path_active"
    }
}

public struct LabPhaseSeconds: Codable, Sendable {
    public var setup: Double
    public var run: Double
    public var teardown: Double

    public init(setup: Double, run: Double, teardown: Double) {
        self.setup = setup
        self.run = run
        self.teardown = teardown
    }
}

public struct LabCleanupInfo: Codable, Sendable {
    /// After the teardown no loop device had a backing file in the workspace, nothing
    /// was mounted under it, and the workspace was gone.
    public var verified: Bool
    public var loopDevicesDetached: Int
    public var filesystemsUnmounted: Int
    /// Unmounts that stayed busy and were detached lazily.
    public var lazyUnmounts: Int
    /// What was still there, one line each (empty when verified).
    public var leftovers: [String]

    public init(verified: Bool, loopDevicesDetached: Int, filesystemsUnmounted: Int, lazyUnmounts: Int, leftovers: [String]) {
        self.verified = verified
        self.loopDevicesDetached = loopDevicesDetached
        self.filesystemsUnmounted = filesystemsUnmounted
        self.lazyUnmounts = lazyUnmounts
        self.leftovers = leftovers
    }

    enum CodingKeys: String, CodingKey {
        case verified, leftovers
        case loopDevicesDetached = "loop_devices_detached"
        case filesystemsUnmounted = "filesystems_unmounted"
        case lazyUnmounts = "lazy_unmounts"
    }

    /// `cleanup: 2 loop devices detached, 2 filesystems unmounted, nothing left`.
    public var summary: String {
        func n(_ k: Int, _ what: String) -> String { "\(k) \(what)\(k == 1 ? "" : "s")" }
        var s = "cleanup: \(n(loopDevicesDetached, "loop device")) detached, \(n(filesystemsUnmounted, "filesystem")) unmounted"
        if lazyUnmounts > 0 { s += " (\(lazyUnmounts) lazily)" }
        s += verified ? ", nothing left" : ", LEFT BEHIND: " + leftovers.joined(separator: "; ") + " (run 'iobench lab --cleanup')"
        return s
    }
}

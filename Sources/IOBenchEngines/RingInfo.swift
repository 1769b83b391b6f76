import CIOBenchShim

/// What an io_uring job's ring really ran with, read back after set-up: the setup flags
/// that took (COOP_TASKRUN, SINGLE_ISSUER and DEFER_TASKRUN fall back one by one on
/// kernels that reject them, and they change CPU per read severalfold), whether the ring
/// fd was registered, the kernel's feature bits, and the SQ and CQ sizes.
public struct RingInfo: Codable, Sendable, Equatable {
    /// The `io_uring_params.flags` the ring was created with.
    public var setupFlags: UInt32
    /// True when `io_uring_register_ring_fd` succeeded (5.18+): every io_uring_enter then
    /// skips the fd lookup.
    public var registeredRingFd: Bool
    /// The kernel's `io_uring_params.features`.
    public var features: UInt32
    public var sqEntries: UInt32
    public var cqEntries: UInt32

    public init(setupFlags: UInt32, registeredRingFd: Bool, features: UInt32, sqEntries: UInt32, cqEntries: UInt32) {
        self.setupFlags = setupFlags
        self.registeredRingFd = registeredRingFd
        self.features = features
        self.sqEntries = sqEntries
        self.cqEntries = cqEntries
    }

    /// `setupFlags` by name (IOPOLL, SQPOLL, COOP_TASKRUN, SINGLE_ISSUER, DEFER_TASKRUN).
    public var setupFlagNames: [String] {
        let known: [(UInt32, String)] = [
            (IOB_IORING_SETUP_IOPOLL, "IOPOLL"), (IOB_IORING_SETUP_SQPOLL, "SQPOLL"),
            (IOB_IORING_SETUP_COOP_TASKRUN, "COOP_TASKRUN"), (IOB_IORING_SETUP_SINGLE_ISSUER, "SINGLE_ISSUER"),
            (IOB_IORING_SETUP_DEFER_TASKRUN, "DEFER_TASKRUN"),
        ]
        return known.filter { setupFlags & $0.0 != 0 }.map(\.1)
    }

    /// `features` by name, for the bits this version of iobench knows (0 to 17; later
    /// ones show only in `features`).
    public var featureNames: [String] {
        Self.featureBits.enumerated().filter { features & (1 << UInt32($0.offset)) != 0 }.map(\.element)
    }

    enum CodingKeys: String, CodingKey {
        case features
        case setupFlags = "setup_flags"
        case setupFlagNames = "setup_flag_names"
        case registeredRingFd = "registered_ring_fd"
        case featureNames = "feature_names"
        case sqEntries = "sq_entries"
        case cqEntries = "cq_entries"
    }

    /// The names are written for readers of the JSON, and derived again from the numbers
    /// when a result is read.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(setupFlags: try c.decode(UInt32.self, forKey: .setupFlags),
                  registeredRingFd: try c.decode(Bool.self, forKey: .registeredRingFd),
                  features: try c.decode(UInt32.self, forKey: .features),
                  sqEntries: try c.decode(UInt32.self, forKey: .sqEntries),
                  cqEntries: try c.decode(UInt32.self, forKey: .cqEntries))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(setupFlags, forKey: .setupFlags)
        try c.encode(setupFlagNames, forKey: .setupFlagNames)
        try c.encode(registeredRingFd, forKey: .registeredRingFd)
        try c.encode(features, forKey: .features)
        try c.encode(featureNames, forKey: .featureNames)
        try c.encode(sqEntries, forKey: .sqEntries)
        try c.encode(cqEntries, forKey: .cqEntries)
    }

    /// IORING_FEAT_* by bit (kernel ABI, include/uapi/linux/io_uring.h).
    static let featureBits = ["SINGLE_MMAP", "NODROP", "SUBMIT_STABLE", "RW_CUR_POS", "CUR_PERSONALITY", "FAST_POLL",
                              "POLL_32BITS", "SQPOLL_NONFIXED", "EXT_ARG", "NATIVE_WORKERS", "RSRC_TAGS", "CQE_SKIP",
                              "LINKED_FILE", "REG_REG_RING", "RECVSEND_BUNDLE", "MIN_TIMEOUT", "RW_ATTR", "NO_IOWAIT"]

    /// One line for reports: `setup COOP_TASKRUN+SINGLE_ISSUER+DEFER_TASKRUN, ring fd
    /// registered, SQ 32 / CQ 64 entries, features 0x1fff`.
    public var summary: String {
        let flags = setupFlagNames.isEmpty ? "default (no setup flags)" : setupFlagNames.joined(separator: "+")
        let fd = registeredRingFd ? "ring fd registered" : "ring fd not registered"
        return "setup \(flags), \(fd), SQ \(sqEntries) / CQ \(cqEntries) entries, features 0x\(String(features, radix: 16))"
    }
}

import IOBenchPlatform

/// Every engine iobench can run, in the order of help, suites and reports. Adding an
/// engine is one file (the engine, its `EngineKind` and its `descriptor`, see
/// NullEngine.swift) and one line here.
public enum EngineRegistry {
    public static let all: [EngineDescriptor] = [
        PsyncEngine.descriptor,
        Pvsync2Engine.descriptor,
        LibaioEngine.descriptor,
        IoUringEngine.descriptor,
        IoUringPollEngine.descriptor,
        NullEngine.descriptor,
        IoUringNopEngine.descriptor,
    ]

    /// The descriptor of `kind`, or nil when no engine has that name.
    public static func descriptor(_ kind: EngineKind) -> EngineDescriptor? {
        all.first { $0.kind == kind }
    }

    /// The descriptor of `kind`; an unknown name (from a result of another iobench, or a
    /// library user's typo) is bad input naming the engines there are.
    public static func descriptor(for kind: EngineKind) throws(IOBenchError) -> EngineDescriptor {
        guard let d = descriptor(kind) else {
            throw .badInput("unknown engine '\(kind.rawValue)'; this iobench runs \(names.joined(separator: ", "))")
        }
        return d
    }

    public static var names: [String] { all.map(\.kind.rawValue) }

    /// The engines that read storage: what a run that names no engine runs (the
    /// default suite adds the others as the tool's overhead).
    public static var storageEngines: [EngineKind] { all.filter(\.measuresStorage).map(\.kind) }

    /// "a", "a and b", "a, b and c".
    static func list(_ items: [String]) -> String {
        guard items.count > 1 else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " and " + items.last!
    }
}

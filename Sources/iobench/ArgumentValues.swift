import ArgumentParser
import IOBenchKit

// The closed value sets of the command line, each defined once. As enums that are
// `ExpressibleByArgument` and `CaseIterable`, ArgumentParser refuses other values (exit 2,
// one line naming the valid ones), lists them in --help and offers them to shell completion.

/// `run --format`.
enum RunFormat: String, CaseIterable, ExpressibleByArgument {
    case text, json, markdown, csv, junit
}

/// `compare --format`.
enum CompareFormat: String, CaseIterable, ExpressibleByArgument {
    case text, markdown, json, junit
}

/// `report --format`.
enum ReportFormat: String, CaseIterable, ExpressibleByArgument {
    case text, markdown, html, svg
}

/// `lab --format`.
enum LabFormat: String, CaseIterable, ExpressibleByArgument {
    case text, json, markdown
}

/// `prepare`, `inspect` and `merge --format`: the text report or its JSON document.
enum TextOrJSON: String, CaseIterable, ExpressibleByArgument {
    case text, json
}

// The domain's value sets live in IOBenchKit, which does not depend on ArgumentParser;
// they conform here (same package, so not retroactive).
extension AccessPattern: ExpressibleByArgument {}
extension EngineKind: ExpressibleByArgument {}
extension PathClass: ExpressibleByArgument {}
extension LabFilesystem: ExpressibleByArgument {}
extension ClockSource: ExpressibleByArgument {}
extension ArrivalProcess: ExpressibleByArgument {}

/// Comma-separated lists of a value set (`--engine psync,io_uring`), parsed in the
/// option's `transform`: a bad item is refused at parse time (exit 2), naming it.
enum ValueList {
    /// "a, b, c": the values of `T`, for help text and messages.
    static func names<T: CaseIterable & RawRepresentable<String>>(_: T.Type) -> String {
        T.allCases.map(\.rawValue).joined(separator: ", ")
    }

    /// The items of `text` in order (duplicates dropped with `unique`). `item` parses one
    /// trimmed, non-empty item; `what` names the items in the empty-item message.
    static func parse<T: Equatable>(_ text: String, what: String, example: String, unique: Bool = true,
                                    item: (String) throws -> T) throws -> [T] {
        var out: [T] = []
        for raw in text.split(separator: ",", omittingEmptySubsequences: false) {
            let name = raw.trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else {
                throw ValidationError("the list is empty or has an empty item; name \(what), comma-separated, e.g. \(example)")
            }
            let v = try item(name)
            if !unique || !out.contains(v) { out.append(v) }
        }
        return out
    }

    /// `--engine psync,io_uring`: names from the engine registry (`among`: a subset, as
    /// the lab's class-suite engines).
    static func engines(_ text: String, among: [EngineKind] = EngineKind.allCases) throws -> [EngineKind] {
        let known = among.map(\.rawValue).joined(separator: ", ")
        return try parse(text, what: "engines from \(known)", example: "psync,io_uring") { name in
            let e = EngineKind(rawValue: name)
            guard among.contains(e) else {
                if EngineRegistry.descriptor(e) != nil {
                    throw ValidationError("engine '\(name)' reads no file and has no place here; choose from \(known)")
                }
                throw ValidationError("unknown engine '\(name)'; choose from \(known)")
            }
            return e
        }
    }

    /// `run --engine`'s help: each engine with its summary, from the registry.
    static var engineHelp: ArgumentHelp {
        ArgumentHelp("Engines, comma-separated: \(names(EngineKind.self)). Default: the storage engines (\(EngineRegistry.storageEngines.map(\.rawValue).joined(separator: ", "))); the default suite adds null and io_uring-nop as iobench's own overhead.",
                     discussion: EngineRegistry.all.map { "\($0.kind.rawValue): \($0.summary)" }.joined(separator: "\n"),
                     valueName: "list")
    }

    /// `--class simple,single-extent:8k`: classes, each optionally with its own block size.
    static func classes(_ text: String) throws -> [ClassChoice] {
        try parse(text, what: "classes from \(names(PathClass.self))", example: "simple,multi-extent:8k", unique: false) { item in
            let parts = item.split(separator: ":", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
            guard let c = PathClass(rawValue: parts[0]) else {
                throw ValidationError("unknown class '\(parts[0])'; choose from \(names(PathClass.self)), optionally with a block size, e.g. single-extent:8k")
            }
            let bs = try parts.count > 1 ? Int(clamping: Units.parseSize(parts[1], option: "class \(parts[0])")) : nil
            return ClassChoice(c, blockSize: bs)
        }
    }

    /// `lab --filesystems ext4,xfs`.
    static func filesystems(_ text: String) throws -> [LabFilesystem] {
        // An empty item is a filesystem the lab does not build, as any other.
        try text.split(separator: ",", omittingEmptySubsequences: false).reduce(into: []) { out, raw in
            let name = raw.trimmingCharacters(in: .whitespaces)
            guard let fs = LabFilesystem(rawValue: name) else {
                throw ValidationError("'\(name)' is not one the lab builds; choose from \(names(LabFilesystem.self)), comma-separated")
            }
            if !out.contains(fs) { out.append(fs) }
        }
    }
}

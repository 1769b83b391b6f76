import Foundation

/// A line of a job file: the file as it was named and the line number, from 1.
public struct FioLocation: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var description: String { "\(file):\(line)" }
    public static func < (a: FioLocation, b: FioLocation) -> Bool { (a.file, a.line) < (b.file, b.line) }
}

/// One `key=value` line, or a bare `key`, with its comment cut and `${VAR}` expanded.
public struct FioSetting: Sendable, Equatable {
    /// As written (`blocksize`); `name` is fio's main name for it (`bs`).
    public var key: String
    public var value: String?
    public var location: FioLocation
    /// The kb_base its sizes are read with: that of the section the line is in, wherever
    /// in the section `kb_base` is written (fio parses it first), else the one inherited.
    public var kbBase: UInt64 = 1024
    /// `${VAR}`s of the line that are not set: fio expands them to nothing.
    public var unsetVariables: [String] = []

    public var name: String { FioJobFile.aliases[key] ?? key }
    /// The line as it reads after expansion: `bs=4k`, `time_based`.
    public var text: String { value.map { "\(key)=\($0)" } ?? key }
}

/// A job section with what applies to it: the `[global]` sections above it, then its own
/// lines (a later line for a key replaces an earlier one).
public struct FioJobSection: Sendable {
    public var name: String
    public var location: FioLocation
    /// One per key, by fio's main name.
    public var settings: [String: FioSetting]

    public subscript(_ name: String) -> FioSetting? { settings[name] }
}

/// fio's INI job format, read as fio 3.x reads it (init.c `__parse_jobs_ini`, options.c
/// `fio_option_dup_subs`): `[name]` sections, a section named `global...` (any name
/// starting so) holding defaults for the jobs after it; `;` or `#` anywhere ends a line;
/// `include FILE` inside a section reads FILE's lines into it (FILE as given, else next
/// to the including file; included files hold no sections); `${VAR}` expands to the
/// environment variable, or to nothing when it is not set.
public enum FioJobFile {
    /// fio's other names for the keys iobench maps.
    static let aliases = ["blocksize": "bs", "readwrite": "rw", "timeout": "runtime", "iodepth_batch": "iodepth_batch_submit",
                          "iodepth_batch_complete": "iodepth_batch_complete_min"]

    /// The job sections of the file at `path` (only those named in `sections`, as fio's
    /// --section, when given; [global] sections always apply).
    public static func read(path: String, sections: [String]? = nil,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws(IOBenchError) -> [FioJobSection] {
        let lines = try readLines(path, naming: "--fio-job \(Units.printable(path))", fix: "name an fio job file")
        return try parse(lines, file: path, sections: sections, environment: environment)
    }

    /// The job sections of `text`, read as the file `file` (its directory finds includes).
    public static func parse(text: String, file: String, sections: [String]? = nil,
                             environment: [String: String] = [:]) throws(IOBenchError) -> [FioJobSection] {
        try parse(splitLines(text), file: file, sections: sections, environment: environment)
    }

    private struct RawLine {
        var text: String
        var location: FioLocation
    }

    private static func parse(_ lines: [String], file: String, sections wanted: [String]?,
                              environment: [String: String]) throws(IOBenchError) -> [FioJobSection] {
        var globals: [String: FioSetting] = [:]
        var jobs: [FioJobSection] = []
        var current: (name: String, location: FioLocation, lines: [RawLine], skipped: Bool)?

        func finish() throws(IOBenchError) {
            guard let c = current, !c.skipped else { return }
            let isGlobal = c.name.hasPrefix("global")
            let own = try settings(of: c.lines, inheritedKbBase: kbBase(of: globals[kbBaseKey]), environment: environment)
            if isGlobal {
                globals.merge(own) { _, new in new }
            } else {
                if let other = jobs.first(where: { $0.name == c.name }) {
                    throw .badInput("\(c.location): a second section [\(c.name)] (the first is at \(other.location)); iobench labels each case by its section: rename one")
                }
                jobs.append(FioJobSection(name: c.name, location: c.location, settings: globals.merging(own) { _, new in new }))
            }
        }

        for (i, raw) in lines.enumerated() {
            let location = FioLocation(file: file, line: i + 1)
            guard let text = significant(raw) else { continue }
            if text.hasPrefix("[") {
                try finish()
                guard text.hasSuffix("]"), text.count > 2 else {
                    throw .badInput("\(location): '\(Units.printable(text))' is not a section header; write [NAME]")
                }
                let name = String(text.dropFirst().dropLast())
                let skipped = !name.hasPrefix("global") && wanted.map { !$0.contains(name) } ?? false
                current = (name, location, [], skipped)
                continue
            }
            guard current != nil else {
                throw .badInput("\(location): '\(Units.printable(text))' is outside any [section]; put it under [global] or a job section")
            }
            // Lines of a section not selected are not read at all, includes neither (fio).
            if current!.skipped { continue }
            if let included = includeTarget(text) {
                current!.lines += try includedLines(included, from: location, depth: 1)
            } else {
                current!.lines.append(RawLine(text: text, location: location))
            }
        }
        try finish()
        if let wanted {
            let names = jobs.map(\.name)
            for name in wanted where !names.contains(name) {
                let all = try parse(lines, file: file, sections: nil, environment: environment).map { "[\($0.name)]" }
                throw .badInput("--section \(Units.printable(name)): \(file) has no job section [\(Units.printable(name))]; its job sections are \(all.isEmpty ? "none" : all.joined(separator: ", "))")
            }
        }
        return jobs
    }

    private static let kbBaseKey = "kb_base"

    private static func kbBase(of s: FioSetting?) -> UInt64 {
        s.flatMap { UInt64($0.value ?? "") } ?? 1024
    }

    /// A section's lines as settings: `${VAR}` expanded, split at the first `=`, each
    /// stamped with the section's kb_base.
    private static func settings(of lines: [RawLine], inheritedKbBase: UInt64,
                                 environment: [String: String]) throws(IOBenchError) -> [String: FioSetting] {
        var out: [String: FioSetting] = [:]
        for line in lines {
            let (expanded, unset) = expand(line.text, environment: environment)
            var key = expanded
            var value: String?
            if let eq = expanded.firstIndex(of: "=") {
                key = String(expanded[..<eq])
                value = String(expanded[expanded.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
            }
            key = key.trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty else {
                throw .badInput("\(line.location): '\(Units.printable(line.text))' has no key; write KEY=VALUE")
            }
            let s = FioSetting(key: key, value: value, location: line.location, unsetVariables: unset)
            out[s.name] = s
        }
        var kb = inheritedKbBase
        if let k = out[kbBaseKey] {
            guard k.value == "1024" || k.value == "1000" else {
                throw .badInput("\(k.location): \(Units.printable(k.text)): kb_base is 1024 or 1000")
            }
            kb = kbBase(of: k)
        }
        for key in out.keys { out[key]!.kbBase = kb }
        return out
    }

    /// `${VAR}` replaced by the variable's value, or by nothing when it is not set (fio);
    /// a `${` without a closing `}` stays as it is.
    static func expand(_ text: String, environment: [String: String]) -> (String, unset: [String]) {
        var out = ""
        var unset: [String] = []
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            out += rest[..<start.lowerBound]
            guard let close = rest[start.upperBound...].firstIndex(of: "}") else {
                rest = rest[start.lowerBound...]
                break
            }
            let name = String(rest[start.upperBound ..< close])
            if let v = environment[name], !name.isEmpty { out += v } else if !unset.contains(name) { unset.append(name) }
            rest = rest[rest.index(after: close)...]
        }
        return (out + rest, unset)
    }

    /// The line without its comment and surrounding blanks; nil when nothing is left.
    /// fio cuts at the first `;` or `#` wherever it is, so values cannot hold them.
    static func significant(_ line: String) -> String? {
        let cut = line.prefix { $0 != ";" && $0 != "#" }
        let t = cut.trimmingCharacters(in: .whitespacesAndNewlines.union(.controlCharacters))
        return t.isEmpty ? nil : t
    }

    /// The file of an `include FILE` line, else nil.
    private static func includeTarget(_ text: String) -> String? {
        guard text.hasPrefix("include"), let next = text.dropFirst(7).first, next == " " || next == "\t" else { return nil }
        return text.dropFirst(8).trimmingCharacters(in: .whitespaces)
    }

    /// The significant lines of an included file, its own includes read in place.
    private static func includedLines(_ name: String, from location: FioLocation, depth: Int) throws(IOBenchError) -> [RawLine] {
        guard !name.isEmpty else {
            throw .badInput("\(location): include names no file; write include FILE")
        }
        guard depth <= 16 else {
            throw .badInput("\(location): include \(Units.printable(name)) is nested more than 16 deep (does a file include itself?)")
        }
        // As fio: the name as given (from the current directory), else next to the
        // including file.
        var path = name
        if !name.hasPrefix("/") && !FileManager.default.fileExists(atPath: name), let slash = location.file.lastIndex(of: "/") {
            path = String(location.file[...slash]) + name
        }
        var out: [RawLine] = []
        for (i, raw) in try readLines(path, naming: "\(location): include \(Units.printable(path))",
                                      fix: "fix the name (fio looks for it as given, then next to \(location.file))").enumerated() {
            let here = FioLocation(file: path, line: i + 1)
            guard let text = significant(raw) else { continue }
            if text.hasPrefix("[") {
                throw .badInput("\(here): an included file holds no sections (fio refuses them too); move [\(Units.printable(String(text.dropFirst().dropLast())))] into \(location.file)")
            }
            if let nested = includeTarget(text) {
                out += try includedLines(nested, from: here, depth: depth + 1)
            } else {
                out.append(RawLine(text: text, location: here))
            }
        }
        return out
    }

    /// The lines of `path`; `naming` starts the error message, `fix` ends it.
    private static func readLines(_ path: String, naming: String, fix: String) throws(IOBenchError) -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw .badInput("\(naming): no such file; \(fix)")
        }
        guard !isDir.boolValue else { throw .badInput("\(naming): is a directory; \(fix)") }
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw .badInput("\(naming): is not a regular file (a FIFO, a device or a pipe); \(fix)")
        }
        guard access(path, R_OK) == 0, let data = FileManager.default.contents(atPath: path) else {
            throw .badInput("\(naming): cannot be read (\(Errno.current)); \(fix)")
        }
        return splitLines(String(decoding: data, as: UTF8.self))
    }

    private static func splitLines(_ text: String) -> [String] {
        // "\r\n" is one Character in Swift.
        text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map(String.init)
    }
}

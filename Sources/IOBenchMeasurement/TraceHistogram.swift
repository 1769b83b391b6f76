/// The hist-trigger counting method (CONFIG_HIST_TRIGGERS): a `hist:` trigger on each
/// event makes the kernel count the events in a hash table keyed by task and flags, so
/// nothing goes through the ring buffer (no overruns) and there is no event text to parse,
/// only the tables of each event's `hist` file
/// (the kernel's Documentation/trace/histogram.rst).
///
/// The keys carry what the text parser reads from each event line, so both methods count
/// the same thing: the task (`common_pid`), and the flags that tell reads from writes,
/// direct from buffered and synchronous from asynchronous completions. The inode and
/// device are the trigger's filter.
enum TraceHistogram {
    /// One hist trigger: `hist:keys=<keys> if <filter>` on `<system>/<event>`.
    struct Trigger: Equatable {
        var system: String
        var event: String
        var keys: [String]
        var filter: String

        var command: String { "hist:keys=\(keys.joined(separator: ","))" + (filter.isEmpty ? "" : " if \(filter)") }
        var path: String { "events/\(system)/\(event)" }
    }

    /// The triggers of one pass. `kiWrite` is the WRITE bit of `ki_flags` (from the
    /// events' format). No triggers for bios when `diskDev` is nil (no block device).
    static func triggers(inode: UInt64, fsDev: UInt64, diskDev: UInt64?, withQueued: Bool) -> [Trigger] {
        let file = "ino == \(inode) && dev == \(fsDev)"
        var t = [
            Trigger(system: "iomap", event: "iomap_dio_rw_begin", keys: ["common_pid", "ki_flags"], filter: file),
            Trigger(system: "iomap", event: "iomap_iter", keys: ["common_pid", "flags"], filter: file),
            Trigger(system: "iomap", event: "iomap_dio_complete", keys: ["common_pid", "ki_flags", "aio"], filter: file),
        ]
        if withQueued {
            t.append(Trigger(system: "iomap", event: "iomap_dio_rw_queued", keys: ["common_pid"], filter: file))
        }
        if let diskDev {
            t.append(Trigger(system: "block", event: PathTracer.bioEvent, keys: ["common_pid", "rwbs"], filter: "dev == \(diskDev)"))
        }
        return t
    }

    /// The fields each trigger keys or filters on, which the event's format must have.
    static func requiredFields(_ trigger: Trigger) -> Set<String> {
        Set(trigger.keys.filter { $0 != "common_pid" }).union(trigger.system == "iomap" ? ["ino", "dev"] : ["dev"])
    }

    /// Flag bits the keys are judged by.
    struct Masks {
        var iterDirect: UInt64
        var iterWrite: UInt64
        /// WRITE in `ki_flags` of `iomap_dio_rw_begin` and `iomap_dio_complete`.
        var kiWrite: UInt64
    }

    /// Adds up the tables of each event's `hist` file, judged as `TraceEventParser.tally`
    /// judges lines: direct, non-WRITE iterations; non-WRITE begins and completions; the
    /// tasks that ran the inode's direct I/O (begin, iter, queued, synchronous completion);
    /// read bios of those tasks (others' are foreign). `tables` is keyed by event name.
    static func tally(_ tables: [String: [Table]], masks: Masks) -> TraceTally {
        var t = TraceTally()
        var readers: Set<UInt64> = []
        func entries(_ event: String) -> [Entry] { (tables[event] ?? []).flatMap(\.entries) }
        for e in entries("iomap_iter") {
            guard let flags = e.number("flags"), flags & masks.iterDirect != 0, flags & masks.iterWrite == 0 else { continue }
            t.iomapIter += e.hitcount
            if let pid = e.number("common_pid") { readers.insert(pid) }
        }
        for e in entries("iomap_dio_rw_begin") where (e.number("ki_flags") ?? 0) & masks.kiWrite == 0 {
            t.dioRwBegin += e.hitcount
            if let pid = e.number("common_pid") { readers.insert(pid) }
        }
        for e in entries("iomap_dio_complete") where (e.number("ki_flags") ?? 0) & masks.kiWrite == 0 {
            t.dioComplete += e.hitcount
            // Only a synchronous completion runs in the submitting task.
            if e.number("aio") == 0, let pid = e.number("common_pid") { readers.insert(pid) }
        }
        for e in entries("iomap_dio_rw_queued") {
            if let pid = e.number("common_pid") { readers.insert(pid) }
        }
        for e in entries(PathTracer.bioEvent) where e.key("rwbs")?.contains("R") == true {
            if let pid = e.number("common_pid"), readers.contains(pid) { t.bios += e.hitcount } else { t.foreignBios += e.hitcount }
        }
        return t
    }

    /// True when a table dropped hits (it was full): the counts are then lower bounds.
    static func dropped(_ tables: [String: [Table]]) -> Bool {
        tables.values.joined().contains { ($0.dropped ?? 0) > 0 }
    }

    // MARK: - The `hist` file

    /// One table of a `hist` file (one per hist trigger on the event).
    struct Table: Equatable {
        /// The trigger as the kernel prints it after `# trigger info: `, or "" when the
        /// text has no header.
        var trigger = ""
        var entries: [Entry] = []
        /// The `Totals:` block: hits, entries used, and hits dropped because the table was full.
        var hits: UInt64?
        var entryCount: UInt64?
        var dropped: UInt64?

        /// Key names in order, from the trigger's `keys=` (modifiers such as `.execname`
        /// are not part of the printed name).
        var keyNames: [String] {
            guard let r = trigger.firstRange(of: "keys=") else { return [] }
            let list = trigger[r.upperBound...].prefix { $0 != ":" && $0 != " " }
            return list.split(separator: ",").map { k in
                String(k.split(separator: "=").last?.split(separator: ".").first ?? "")
            }
        }
    }

    /// One line of a table: `{ common_pid:       1234, rwbs: RS  } hitcount:   5`.
    struct Entry: Equatable {
        /// Key names and their printed values, trimmed, in order.
        var keys: [String]
        var keyValues: [String]
        /// `hitcount` and any other value fields.
        var values: [String: UInt64]

        var hitcount: UInt64 { values["hitcount"] ?? 0 }

        func key(_ name: String) -> String? { keys.firstIndex(of: name).map { keyValues[$0] } }

        /// A key as a number: a plain decimal, or the number in brackets that `.execname`
        /// and `.syscall` print after the name (`bash            [      8710]`).
        func number(_ name: String) -> UInt64? {
            guard let v = key(name) else { return nil }
            if let open = v.lastIndex(of: "["), v.hasSuffix("]") {
                return UInt64(v[v.index(after: open)...].dropLast().trimmingSpaces)
            }
            return UInt64(v)
        }
    }

    /// Parses the text of a `hist` file: `# trigger info:` starts a table, `{ ... }`
    /// lines are its entries, `Totals:` ends it. Indented text (as quoted in the kernel's
    /// documentation) and elided lines (`.`) are accepted. Multi-line keys (`stacktrace`)
    /// are not: such entries are left out.
    static func parse(_ text: String) -> [Table] {
        var tables: [Table] = []
        var current: Table?
        var closed = false
        func startTable(_ trigger: String) {
            if let c = current { tables.append(c) }
            current = Table(trigger: trigger)
            closed = false
        }
        for raw in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = raw.trimmingSpaces
            if line.hasPrefix("# trigger info:") {
                startTable(String(line.dropFirst("# trigger info:".count).trimmingSpaces))
            } else if line.hasPrefix("{") {
                if current == nil || closed { startTable("") }
                if let e = entry(line, names: current?.keyNames ?? []) { current?.entries.append(e) }
            } else if let v = total("Hits:", line) {
                current?.hits = v
            } else if let v = total("Entries:", line) {
                current?.entryCount = v
            } else if let v = total("Dropped:", line) {
                current?.dropped = v
                closed = true
            }
        }
        if let c = current { tables.append(c) }
        return tables
    }

    private static func total(_ label: String, _ line: Substring) -> UInt64? {
        guard line.hasPrefix(label) else { return nil }
        return UInt64(line.dropFirst(label.count).trimmingSpaces)
    }

    /// `{ k1: v1, k2: v2 } hitcount: N  val: M`. The keys are split at each ", name:";
    /// with the names known (from the trigger) at those names only, so that a value
    /// (a task name, a string field) may itself hold ", ".
    static func entry(_ line: Substring, names: [String]) -> Entry? {
        guard line.first == "{", let close = line.lastIndex(of: "}") else { return nil }
        var values: [String: UInt64] = [:]
        let tokens = line[line.index(after: close)...].split(separator: " ")
        for (i, tok) in tokens.enumerated() where tok.hasSuffix(":") && i + 1 < tokens.count {
            if let v = UInt64(tokens[i + 1]) { values[String(tok.dropLast())] = v }
        }
        guard values["hitcount"] != nil else { return nil }

        let keyText = line[line.index(after: line.startIndex) ..< close].trimmingSpaces
        var parts: [Substring] = []
        var start = keyText.startIndex, search = keyText.startIndex
        while let comma = keyText[search...].firstIndex(of: ",") {
            let after = keyText[keyText.index(after: comma)...].drop { $0 == " " }
            let name: Substring
            if names.isEmpty {
                name = after.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            } else if parts.count + 1 < names.count {
                name = Substring(names[parts.count + 1])
            } else {
                break
            }
            if !name.isEmpty, after.hasPrefix(name + ":") {
                parts.append(keyText[start ..< comma])
                start = after.startIndex
            }
            search = keyText.index(after: comma)
        }
        parts.append(keyText[start...])
        var keys: [String] = [], keyValues: [String] = []
        for part in parts {
            guard let colon = part.firstIndex(of: ":") else { return nil }
            keys.append(String(part[..<colon]))
            keyValues.append(String(part[part.index(after: colon)...].trimmingSpaces))
        }
        // Names that do not match the printed ones: split by the text alone.
        if !names.isEmpty, keys != names { return entry(line, names: []) }
        return Entry(keys: keys, keyValues: keyValues, values: values)
    }
}

private extension Substring {
    /// Without leading and trailing blanks.
    var trimmingSpaces: Substring {
        var lo = startIndex, hi = endIndex
        while lo < hi, self[lo] == " " || self[lo] == "\t" { lo = index(after: lo) }
        while hi > lo, [" ", "\t", "\r"].contains(self[index(before: hi)]) { hi = index(before: hi) }
        return self[lo ..< hi]
    }
}

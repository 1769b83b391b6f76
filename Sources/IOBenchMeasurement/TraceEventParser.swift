import Glibc

/// The ring-buffer counting method: a byte-level parser of a tracefs `trace` file's text,
/// and of an event's `format` file. Used where the kernel has no hist triggers
/// (`TraceHistogram.swift`), and by the tests.
enum TraceEventParser {
    /// What counts: the inode on its filesystem, the disk for bios, the flag bits.
    struct TraceMatch {
        var inode: UInt64
        var fsDevice: (major: UInt32, minor: UInt32)
        var blockDevice: (major: UInt32, minor: UInt32)?
        var iterDirect: UInt64 = 1 << 4
        var iterWrite: UInt64 = 1 << 0
    }

    /// Counts the matching events in the text of a tracefs `trace` file, lines like
    /// `dd-9845 [000] ..... 799.824966: iomap_iter: dev 254:0 ino 0xf78317 pos ...`.
    static func tally(trace: String, match: TraceMatch) -> TraceTally {
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

    enum TraceEvent: CaseIterable {
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
    struct TraceLine {
        var pid: Int32?
        var tgid: Int32?
        var event: TraceEvent
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
                    tgid = TraceEventParser.decimal(b, open + 1 ..< end - 1)
                    end = open
                    while end > line.lowerBound, b[end - 1] == UInt8(ascii: " ") { end -= 1 }
                }
            }
            var dash = end
            while dash > line.lowerBound, b[dash - 1] != UInt8(ascii: "-") { dash -= 1 }
            if dash > line.lowerBound { pid = TraceEventParser.decimal(b, dash ..< end) }
        }

        init?(_ line: String) {
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
    struct EventFormat {
        var fields: Set<String> = []
        var printFormat = ""

        init(_ text: String) {
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
        var minorBits: Int? {
            guard let r = printFormat.firstRange(of: "REC->dev) >> ") else { return nil }
            return Int(printFormat[r.upperBound...].prefix(while: \.isNumber))
        }

        /// The bit of flag `name` in `__print_flags(REC-><field>, "|", { (1 << 4), "DIRECT" }, ...)`.
        func flagMask(field: String, name: String) -> UInt64? {
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
}

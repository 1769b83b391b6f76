import Foundation
import Glibc
import IOBenchPlatform

/// The kernel's text symbols from /proc/kallsyms, for naming sampled kernel addresses.
/// Addresses read as 0 without CAP_SYSLOG (kernel.kptr_restrict): then `usable` is false
/// and every kernel frame is `[kernel]`.
public struct KernelSymbols: Sendable {
    /// Start addresses, ascending, and where each symbol's name sits in `nameBytes`
    /// (offset and length): a few large arrays, not one String per symbol, so the table
    /// of ~150,000 symbols costs a few MiB.
    let starts: [UInt64]
    let nameOffsets: [UInt32]
    let nameBytes: [UInt8]

    public var usable: Bool { !starts.isEmpty }

    public init(kallsyms text: String) {
        var parser = Parser()
        var bytes = Array(text.utf8)
        bytes.append(0x0A)
        parser.feed(bytes[...])
        (starts, nameOffsets, nameBytes) = parser.finish()
    }

    init(parsed: (starts: [UInt64], nameOffsets: [UInt32], nameBytes: [UInt8])) {
        (starts, nameOffsets, nameBytes) = parsed
    }

    /// Reads /proc/kallsyms in 64 KiB pieces (never the whole file at once).
    public static func load() -> KernelSymbols {
        let fd = open("/proc/kallsyms", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return KernelSymbols(parsed: ([], [], [])) }
        defer { close(fd) }
        var parser = Parser()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var carry: [UInt8] = []
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            carry.append(contentsOf: buffer[0 ..< n])
            guard let lastNewline = carry.lastIndex(of: 0x0A) else { continue }
            parser.feed(carry[...lastNewline])
            carry.removeSubrange(...lastNewline)
        }
        if !carry.isEmpty { carry.append(0x0A); parser.feed(carry[...]) }
        return KernelSymbols(parsed: parser.finish())
    }

    /// kallsyms lines (`ffffffff81000000 T _stext [module]`), text symbols only.
    struct Parser {
        var entries: [(start: UInt64, offset: UInt32)] = []
        var names: [UInt8] = []

        init() {
            entries.reserveCapacity(160_000)
            names.reserveCapacity(4 << 20)
        }

        mutating func feed(_ bytes: ArraySlice<UInt8>) {
            var lineStart = bytes.startIndex
            for i in bytes.indices where bytes[i] == 0x0A {
                line(bytes[lineStart ..< i])
                lineStart = i + 1
            }
        }

        mutating func line(_ l: ArraySlice<UInt8>) {
            let fields = l.split(separator: 0x20, maxSplits: 3, omittingEmptySubsequences: true)
            guard fields.count >= 3, fields[1].count == 1, let type = fields[1].first,
                  [0x74, 0x54, 0x77, 0x57].contains(type) else { return }   // t T w W
            var addr: UInt64 = 0
            for c in fields[0] {
                let v: UInt64
                switch c {
                case 0x30 ... 0x39: v = UInt64(c - 0x30)
                case 0x61 ... 0x66: v = UInt64(c - 0x61 + 10)
                case 0x41 ... 0x46: v = UInt64(c - 0x41 + 10)
                default: return
                }
                addr = addr << 4 | v
            }
            guard addr != 0 else { return }
            var name = fields[2]
            if let tab = name.firstIndex(of: 0x09) { name = name[..<tab] }
            entries.append((addr, UInt32(names.count)))
            names.append(contentsOf: name)
            names.append(0)
        }

        mutating func finish() -> (starts: [UInt64], nameOffsets: [UInt32], nameBytes: [UInt8]) {
            entries.sort { $0.start < $1.start }
            return (entries.map(\.start), entries.map(\.offset), names)
        }
    }

    /// The symbol whose range holds `address` (the last start at or below it).
    public func name(of address: UInt64) -> String {
        guard usable, address >= starts[0] else { return "[kernel]" }
        var lo = 0, hi = starts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if starts[mid] <= address { lo = mid } else { hi = mid - 1 }
        }
        let from = Int(nameOffsets[lo])
        var to = from
        while to < nameBytes.count && nameBytes[to] != 0 { to += 1 }
        return String(decoding: nameBytes[from ..< to], as: UTF8.self)
    }
}

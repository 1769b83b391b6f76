import Foundation
import IOBenchPlatform

/// The kernel's text symbols from /proc/kallsyms, for naming sampled kernel addresses.
/// Addresses read as 0 without CAP_SYSLOG (kernel.kptr_restrict): then `usable` is false
/// and every kernel frame is `[kernel]`.
public struct KernelSymbols: Sendable {
    /// Start addresses, ascending, and the name of the symbol starting at each.
    let starts: [UInt64]
    let names: [String]

    public var usable: Bool { !starts.isEmpty }

    public init(kallsyms text: String) {
        var pairs: [(UInt64, String)] = []
        pairs.reserveCapacity(130_000)
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            // "ffffffff81000000 T _stext [module]"
            let f = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true)
            guard f.count >= 3, let type = f[1].first, "tTwW".contains(type),
                  let addr = UInt64(f[0], radix: 16), addr != 0 else { continue }
            pairs.append((addr, String(f[2])))
        }
        pairs.sort { $0.0 < $1.0 }
        starts = pairs.map(\.0)
        names = pairs.map(\.1)
    }

    public static func load() -> KernelSymbols {
        KernelSymbols(kallsyms: readWholeFile("/proc/kallsyms") ?? "")
    }

    /// The symbol whose range holds `address` (the last start at or below it).
    public func name(of address: UInt64) -> String {
        guard usable, address >= starts[0] else { return "[kernel]" }
        var lo = 0, hi = starts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if starts[mid] <= address { lo = mid } else { hi = mid - 1 }
        }
        return names[lo]
    }
}

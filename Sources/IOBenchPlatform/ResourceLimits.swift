import CIOBenchShim
import Glibc

/// The process limits iobench checks before it starts jobs (RLIMIT_NPROC, RLIMIT_AS),
/// and what the process already uses of them.
public enum ResourceLimits {
    /// The fix to print when memory or address space ran out (ENOMEM).
    public static let memoryFix = "address space (ulimit -v, RLIMIT_AS) or memory exhausted; lower --numjobs, --iodepth or --bs, or raise ulimit -v"

    /// Bytes as MiB with one decimal, for limit messages.
    public static func mib(_ bytes: UInt64) -> String {
        // In tenths, from the MiB count and the remainder: no overflow near UInt64.max
        // (a limit such as `prlimit --as=2^62` is a real value here).
        let mib = bytes / 1_048_576
        let tenths = mib * 10 + ((bytes % 1_048_576) * 10 + 524_288) / 1_048_576
        return "\(tenths / 10).\(tenths % 10) MiB"
    }

    /// The soft limit of a resource (IOB_RLIMIT_*), or nil when it is unlimited.
    public static func current(_ resource: Int32) -> UInt64? {
        var v: UInt64 = 0
        return iob_rlimit_soft(resource, &v) == 1 ? v : nil
    }

    /// Threads of this process now (/proc/self/status `Threads:`).
    public static func threadsOfThisProcess() -> Int? {
        statusField("Threads:").flatMap { Int($0) }
    }

    /// Bytes of address space this process maps now (/proc/self/status `VmSize:`).
    public static func addressSpaceInUse() -> UInt64? {
        statusField("VmSize:").flatMap { UInt64($0.split(separator: " ").first ?? "") }.map { $0 * 1024 }
    }

    static func statusField(_ name: String) -> String? {
        guard let f = fopen("/proc/self/status", "r") else { return nil }
        defer { fclose(f) }
        var buf = [CChar](repeating: 0, count: 512)
        while fgets(&buf, 512, f) != nil {
            let line = String(nulTerminated: buf)
            if line.hasPrefix(name) {
                var v = Substring(line.dropFirst(name.count))
                while let c = v.first, c == " " || c == "\t" { v.removeFirst() }
                while let c = v.last, c == "\n" || c == " " { v.removeLast() }
                return String(v)
            }
        }
        return nil
    }
}


import Glibc
import IOBenchPlatform

/// Whether this process may create io_uring rings: what every engine with
/// `needsIoUring` checks before a run (kernel.io_uring_disabled, kernel.io_uring_group).
public enum IoUringAvailability {
    /// Fails with bad input, naming the fix, when io_uring is disabled or restricted here.
    public static func preflight() throws(IOBenchError) {
        if let d = StorageInfo.ioUringDisabled(), d == 2 {
            throw .badInput("io_uring is disabled on this machine (sysctl kernel.io_uring_disabled=2); enable it with 'sysctl kernel.io_uring_disabled=0' or use --engine libaio")
        }
        if let why = restriction() {
            throw .badInput("io_uring is restricted on this machine: \(why); run as root or as a member of that group, enable it for everyone with 'sysctl kernel.io_uring_disabled=0', or use --engine libaio")
        }
    }

    /// Why io_uring cannot be used here (for a case listed as skipped), or nil.
    public static func unavailableReason() -> String? {
        if let d = StorageInfo.ioUringDisabled(), d == 2 {
            return "io_uring is disabled (sysctl kernel.io_uring_disabled=2)"
        }
        if let why = restriction() { return "io_uring is restricted: \(why)" }
        return nil
    }

    /// Why this process may not create io_uring rings under kernel.io_uring_disabled=1
    /// (only CAP_SYS_ADMIN and members of kernel.io_uring_group may), or nil.
    public static func restriction() -> String? {
        guard StorageInfo.ioUringDisabled() == 1 else { return nil }
        if hasCapSysAdmin() { return nil }
        let group = StorageInfo.readSysfs("/proc/sys/kernel/io_uring_group").flatMap { Int64($0) } ?? -1
        if group >= 0 {
            let gid = gid_t(truncatingIfNeeded: group)
            if getegid() == gid { return nil }
            let n = getgroups(0, nil)
            if n > 0 {
                var groups = [gid_t](repeating: 0, count: Int(n))
                let m = getgroups(n, &groups)
                if m > 0 && groups.prefix(Int(m)).contains(gid) { return nil }
            }
            return "sysctl kernel.io_uring_disabled=1 allows only root and the members of group \(group) (kernel.io_uring_group), and this user (uid \(geteuid())) is not one"
        }
        return "sysctl kernel.io_uring_disabled=1 and kernel.io_uring_group=-1 allow only root (CAP_SYS_ADMIN), which this process (uid \(geteuid())) lacks"
    }

    /// CAP_SYS_ADMIN in the effective set (/proc/self/status CapEff, bit 21).
    package static func hasCapSysAdmin() -> Bool {
        guard let f = fopen("/proc/self/status", "r") else { return geteuid() == 0 }
        defer { fclose(f) }
        var buf = [CChar](repeating: 0, count: 512)
        while fgets(&buf, 512, f) != nil {
            let line = String(nulTerminated: buf)
            if line.hasPrefix("CapEff:") {
                let hex = line.dropFirst(7).filter { $0.isHexDigit }
                return UInt64(hex, radix: 16).map { $0 & (1 << 21) != 0 } ?? (geteuid() == 0)
            }
        }
        return geteuid() == 0
    }
}

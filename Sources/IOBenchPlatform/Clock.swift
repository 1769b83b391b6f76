import Glibc
import CIOBenchShim

/// CLOCK_MONOTONIC in nanoseconds (vDSO, no syscall).
@inlinable @inline(__always)
public func monotonicNanoseconds() -> UInt64 { iob_now_ns() }

/// CLOCK_REALTIME in nanoseconds since the epoch (for timestamps in logs).
public func wallClockNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// CPU time and context switches of the calling thread.
public struct ThreadUsage: Sendable, Equatable {
    public var userNs: UInt64 = 0
    public var systemNs: UInt64 = 0
    public var voluntarySwitches: UInt64 = 0
    public var involuntarySwitches: UInt64 = 0

    public init() {}

    public static func current() -> ThreadUsage {
        var u = ThreadUsage()
        _ = iob_thread_rusage(&u.userNs, &u.systemNs, &u.voluntarySwitches, &u.involuntarySwitches)
        return u
    }

    public static func - (a: ThreadUsage, b: ThreadUsage) -> ThreadUsage {
        var d = ThreadUsage()
        d.userNs = a.userNs &- b.userNs
        d.systemNs = a.systemNs &- b.systemNs
        d.voluntarySwitches = a.voluntarySwitches &- b.voluntarySwitches
        d.involuntarySwitches = a.involuntarySwitches &- b.involuntarySwitches
        return d
    }

    public static func + (a: ThreadUsage, b: ThreadUsage) -> ThreadUsage {
        var d = ThreadUsage()
        d.userNs = a.userNs &+ b.userNs
        d.systemNs = a.systemNs &+ b.systemNs
        d.voluntarySwitches = a.voluntarySwitches &+ b.voluntarySwitches
        d.involuntarySwitches = a.involuntarySwitches &+ b.involuntarySwitches
        return d
    }
}

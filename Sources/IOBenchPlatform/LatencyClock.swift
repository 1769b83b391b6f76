import Glibc
import CIOBenchShim

/// The clocks a job loop can stamp reads with.
public enum ClockSource: String, Codable, Sendable, CaseIterable {
    /// The CPU's time-stamp counter (rdtscp), converted to nanoseconds on the
    /// CLOCK_MONOTONIC timebase by a calibration (`TSCCalibration`).
    case tsc
    /// CLOCK_MONOTONIC through the vDSO (`monotonicNanoseconds`).
    case monotonic
}

/// The clock of one job: CLOCK_MONOTONIC, or the TSC converted to nanoseconds on the
/// same timebase, so its values compare with `monotonicNanoseconds()` (deadlines read
/// by other threads, the wall-clock anchor of the measured phase) within the drift the
/// run checks. A value type of four words: no allocation, lock or existential; `now()`
/// branches on a stored Bool that does not change during a job, so the branch is
/// always predicted.
///
/// The conversion: ns = anchorNs + ((ticks - anchorTicks) × nsPerTickQ32) >> 32, the
/// product taken in 128 bits (`multipliedFullWidth`: one `mul` on x86_64), so it does
/// not overflow for any run shorter than 2^64 ns (584 years). `nsPerTickQ32` is the
/// calibrated ns per tick in 32.32 fixed point; rounding it to an integer is a relative
/// error of at most 0.5 / nsPerTickQ32 = 1.2e-10 × the tick rate in GHz (3.5e-10 at
/// 3 GHz: 0.00035 ppm, 1.3 µs an hour, under 1 ns on any latency below 2.8 ms), and
/// the shift truncates less than 1 ns: both far below the calibration's own error
/// (docs/method.md, "The clock").
public struct LatencyClock: Sendable, Equatable {
    @usableFromInline let useTSC: Bool
    @usableFromInline let anchorTicks: UInt64
    @usableFromInline let anchorNs: UInt64
    /// Nanoseconds per tick × 2^32.
    @usableFromInline let nsPerTickQ32: UInt64

    /// CLOCK_MONOTONIC.
    public static let monotonic = LatencyClock(useTSC: false, anchorTicks: 0, anchorNs: 0, nsPerTickQ32: 0)

    /// A TSC clock: `anchorTicks` read at CLOCK_MONOTONIC time `anchorNs`, ticking
    /// `nsPerTickQ32` / 2^32 ns a tick.
    package init(tscAnchorTicks: UInt64, anchorNs: UInt64, nsPerTickQ32: UInt64) {
        self.init(useTSC: true, anchorTicks: tscAnchorTicks, anchorNs: anchorNs, nsPerTickQ32: nsPerTickQ32)
    }

    init(useTSC: Bool, anchorTicks: UInt64, anchorNs: UInt64, nsPerTickQ32: UInt64) {
        self.useTSC = useTSC
        self.anchorTicks = anchorTicks
        self.anchorNs = anchorNs
        self.nsPerTickQ32 = nsPerTickQ32
    }

    public var source: ClockSource { useTSC ? .tsc : .monotonic }

    /// Nanoseconds on the CLOCK_MONOTONIC timebase.
    @inlinable @inline(__always)
    public func now() -> UInt64 {
        if useTSC { return nanoseconds(ticks: iob_rdtscp()) }
        return iob_now_ns()
    }

    /// A TSC reading in nanoseconds on the CLOCK_MONOTONIC timebase. Readings before the
    /// anchor wrap; the anchor is taken at the start of the calibration window, before
    /// any job reads the clock.
    @inlinable @inline(__always)
    public func nanoseconds(ticks: UInt64) -> UInt64 {
        let p = (ticks &- anchorTicks).multipliedFullWidth(by: nsPerTickQ32)
        return anchorNs &+ (p.high << 32 | p.low >> 32)
    }

    /// Nanoseconds of `ticks` TSC ticks (an elapsed time).
    @inlinable
    public func elapsedNanoseconds(ticks: UInt64) -> UInt64 {
        let p = ticks.multipliedFullWidth(by: nsPerTickQ32)
        return p.high << 32 | p.low >> 32
    }
}

/// Raw reads of the time-stamp counter (0 on machines without one).
public enum TSC {
    /// rdtscp (what `LatencyClock.now()` reads).
    @inlinable @inline(__always)
    public static func rdtscp() -> UInt64 { iob_rdtscp() }

    /// lfence; rdtsc (measured against rdtscp by `make micro`).
    @inlinable @inline(__always)
    public static func lfenceRdtsc() -> UInt64 { iob_lfence_rdtsc() }

    /// rdtsc without a fence (measured by `make micro` only: not a latency clock).
    @inlinable @inline(__always)
    public static func unorderedRdtsc() -> UInt64 { iob_rdtsc_unordered() }

    /// Whether this build runs on a CPU architecture with a TSC (x86_64).
    public static var architectureHasTSC: Bool { IOB_HAVE_TSC != 0 }
}

/// Whether the TSC may serve as the latency clock: x86_64, and /proc/cpuinfo's flags
/// include `constant_tsc` (the rate does not follow the CPU frequency) and `nonstop_tsc`
/// (it keeps counting in deep C-states).
public enum TSCSupport {
    public static let requiredFlags = ["constant_tsc", "nonstop_tsc"]

    /// Why the TSC is not usable, or nil when it is. `cpuinfo` is the text of
    /// /proc/cpuinfo (nil: it could not be read). Every `flags` line must hold both
    /// flags (one line per CPU).
    public static func unusableReason(cpuinfo: String?, x86_64: Bool) -> String? {
        guard x86_64 else {
            return "this machine is not x86_64 (the TSC clock needs rdtscp)"
        }
        guard let cpuinfo else { return "/proc/cpuinfo cannot be read, so constant_tsc and nonstop_tsc cannot be checked" }
        var lines = 0
        var missing: [String] = []
        for line in cpuinfo.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmedOfBlanks()
            guard key == "flags" else { continue }
            lines += 1
            let flags = Set(line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init))
            for f in requiredFlags where !flags.contains(f) && !missing.contains(f) { missing.append(f) }
        }
        guard lines > 0 else { return "/proc/cpuinfo has no flags line, so constant_tsc and nonstop_tsc cannot be checked" }
        guard missing.isEmpty else {
            let why = missing.map { $0 == "constant_tsc" ? "constant_tsc (its rate would follow the CPU frequency)" : "nonstop_tsc (it would stop in deep C-states)" }
            return "/proc/cpuinfo lacks the flag\(missing.count == 1 ? "" : "s") " + why.joined(separator: " and ")
        }
        return nil
    }

    /// This machine's answer (reads /proc/cpuinfo).
    public static func unusableReason() -> String? {
        unusableReason(cpuinfo: readWholeFile("/proc/cpuinfo"), x86_64: TSC.architectureHasTSC)
    }

    /// The kernel's clocksource (`tsc`, `kvm-clock`, `hpet`…), or nil.
    public static func kernelClocksource() -> String? {
        readWholeFile("/sys/devices/system/clocksource/clocksource0/current_clocksource")
            .map { $0[...].trimmedOfBlanks() }.flatMap { $0.isEmpty ? nil : $0 }
    }
}

private extension Substring {
    func trimmedOfBlanks() -> String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" }
        return String(drop(while: blank).reversed().drop(while: blank).reversed())
    }
}

/// The whole text of a file such as /proc/cpuinfo or /proc/kallsyms, or nil (procfs files
/// report a size of 0, so they are read to their end in chunks).
package func readWholeFile(_ path: String) -> String? {
    guard let f = fopen(path, "r") else { return nil }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16384)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        if n > 0 { bytes.append(contentsOf: chunk[0 ..< n]) }
        if n < chunk.count { break }
    }
    return ferror(f) != 0 ? nil : String(decoding: bytes, as: UTF8.self)
}

import Foundation
import Glibc
import CIOBenchShim
import IOBenchPlatform

/// Samples the stacks of a set of threads with perf_event_open (cpu-cycles where there is
/// a PMU, else the software cpu-clock) and keeps how often each stack was seen. A helper
/// thread drains the ring buffers every 50 ms, so the sampled threads never stop and do
/// no work for the profile beyond the kernel's sampling interrupt.
public final class ThreadSampler: @unchecked Sendable {
    /// PERF_CONTEXT_* markers in a callchain (from linux/perf_event.h): the frames after
    /// PERF_CONTEXT_KERNEL are kernel addresses, after PERF_CONTEXT_USER user ones.
    static let contextKernel: UInt64 = UInt64(bitPattern: -128)
    static let contextUser: UInt64 = UInt64(bitPattern: -512)
    static let contextMax: UInt64 = UInt64(bitPattern: -4095)

    private var events: [UnsafeMutablePointer<iob_perf>] = []
    private let lock = NSLock()
    /// Raw callchains (markers included, innermost first) and how often each was sampled.
    private var stacks: [[UInt64]: UInt64] = [:]
    private var periodSum: UInt64 = 0
    private var running = false
    private var drainer: Thread?
    private let done = DispatchSemaphore(value: 0)
    public private(set) var hardware = false

    /// Opens one event per thread id. Throws with the reason when none could be opened
    /// (no permission: kernel.perf_event_paranoid, or no perf events in this kernel).
    public init(threads: [pid_t], frequency: UInt32 = 4999, softwareOnly: Bool = false, userFrames: Bool = false) throws(IOBenchError) {
        guard !threads.isEmpty else { throw .runFailed("--profile: no thread to sample") }
        self.frequency = frequency
        self.softwareOnly = softwareOnly
        self.userFrames = userFrames
        var lastError: Int32 = 0
        for tid in threads {
            let r = open(tid)
            if r != 0 { lastError = r }
        }
        guard !events.isEmpty else {
            if lastError == ESRCH {
                // The threads exist no more: nothing to do with permissions.
                throw .runFailed("no thread left to sample: the case's threads had ended before its measured phase began")
            }
            if lastError != EACCES && lastError != EPERM || unsampledReason?.contains("sample ring") == true, let why = unsampledReason {
                // Not a permission refusal: name what ran out instead.
                throw .badInput("--profile cannot sample: \(why)")
            }
            throw .badInput("--profile cannot sample: perf_event_open failed (\(Errno(lastError))); run as root or lower kernel.perf_event_paranoid to 1 or less (sysctl kernel.perf_event_paranoid=1)")
        }
    }

    /// Ring pages per thread: 1 MiB as root (no locked-memory limit); 128 KiB otherwise,
    /// so that the per-user allowance (kernel.perf_event_mlock_kb per CPU, then ulimit -l)
    /// covers several threads. At 4999 Hz with 50 ms drains a thread fills about 50 KiB.
    static let ringPages: UInt32 = geteuid() == 0 ? 256 : 32
    /// Threads whose event could not be opened: not tried again.
    private var failedThreads = Set<pid_t>()
    private let frequency: UInt32
    private let softwareOnly: Bool
    private let userFrames: Bool
    /// The thread ids with an event, for `add`.
    public private(set) var sampledThreads: Set<pid_t> = []

    /// Threads that exist but could not be sampled (not those that exited first), and
    /// why the last one could not: they are reported, never dropped silently.
    public private(set) var unsampledThreads = 0
    public private(set) var unsampledReason: String?

    /// Opens one thread's event (disabled); 0 or the errno.
    private func open(_ tid: pid_t) -> Int32 {
        let p = UnsafeMutablePointer<iob_perf>.allocate(capacity: 1)
        let r = iob_perf_open(p, tid, frequency, UInt32(Self.ringPages), softwareOnly ? 1 : 0, userFrames ? 1 : 0)
        guard r == 0 else {
            let stage = p.pointee.failed_at
            p.deallocate()
            if -r != ESRCH, failedThreads.insert(tid).inserted {
                unsampledThreads += 1
                unsampledReason = Self.reason(errno: -r, mmap: stage == 2)
            }
            return -r
        }
        let run = Self.runTimeNs(of: tid)
        lock.withLock {
            events.append(p)
            if let run, running { threadRun[tid] = (run, run) }
        }
        sampledThreads.insert(tid)
        hardware = p.pointee.hardware != 0
        return 0
    }

    /// Samples threads that started after `start` (io_uring creates its io-wq workers
    /// when work first needs one), enabled at once when sampling is on. Threads already
    /// sampled are skipped; one that has exited meanwhile is skipped too. Returns how many
    /// were added. Call from one thread (the session's) only.
    @discardableResult
    public func add(threads: [pid_t]) -> Int {
        var added = 0
        for tid in threads where !sampledThreads.contains(tid) && !failedThreads.contains(tid) {
            guard open(tid) == 0 else { continue }
            added += 1
            if lock.withLock({ running }), let p = lock.withLock({ events.last }) { _ = iob_perf_enable(p) }
        }
        return added
    }

    /// A failed event's cause and what to do about it.
    static func reason(errno e: Int32, mmap: Bool) -> String {
        if mmap {
            return "its sample ring could not be mapped (\(Errno(e))): the locked-memory allowance is spent (kernel.perf_event_mlock_kb per CPU, then ulimit -l); raise ulimit -l or run as root"
        }
        switch e {
        case EMFILE, ENFILE: return "perf_event_open failed (\(Errno(e))): out of file descriptors; raise ulimit -n"
        default: return "perf_event_open failed (\(Errno(e)))"
        }
    }

    /// Why this process cannot sample (tried on the calling thread), or nil.
    public static func unavailableReason() -> String? {
        do {
            _ = try ThreadSampler(threads: [iob_gettid()], frequency: 100)
            return nil
        } catch {
            return error.description
        }
    }

    deinit {
        if lock.withLock({ running }) { stop() }
        for p in events { iob_perf_close(p); p.deallocate() }
    }

    /// Starts sampling and the drain thread.
    public func start() {
        let runs = sampledThreads.compactMap { tid in Self.runTimeNs(of: tid).map { (tid, $0) } }
        lock.withLock {
            running = true
            for (tid, r) in runs { threadRun[tid] = (r, r) }
        }
        for p in lock.withLock({ events }) { _ = iob_perf_enable(p) }
        let t = Thread { [self] in
            let buffer = UnsafeMutablePointer<UInt64>.allocate(capacity: 1 << 16)
            defer { buffer.deallocate() }
            while lock.withLock({ running }) {
                drainAll(buffer)
                refreshRunTimes()
                _ = done.wait(timeout: .now() + .milliseconds(50))
            }
            drainAll(buffer)
        }
        t.name = "iobench-profile"
        drainer = t
        t.start()
    }

    /// Stops sampling, drains what is left and joins the drain thread.
    public func stop() {
        for p in lock.withLock({ events }) { _ = iob_perf_disable(p) }
        refreshRunTimes()
        lock.withLock { running = false }
        done.signal()
        while drainer?.isFinished == false { usleep(1000) }
        drainer = nil
    }

    private func drainAll(_ buffer: UnsafeMutablePointer<UInt64>) {
        for p in lock.withLock({ events }) {
            while true {
                let n = iob_perf_drain(p, buffer, 1 << 16)
                if n == 0 { break }
                var i = 0
                var local: [[UInt64]: UInt64] = [:]
                var period: UInt64 = 0
                while i + 2 <= n {
                    period &+= buffer[i]
                    let nr = Int(buffer[i + 1])
                    let chain = Array(UnsafeBufferPointer(start: buffer + i + 2, count: min(nr, n - i - 2)))
                    local[chain, default: 0] &+= 1
                    i += 2 + nr
                }
                lock.withLock {
                    for (k, v) in local { stacks[k, default: 0] &+= v }
                    periodSum &+= period
                }
            }
        }
    }

    /// Each sampled thread's scheduler run time (ns) when its sampling began and when last
    /// read (every 50 ms and at stop, so a thread that exits keeps its last reading).
    private var threadRun: [pid_t: (first: UInt64, last: UInt64)] = [:]

    private func refreshRunTimes() {
        let tids = lock.withLock { Array(threadRun.keys) }
        let now = tids.compactMap { tid in Self.runTimeNs(of: tid).map { (tid, $0) } }
        lock.withLock { for (tid, r) in now { threadRun[tid]?.last = r } }
    }

    /// CPU time the sampled threads ran while sampled, from the scheduler
    /// (/proc/self/task/TID/schedstat): the figure samples × period should match. Nil
    /// where the kernel has no schedstat.
    public var threadsCPUNs: UInt64? {
        lock.withLock { threadRun.isEmpty ? nil : threadRun.values.reduce(0) { $0 &+ ($1.last &- $1.first) } }
    }

    /// A thread's run time in ns: the first field of /proc/self/task/TID/schedstat.
    static func runTimeNs(of tid: pid_t) -> UInt64? {
        readWholeFile("/proc/self/task/\(tid)/schedstat")?.split(separator: " ").first.flatMap { UInt64($0) }
    }

    /// The events' counts summed: for the cpu-clock event, the ns of CPU time the sampled
    /// threads ran while sampling was on (the figure the samples estimate).
    public var count: UInt64 { events.reduce(0) { $0 &+ iob_perf_count($1) } }

    /// Samples the kernel dropped because the ring was full.
    public var lost: UInt64 { events.reduce(0) { $0 &+ $1.pointee.lost } }

    /// Everything sampled, folded: frames outermost first, kernel frames by symbol, user
    /// frames collapsed into one `[iobench]` frame (or by address with `userFrames`).
    public func folded(symbols: KernelSymbols, userFrames: Bool = false) -> FoldedStacks {
        let raw = lock.withLock { stacks }
        var out: [String: UInt64] = [:]
        for (chain, count) in raw {
            var frames: [String] = []   // innermost first
            var inKernel = true
            var userSeen = false
            for ip in chain {
                if ip >= Self.contextMax {
                    inKernel = ip == Self.contextKernel
                    continue
                }
                if inKernel {
                    frames.append(symbols.name(of: ip))
                } else if userFrames {
                    frames.append(String(format: "[user 0x%llx]", ip))
                } else if !userSeen {
                    frames.append("[iobench]")
                    userSeen = true
                }
            }
            // Without user callchains a sample taken in user space has no frame at all:
            // it is the process's own code, [iobench].
            let key = frames.reversed().joined(separator: ";")
            out[key.isEmpty ? "[iobench]" : key, default: 0] &+= count
        }
        return FoldedStacks(counts: out, periodNs: lock.withLock { periodSum }, countedNs: hardware ? nil : count,
                            lost: lost, hardware: hardware, threadsCPUNs: threadsCPUNs)
    }
}

/// Sampled stacks, folded as flamegraph.pl reads them (`outer;...;inner count`).
public struct FoldedStacks: Sendable, Equatable {
    public var counts: [String: UInt64]
    /// Sum of the samples' periods: ns of CPU time for the cpu-clock event.
    public var periodNs: UInt64
    /// The cpu-clock event's own count of CPU ns while sampling was on (nil for cycles).
    public var countedNs: UInt64?
    public var lost: UInt64
    public var hardware: Bool
    /// The sampled threads' CPU time from the scheduler over the same window.
    public var threadsCPUNs: UInt64?

    public init(counts: [String: UInt64], periodNs: UInt64, countedNs: UInt64?, lost: UInt64, hardware: Bool,
                threadsCPUNs: UInt64? = nil) {
        self.threadsCPUNs = threadsCPUNs
        self.counts = counts
        self.periodNs = periodNs
        self.countedNs = countedNs
        self.lost = lost
        self.hardware = hardware
    }

    public var samples: UInt64 { counts.values.reduce(0, &+) }

    /// The folded text, one stack per line, the heaviest first.
    public var text: String {
        counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .map { "\($0.key) \($0.value)\n" }.joined()
    }

    /// Samples whose innermost frame is `function` (self), and samples with `function`
    /// anywhere on the stack (inclusive, each stack counted once).
    public func shares() -> [(function: String, selfSamples: UInt64, inclusiveSamples: UInt64)] {
        var selfCount: [String: UInt64] = [:]
        var inclusive: [String: UInt64] = [:]
        for (stack, n) in counts {
            let frames = stack.split(separator: ";").map(String.init)
            if let leaf = frames.last { selfCount[leaf, default: 0] &+= n }
            for f in Set(frames) { inclusive[f, default: 0] &+= n }
        }
        return inclusive.keys.map { ($0, selfCount[$0] ?? 0, inclusive[$0]!) }
            .sorted { $0.selfSamples != $1.selfSamples ? $0.selfSamples > $1.selfSamples : $0.function < $1.function }
    }
}

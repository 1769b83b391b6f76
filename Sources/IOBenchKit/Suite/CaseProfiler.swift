import Foundation
import Glibc
import CIOBenchShim

/// `--profile` for one case: starts a `ThreadSampler` on the case's job threads (and the
/// io_uring workers serving them) when the ramp ends, stops it when the jobs end, and
/// puts the summary, or why there is none, on the result.
struct CaseProfiler {
    let frequency: UInt32?
    var userFrames = false
    /// When the measured phase starts (monotonic ns).
    let startAt: UInt64
    private(set) var sampler: ThreadSampler?
    /// The job threads' kernel ids (to tell an unsampled job thread from a worker).
    private(set) var jobTids = Set<pid_t>()
    private(set) var unavailable: String?
    /// Sampling has ended (the measured phase is over): nothing starts or is added again.
    private(set) var stopped = false

    init(frequency: UInt32?, startAt: UInt64) {
        self.frequency = frequency
        self.startAt = startAt
    }

    /// How long the session may sleep: 50 ms (new io_uring workers are looked for at
    /// each wake), or until the ramp ends when sampling still has to start.
    func nextWake(now: UInt64) -> UInt64 {
        guard frequency != nil, sampler == nil, unavailable == nil else { return 50_000_000 }
        return min(50_000_000, max(1_000_000, startAt > now ? startAt - now : 0))
    }

    mutating func startIfDue(now: UInt64, running: RunningCase) {
        guard !stopped else { return }
        if let sampler {
            // io_uring starts io-wq workers as work needs them: sample the new ones too.
            let jobs = (0 ..< running.jobCount).map { running.kernelTids[$0].load(ordering: .acquiring) }
            sampler.add(threads: Self.ioUringHelpers(of: jobs).map { pid_t($0) })
            return
        }
        guard let frequency, unavailable == nil, now >= startAt else { return }
        let jobs = (0 ..< running.jobCount).map { running.kernelTids[$0].load(ordering: .acquiring) }
        // A job thread that has not started yet has no id: try again at the next wake.
        guard !jobs.contains(0) else { return }
        let all = jobs + Self.ioUringHelpers(of: jobs)
        // The rings and the stacks need room; under a tight address-space limit an
        // allocation that fails would end the process, so the case runs unprofiled.
        if let room = Self.addressSpaceRoom(), room < Self.roomNeeded {
            unavailable = "the address-space limit (ulimit -v) leaves \(room >> 20) MiB; sampling needs about \(Self.roomNeeded >> 20) MiB for its rings and stacks: raise ulimit -v"
            return
        }
        do {
            let s = try ThreadSampler(threads: all.map { pid_t($0) }, frequency: frequency, userFrames: userFrames)
            s.start()
            sampler = s
            jobTids = Set(jobs.map { pid_t($0) })
        } catch {
            unavailable = error.description
        }
    }

    mutating func stop() {
        guard !stopped else { return }
        stopped = true
        sampler?.stop()
    }

    func report(into result: inout CaseResult, symbols: KernelSymbols, userFrames: Bool) {
        guard let frequency else { return }
        guard let sampler else {
            result.profileNote = unavailable ?? "the case ended before its measured phase could be sampled"
            return
        }
        let f = sampler.folded(symbols: symbols, userFrames: userFrames)
        // Shares cover every sampled thread (io_uring's workers too), so they are turned
        // into ns per read with the CPU time the samples cover, where the event counts it.
        // A job thread that could not be sampled makes that count short of the reads'
        // CPU: then the job threads' getrusage (all of them) stands for it.
        let jobUnsampled = !jobTids.isSubset(of: sampler.sampledThreads)
        let perRead = (jobUnsampled ? nil : f.countedNs.map { Double($0) / Double(max(result.ios, 1)) }) ?? result.cpu?.perIONs
        result.profile = ProfileSummary(f, frequencyHz: frequency, threads: sampler.sampledThreads.count, cpuNsPerRead: perRead,
                                        rusageCPUNs: result.cpu.map { $0.userNs &+ $0.systemNs })
        if sampler.unsampledThreads > 0 {
            result.profile?.unsampledThreads = sampler.unsampledThreads
            result.profile?.unsampledReason = sampler.unsampledReason
        }
    }

    static let roomNeeded: UInt64 = 64 << 20

    /// Bytes left under RLIMIT_AS (nil without a limit).
    static func addressSpaceRoom() -> UInt64? {
        guard let limit = ResourceLimits.current(IOB_RLIMIT_AS), let used = ResourceLimits.addressSpaceInUse() else { return nil }
        return limit > used ? limit - used : 0
    }

    /// The io_uring helper threads of this process that serve the given job threads:
    /// `iou-wrk-<tid>` (io-wq workers) and `iou-sqp-<tid>` (SQPOLL), from /proc/self/task.
    static func ioUringHelpers(of jobs: [Int32]) -> [Int32] {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else { return [] }
        let owners = Set(jobs.map(String.init))
        return tasks.compactMap { t -> Int32? in
            guard let comm = try? String(contentsOfFile: "/proc/self/task/\(t)/comm", encoding: .utf8) else { return nil }
            let name = comm.trimmingCharacters(in: .whitespacesAndNewlines)
            for prefix in ["iou-wrk-", "iou-sqp-"] where name.hasPrefix(prefix) {
                if owners.contains(String(name.dropFirst(prefix.count))) { return Int32(t) }
            }
            return nil
        }
    }
}

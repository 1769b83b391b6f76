import Foundation
import Glibc

/// `--profile` for one case: starts a `ThreadSampler` on the case's job threads (and the
/// io_uring workers serving them) when the ramp ends, stops it when the jobs end, and
/// puts the summary, or why there is none, on the result.
struct CaseProfiler {
    let frequency: UInt32?
    var userFrames = false
    /// When the measured phase starts (monotonic ns).
    let startAt: UInt64
    private(set) var sampler: ThreadSampler?
    private(set) var threads = 0
    private(set) var unavailable: String?

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
        if let sampler {
            // io_uring starts io-wq workers as work needs them: sample the new ones too.
            let jobs = (0 ..< running.jobCount).map { running.kernelTids[$0].load(ordering: .acquiring) }
            threads += sampler.add(threads: Self.ioUringHelpers(of: jobs).map { pid_t($0) })
            return
        }
        guard let frequency, unavailable == nil, now >= startAt else { return }
        let jobs = (0 ..< running.jobCount).map { running.kernelTids[$0].load(ordering: .acquiring) }
        // A job thread that has not started yet has no id: try again at the next wake.
        guard !jobs.contains(0) else { return }
        let all = jobs + Self.ioUringHelpers(of: jobs)
        do {
            let s = try ThreadSampler(threads: all.map { pid_t($0) }, frequency: frequency, userFrames: userFrames)
            s.start()
            sampler = s
            threads = all.count
        } catch {
            unavailable = error.description
        }
    }

    func stop() { sampler?.stop() }

    func report(into result: inout CaseResult, symbols: KernelSymbols, userFrames: Bool) {
        guard let frequency else { return }
        guard let sampler else {
            result.profileNote = unavailable ?? "the case ended before its measured phase could be sampled"
            return
        }
        let f = sampler.folded(symbols: symbols, userFrames: userFrames)
        // Shares cover every sampled thread (io_uring's workers too), so they are turned
        // into ns per read with the CPU time the samples cover, where the event counts it.
        let perRead = f.countedNs.map { Double($0) / Double(max(result.ios, 1)) } ?? result.cpu?.perIONs
        result.profile = ProfileSummary(f, frequencyHz: frequency, threads: threads, cpuNsPerRead: perRead,
                                        rusageCPUNs: result.cpu.map { $0.userNs &+ $0.systemNs })
        if sampler.unsampledThreads > 0 {
            result.profile?.unsampledThreads = sampler.unsampledThreads
            result.profile?.unsampledReason = sampler.unsampledReason
        }
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

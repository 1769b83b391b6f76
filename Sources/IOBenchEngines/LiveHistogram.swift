import Glibc
import IOBenchHistogram
import IOBenchPlatform

/// `--status-interval`: a case's latencies so far, for a status line while it runs. The
/// jobs' interval collectors add each finished interval here on their own threads (once
/// per interval, never from the hot loop), and the session reads a percentile under the
/// same lock. It lags the loop by at most one interval.
///
/// `@unchecked Sendable`: `counts` is touched only with `lock` held.
public final class LiveHistogram: @unchecked Sendable {
    private var counts: JobHistogram
    private var lock = pthread_mutex_t()

    /// nil when the counts' memory cannot be had (the status line then shows no percentile).
    public init?() {
        guard let c = JobHistogram() else { return nil }
        counts = c
        pthread_mutex_init(&lock, nil)
    }

    deinit {
        counts.free()
        pthread_mutex_destroy(&lock)
    }

    func add(_ interval: JobHistogram) {
        pthread_mutex_lock(&lock)
        counts.add(interval)
        pthread_mutex_unlock(&lock)
    }

    /// The value at `percentile` of everything added so far; nil when nothing was added
    /// (or no memory to read it).
    public func value(atPercentile percentile: Double) -> UInt64? {
        guard var h = checkedHistogram() else { return nil }
        pthread_mutex_lock(&lock)
        let empty = counts.count == 0
        if !empty { counts.latencyHistogram(into: &h) }
        pthread_mutex_unlock(&lock)
        return empty ? nil : h.value(atPercentile: percentile)
    }
}

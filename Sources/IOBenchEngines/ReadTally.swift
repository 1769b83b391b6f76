import Glibc
import IOBenchPlatform
import IOBenchWorkload

/// What a job's reads returned besides their latency, counted the same way by the
/// closed and the open loop: errors, short reads, contents checks, and the drain's
/// grace period. Nothing here is dropped: every count reaches the outcome.
struct ReadTally {
    var errors: UInt64 = 0
    var shortReads: UInt64 = 0
    var mismatches: UInt64 = 0
    var verified: UInt64 = 0
    /// With --continue-on-error, failed reads count toward --number-ios so a failing
    /// device cannot keep the job running forever.
    var failedMeasured: UInt64 = 0

    /// A read that returned all its bytes, under --verify: checks its contents.
    @inline(__always)
    mutating func verify(_ plan: JobPlan, _ buffers: AlignedBuffers, slot: Int, fileOffset: UInt64, _ out: inout JobOutcome) {
        verified &+= 1
        let ok = plan.verifyZeros
            ? Stamp.isZero(buffers.buffer(slot), count: plan.blockSize)
            : Stamp.matches(buffers.buffer(slot), count: plan.blockSize, fileOffset: fileOffset)
        if !ok {
            if mismatches == 0 { out.firstMismatchOffset = fileOffset }
            mismatches &+= 1
        }
    }

    /// A failed (`res` < 0) or short read: counted, the first one described (out of the
    /// loop's inlined code). Returns whether the job may keep issuing: errors and short
    /// reads stop new submissions, as fio's default continue_on_error=none does, and
    /// in-flight reads are still drained.
    @inline(never)
    mutating func failed(_ res: Int32, offset: UInt64, measuring: Bool, _ plan: JobPlan, _ out: inout JobOutcome) -> Bool {
        if res < 0 {
            errors &+= 1
            if out.firstErrno == nil {
                out.firstErrno = -res
                out.firstError = "read of \(plan.blockSize) bytes at offset \(offset) failed: \(Errno(-res))"
            }
        } else {
            shortReads &+= 1
            if out.firstError == nil {
                out.firstError = "short read at offset \(offset): \(res) of \(plan.blockSize) bytes (end of file or a truncated target)"
            }
        }
        if measuring { failedMeasured &+= 1 }
        // Polled reads that the device cannot poll never succeed: stop even when asked
        // to continue, rather than spin on errors.
        return plan.continueOnError && res != -EOPNOTSUPP
    }

    /// Draining (no more issuing, reads in flight): true once the device has had
    /// `jobDrainGraceNs` to complete them, with the reads counted as errors and the
    /// failure described. A device that stopped completing reads must not keep the job
    /// (and the run, and a signal) waiting forever.
    mutating func drainExpired(now: UInt64, since drainSince: inout UInt64, inflight: Int, _ out: inout JobOutcome) -> Bool {
        if drainSince == 0 {
            drainSince = now
            return false
        }
        guard now &- drainSince >= jobDrainGraceNs else { return false }
        out.abandonedReads = UInt64(inflight)
        errors &+= UInt64(inflight)
        let msg = "\(inflight) read\(inflight == 1 ? "" : "s") still in flight \((now &- drainSince) / 1_000_000_000) s after the end: the device is not completing them"
        out.failure = .runFailed(msg)
        if out.firstError == nil { out.firstError = msg }
        return true
    }

    func store(into out: inout JobOutcome) {
        out.errors = errors
        out.shortReads = shortReads
        out.verifyMismatches = mismatches
        out.verifiedReads = verified
    }
}

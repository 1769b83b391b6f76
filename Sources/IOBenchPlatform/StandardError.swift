import Atomics
import CIOBenchShim
import Glibc

/// Writes to stderr with write(2), retrying on EINTR and short writes and ignoring other
/// errors: a closed or vanished reader (EPIPE with SIGPIPE ignored, as in the lab) must
/// never end the process. Foundation's `FileHandle.write` traps on such errors.
public enum StandardError {
    public static func write(_ text: String) { _ = writeAll(text, fd: 2) }

    /// Writes all of `text` to `fd`; returns 0, or the errno of the write that failed.
    static func writeAll(_ text: String, fd: Int32) -> Int32 {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { buf in
                Glibc.write(fd, buf.baseAddress! + offset, buf.count - offset)
            }
            if n > 0 { offset += n; continue }
            if n < 0 && errno == EINTR { continue }
            return n < 0 ? errno : EIO
        }
        return 0
    }
}

/// Writes to stdout with write(2), as `StandardError` does, but remembers the first
/// failure: the report is the product, so iobench's main exits non-zero when it was lost.
public enum StandardOutput {
    /// The errno of the first failed write, 0 while none failed (any thread may write).
    static let firstFailure = ManagedAtomic<Int32>(0)
    public static var failure: Int32 { firstFailure.load(ordering: .relaxed) }

    public static func write(_ text: String) {
        let err = StandardError.writeAll(text, fd: 1)
        if err != 0 { _ = firstFailure.compareExchange(expected: 0, desired: err, ordering: .relaxed) }
    }

    /// Flushes C's stdio buffer of stdout; true when that or any earlier write failed
    /// (errno then says why, unless `failure` already does).
    public static func flushFailed() -> Bool {
        iob_stdout_flush_failed() != 0 || failure != 0
    }
}

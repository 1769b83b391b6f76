import Glibc

/// Writes to stderr with write(2), retrying on EINTR and short writes and ignoring other
/// errors: a closed or vanished reader (EPIPE with SIGPIPE ignored, as in the lab) must
/// never end the process. Foundation's `FileHandle.write` traps on such errors.
public enum StandardError {
    public static func write(_ text: String) { write(text, fd: 2) }

    /// The errno of the first failed write to stdout (fd 1), 0 while none failed: the
    /// caller decides what a lost report means (iobench's main exits non-zero).
    nonisolated(unsafe) public static var stdoutError: Int32 = 0

    /// The same to any descriptor (stdout: 1).
    public static func write(_ text: String, fd: Int32) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { buf in
                Glibc.write(fd, buf.baseAddress! + offset, buf.count - offset)
            }
            if n > 0 { offset += n; continue }
            if n < 0 && errno == EINTR { continue }
            if fd == 1 && stdoutError == 0 { stdoutError = n < 0 ? errno : EIO }
            return
        }
        bytes.removeAll()
    }

    /// One line (a newline is added).
    public static func line(_ text: String) { write(text + "\n") }
}

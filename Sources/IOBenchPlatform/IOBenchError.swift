import Glibc

/// Every failure iobench reports, typed by who can fix it. The exit code is part of the
/// contract (see README): 2 for bad input the user can correct, 3 when the run itself
/// failed (the kernel refused an engine, I/O errors). Messages are one line: what was
/// wrong and how to fix it.
public enum IOBenchError: Error, Equatable, CustomStringConvertible {
    /// The user asked for something that cannot work; the message says how to fix it.
    case badInput(String)
    /// The run itself failed: an engine the kernel refused, I/O errors during the run.
    case runFailed(String)
    /// SIGINT or SIGTERM arrived before there was anything to report.
    case interrupted(Int32, String)

    public var exitCode: Int32 {
        switch self {
        case .badInput: return 2
        case .runFailed: return 3
        case .interrupted(let signal, _): return 128 + signal
        }
    }

    public var description: String {
        switch self {
        case .badInput(let m), .runFailed(let m), .interrupted(_, let m): return m
        }
    }

    /// The same error, its message rewritten by `transform` (same kind, same exit code).
    public func mapMessage(_ transform: (String) -> String) -> IOBenchError {
        switch self {
        case .badInput(let m): return .badInput(transform(m))
        case .runFailed(let m): return .runFailed(transform(m))
        case .interrupted(let s, let m): return .interrupted(s, transform(m))
        }
    }
}

/// An errno value with its system text, as swift-system's `Errno` prints it.
public struct Errno: Error, Equatable, CustomStringConvertible, Sendable {
    public var rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }
    public static var current: Errno { Errno(errno) }
    public var description: String {
        let text = strerror(rawValue).map { String(cString: $0) } ?? "errno \(rawValue)"
        return "\(text) (\(Errno.name(rawValue)))"
    }
    /// The symbolic name of the common errors iobench meets.
    public static func name(_ code: Int32) -> String {
        switch code {
        case EPERM: return "EPERM"
        case ENOENT: return "ENOENT"
        case EINTR: return "EINTR"
        case EIO: return "EIO"
        case ENXIO: return "ENXIO"
        case EBADF: return "EBADF"
        case EAGAIN: return "EAGAIN"
        case ENOMEM: return "ENOMEM"
        case EACCES: return "EACCES"
        case EFAULT: return "EFAULT"
        case EBUSY: return "EBUSY"
        case EEXIST: return "EEXIST"
        case ENODEV: return "ENODEV"
        case ENOTDIR: return "ENOTDIR"
        case EISDIR: return "EISDIR"
        case EINVAL: return "EINVAL"
        case ENOSPC: return "ENOSPC"
        case EROFS: return "EROFS"
        case ENOSYS: return "ENOSYS"
        case EMFILE: return "EMFILE"
        case ENFILE: return "ENFILE"
        case EOPNOTSUPP: return "EOPNOTSUPP"
        case ETIMEDOUT: return "ETIMEDOUT"
        case ECANCELED: return "ECANCELED"
        default: return "errno \(code)"
        }
    }
}

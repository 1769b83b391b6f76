import CIOBenchShim
import Atomics
import Glibc

/// SIGINT, SIGTERM and SIGQUIT stop every job at once; the run then reports what it
/// measured. (SIGQUIT too: the Swift runtime's backtracer would otherwise take it, print
/// "Program crashed" and let the run go on.)
/// A second signal kills the process the default way, except the same signal again
/// within half a second of the first: that is one request delivered twice (`timeout`
/// signals the process and then its whole process group), not a second request.
///
/// Async-signal-safe by a self-pipe: the handler (C, in the shim) only writes the signal
/// number to a pipe; a thread of its own reads it and sets the stop flag. Nothing of
/// Swift runs inside a handler.
public enum SignalStop {
    /// The first signal, 0 before any: set by the reader thread, read anywhere.
    static let receivedSignal = ManagedAtomic<Int32>(0)
    static let installed = ManagedAtomic<Bool>(false)

    /// Every signal whose default action ends the process and that a handler can catch
    /// (SIGKILL and SIGSTOP cannot be; SIGPIPE is ignored instead; SIGSYS, SIGSEGV, SIGBUS, SIGFPE,
    /// SIGILL, SIGABRT and SIGTRAP are the process's own faults, left to the runtime).
    /// The lab stops and tears down on any of them, also SIGQUIT, whose default the Swift
    /// runtime's backtracer would otherwise take without ending the process.
    public static var labSignals: [Int32] {
        var s: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGXCPU, SIGXFSZ,
                          SIGVTALRM, SIGPROF, SIGIO, SIGPWR, SIGSTKFLT]
        let rtmin = iob_sigrtmin(), rtmax = iob_sigrtmax()
        if rtmin > 0 && rtmax >= rtmin { s += Array(rtmin ... rtmax) }
        return s
    }

    /// What stops `run` and `prepare`: the signals a user sends to stop a program.
    public static let runSignals: [Int32] = [SIGINT, SIGTERM, SIGQUIT]

    /// For the commands that install no handler: SIGQUIT's own default action (quit with
    /// a core dump), not the Swift backtracer's, which reports a crash and carries on.
    public static func restoreDefaultQuit() { _ = iob_signal_default(SIGQUIT) }

    public static var received: Int32? {
        let s = receivedSignal.load(ordering: .acquiring)
        return s == 0 ? nil : s
    }

    /// Installs the handlers, once per process. With `persistent` (the lab, which must
    /// always tear down what it set up), later signals are recorded too instead of
    /// killing the process; only SIGKILL ends it then. Fails (exit 3) only when the
    /// reader thread or its pipe cannot be created; no handler is installed then.
    public static func install(_ stop: ManagedAtomic<Bool>, persistent: Bool = false) throws(IOBenchError) {
        precondition(installed.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged,
                     "SignalStop.install is called once per process")
        var readFD: Int32 = -1
        let rc = iob_signal_pipe(&readFD)
        guard rc == 0 else { throw .runFailed("cannot create the signal pipe: \(Errno(-rc))") }
        let signals = persistent ? labSignals : runSignals
        let reader = Unmanaged.passRetained(SignalReader(fd: readFD, stop: stop, persistent: persistent, signals: signals))
        var tid = pthread_t()
        let trc = iob_thread_create(&tid, 256 << 10, signalReaderMain, reader.toOpaque())
        guard trc == 0 else {
            reader.release()
            close(readFD)
            throw .runFailed(threadFailureMessage(trc, addressSpaceLimit: ResourceLimits.current(IOB_RLIMIT_AS)))
        }
        _ = iob_thread_detach(tid)
        // The lab ignores SIGPIPE: a reader of its stderr going away must not end it
        // before the teardown.
        if persistent { _ = iob_signal_ignore(SIGPIPE) }
        // SA_RESTART: Foundation's FileHandle traps on EINTR (a signal while stderr's pipe
        // is full, or while reading mkfs's output). Waits that must notice the stop are
        // timed and poll the flag.
        for sig in signals { _ = iob_signal_catch(sig) }
    }
}

extension SignalStop {
    /// The message for a reader thread that could not be created. pthread_create says
    /// EAGAIN both for the thread limit and for a stack that does not fit the address
    /// space (RLIMIT_AS): with an address-space limit set, either may be the cause.
    static func threadFailureMessage(_ rc: Int32, addressSpaceLimit: UInt64?) -> String {
        var text = "cannot create the signal thread: \(Errno(rc))"
        guard rc == EAGAIN else { return text }
        if let limit = addressSpaceLimit {
            text += ": the process/thread limit (ulimit -u, RLIMIT_NPROC) or the address space (ulimit -v, RLIMIT_AS, \(ResourceLimits.mib(limit))) is exhausted; raise ulimit -u / -v"
        } else {
            text += ": the process/thread limit (ulimit -u, RLIMIT_NPROC, or pids.max) is reached; raise ulimit -u"
        }
        return text
    }
}

/// What the reader thread needs: immutable, owned by that thread for the process's life.
final class SignalReader: Sendable {
    let fd: Int32
    let stop: ManagedAtomic<Bool>
    let persistent: Bool
    let signals: [Int32]

    init(fd: Int32, stop: ManagedAtomic<Bool>, persistent: Bool, signals: [Int32]) {
        self.fd = fd; self.stop = stop; self.persistent = persistent; self.signals = signals
    }

    func run() {
        while true {
            var byte: UInt8 = 0
            let n = read(fd, &byte, 1)
            if n == 1 {
                handle(Int32(byte))
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return  // the write end is never closed: not reached
            }
        }
    }

    /// When the first signal was read (monotonic ns).
    let firstAt = ManagedAtomic<UInt64>(0)
    static let duplicateWindowNs: UInt64 = 500_000_000

    func handle(_ signo: Int32) {
        // The first signal decides the exit status.
        let now = monotonicNanoseconds()
        let first = SignalStop.receivedSignal.compareExchange(expected: 0, desired: signo, ordering: .releasing).exchanged
        stop.store(true, ordering: .releasing)
        if persistent { return }
        if first {
            firstAt.store(now, ordering: .releasing)
            return
        }
        // The same signal again at once is the first delivered twice: ignored.
        if signo == SignalStop.receivedSignal.load(ordering: .acquiring),
           now &- firstAt.load(ordering: .acquiring) < Self.duplicateWindowNs {
            return
        }
        // A second request: the default action, which ends the process.
        for sig in signals { _ = iob_signal_default(sig) }
        raise(signo)
    }
}

private func signalReaderMain(_ arg: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    Unmanaged<SignalReader>.fromOpaque(arg!).takeRetainedValue().run()
    return nil
}

import CIOBenchShim
import Atomics
import Glibc

/// SIGINT and SIGTERM stop every job at once; the run then reports what it measured.
/// A second signal kills the process the default way.
public enum SignalStop {
    nonisolated(unsafe) static var flag: ManagedAtomic<Bool>?
    static let receivedSignal = ManagedAtomic<Int32>(0)

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

    public static var received: Int32? {
        let s = receivedSignal.load(ordering: .relaxed)
        return s == 0 ? nil : s
    }

    /// Installs the handlers. With `persistent` (the lab, which must always tear down
    /// what it set up), later signals are recorded too instead of killing the process;
    /// only SIGKILL ends it then.
    public static func install(_ stop: ManagedAtomic<Bool>, persistent: Bool = false) {
        flag = stop
        _ = receivedSignal.load(ordering: .relaxed)  // initialise before any signal arrives
        // The lab also tears down on SIGHUP (a dropped ssh session), and ignores SIGPIPE
        // (a reader of its stderr going away must not end it before the teardown).
        if persistent { signal(SIGPIPE, SIG_IGN) }
        for sig in persistent ? labSignals : [SIGINT, SIGTERM] {
            var action = sigaction()
            if persistent {
                action.__sigaction_handler.sa_handler = { signo in
                    // The first signal decides the exit status.
                    _ = SignalStop.receivedSignal.compareExchange(expected: 0, desired: signo, ordering: .relaxed)
                    SignalStop.flag?.store(true, ordering: .relaxed)
                }
            } else {
                action.__sigaction_handler.sa_handler = { signo in
                    SignalStop.receivedSignal.store(signo, ordering: .relaxed)
                    SignalStop.flag?.store(true, ordering: .relaxed)
                    signal(signo, SIG_DFL)
                }
            }
            sigemptyset(&action.sa_mask)
            // Restart interrupted reads and writes: Foundation's FileHandle traps on EINTR
            // (a signal while stderr's pipe is full, or while reading mkfs's output).
            // Waits that must notice the stop are timed and poll the flag.
            action.sa_flags = Int32(SA_RESTART)
            sigaction(sig, &action, nil)
        }
    }
}

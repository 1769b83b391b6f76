// iobench C shim for signals: a self-pipe. The handler only write(2)s the signal number
// to a non-blocking pipe (async-signal-safe); a thread of SignalStop reads the pipe and
// does the rest in ordinary code. Swift cannot be a signal handler safely: it would
// touch the runtime (reference counts, metadata) at an arbitrary point of any thread.
#ifndef IOBENCH_SIGNAL_SHIM_H
#define IOBENCH_SIGNAL_SHIM_H

/// Creates the pipe (both ends close-on-exec, the write end non-blocking) whose write
/// end iob_signal_catch's handler writes to. Once per process. Returns 0 with the
/// read end in *read_fd, or -errno.
int iob_signal_pipe(int *read_fd);

/// Catches `signo` with the pipe handler, SA_RESTART so that reads and writes the
/// signal interrupts go on instead of failing with EINTR. Returns 0 or -errno.
int iob_signal_catch(int signo);

/// Restores the default action of `signo`. Returns 0 or -errno.
int iob_signal_default(int signo);

/// Ignores `signo`. Returns 0 or -errno.
int iob_signal_ignore(int signo);

#endif

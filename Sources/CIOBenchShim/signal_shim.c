// The self-pipe of include/iobench_signal_shim.h.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "iobench_signal_shim.h"

// Set once by iob_signal_pipe before any handler is installed (sigaction orders it
// before every later delivery); only read by the handler.
static volatile sig_atomic_t signal_write_fd = -1;

static void signal_to_pipe(int signo) {
    int saved = errno;  // the interrupted code may be about to read errno
    unsigned char b = (unsigned char)signo;  // signal numbers are below 65
    // A full pipe (a flood of signals the reader has not caught up with) drops the
    // byte: EAGAIN, never blocking in a handler. The first signal is already recorded.
    ssize_t rc = write(signal_write_fd, &b, 1);
    (void)rc;
    errno = saved;
}

int iob_signal_pipe(int *read_fd) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC)) return -errno;
    int flags = fcntl(fds[1], F_GETFL);
    if (flags < 0 || fcntl(fds[1], F_SETFL, flags | O_NONBLOCK)) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return -e;
    }
    signal_write_fd = fds[1];
    *read_fd = fds[0];
    return 0;
}

static int set_action(int signo, void (*handler)(int), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = flags;
    return sigaction(signo, &sa, NULL) ? -errno : 0;
}

int iob_signal_catch(int signo) { return set_action(signo, signal_to_pipe, SA_RESTART); }
int iob_signal_default(int signo) { return set_action(signo, SIG_DFL, 0); }
int iob_signal_ignore(int signo) { return set_action(signo, SIG_IGN, 0); }

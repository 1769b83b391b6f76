// iobench C shim: the small part of the kernel interfaces Swift cannot import
// directly (function-like macros, bit-shift constants, CPU_SET, the CQE ring walk)
// plus zlib for HdrHistogram's V2 compressed encoding. Everything here is
// `static inline` so the Swift optimiser sees through it in the hot loop.
#ifndef IOBENCH_SHIM_H
#define IOBENCH_SHIM_H

// No _GNU_SOURCE here: this header is imported next to Swift's Glibc module and must
// see the same declarations. GNU-only calls live in shim.c behind plain prototypes.
#include <stdint.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <linux/fs.h>
#include <linux/fiemap.h>
#include <zlib.h>
#include <liburing.h>
#include <sys/prctl.h>
#include <libaio.h>

// ---- io_uring ------------------------------------------------------------

static const unsigned IOB_IORING_SETUP_IOPOLL = IORING_SETUP_IOPOLL;
static const unsigned IOB_IORING_SETUP_SQPOLL = IORING_SETUP_SQPOLL;
static const unsigned IOB_IORING_SETUP_COOP_TASKRUN = IORING_SETUP_COOP_TASKRUN;
static const unsigned IOB_IORING_SETUP_SINGLE_ISSUER = IORING_SETUP_SINGLE_ISSUER;
static const unsigned IOB_IORING_SETUP_DEFER_TASKRUN = IORING_SETUP_DEFER_TASKRUN;

/// Allocates a ring on the heap so Swift can hold it by pointer (the struct must not move).
static inline struct io_uring *iob_ring_alloc(void) {
    return (struct io_uring *)calloc(1, sizeof(struct io_uring));
}

static inline int iob_ring_init(struct io_uring *ring, unsigned entries, unsigned flags,
                                unsigned sq_thread_idle_ms) {
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.flags = flags;
    p.sq_thread_idle = sq_thread_idle_ms;
    return io_uring_queue_init_params(entries, ring, &p);
}

/// The next free SQE. With SQPOLL the kernel's thread frees SQ entries only when it
/// commits its batch, and a read it completed inline (tmpfs, the page cache, a fast
/// device) is reaped before that: the loop may prepare a read into an SQ ring that is
/// still full from the kernel's side. Then wait for the thread to take entries
/// (IORING_ENTER_SQ_WAIT) instead of losing the read; rings without SQPOLL are filled
/// and drained by this thread only, and submitting frees their entries. NULL only when
/// the kernel refuses the wait.
static inline struct io_uring_sqe *iob_ring_next_sqe(struct io_uring *ring) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    while (!sqe) {
        int r = (ring->flags & IORING_SETUP_SQPOLL) ? io_uring_sqring_wait(ring) : io_uring_submit(ring);
        if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) return NULL;
        sqe = io_uring_get_sqe(ring);
    }
    return sqe;
}

/// Prepares one read in the next SQE. Returns 0, or -EBUSY when no SQE can be had.
static inline int iob_ring_prep_read(struct io_uring *ring, int fd, void *buf,
                                     unsigned nbytes, uint64_t offset, uint64_t user_data,
                                     int fixed_file, int fixed_buffer_index) {
    struct io_uring_sqe *sqe = iob_ring_next_sqe(ring);
    if (!sqe) return -EBUSY;
    if (fixed_buffer_index >= 0)
        io_uring_prep_read_fixed(sqe, fd, buf, nbytes, offset, fixed_buffer_index);
    else
        io_uring_prep_read(sqe, fd, buf, nbytes, offset);
    if (fixed_file) sqe->flags |= IOSQE_FIXED_FILE;
    sqe->user_data = user_data;
    return 0;
}

/// Queues an IORING_OP_NOP (io_uring-nop: the ring's round trip without I/O, as
/// t/io_uring -N1). Its CQE carries `user_data` and res 0. A NOP has no file or
/// buffer, so a read's IOSQE_FIXED_FILE and buffer index have no place here.
static inline int iob_ring_prep_nop(struct io_uring *ring, uint64_t user_data) {
    struct io_uring_sqe *sqe = iob_ring_next_sqe(ring);
    if (!sqe) return -EBUSY;
    io_uring_prep_nop(sqe);
    sqe->user_data = user_data;
    return 0;
}

static inline int iob_ring_submit(struct io_uring *ring) { return io_uring_submit(ring); }

/// Submits what is prepared and waits for at least `wait_nr` completions in one syscall.
static inline int iob_ring_submit_and_wait(struct io_uring *ring, unsigned wait_nr) {
    return io_uring_submit_and_wait(ring, wait_nr);
}

/// Waits until at least `wait_nr` completions are in the CQ ring (entering the kernel
/// only when they are not, which for IOPOLL rings is what drives the polling).
static inline int iob_ring_wait(struct io_uring *ring, unsigned wait_nr) {
    struct io_uring_cqe *cqe = NULL;
    return io_uring_wait_cqe_nr(ring, &cqe, wait_nr);
}

/// Whether the kernel takes a wait timeout as an argument of io_uring_enter
/// (IORING_FEAT_EXT_ARG, 5.11+). Without it liburing would need a free SQE for a timeout.
static inline int iob_ring_has_ext_arg(const struct io_uring *ring) {
    return (ring->features & IORING_FEAT_EXT_ARG) != 0;
}

/// As iob_ring_submit_and_wait, but the wait ends after `timeout_ns` even when fewer
/// than `wait_nr` completions arrived (a device that stops completing reads must not
/// block the job forever). Returns >= 0 or -ETIME (the caller reaps whatever is there),
/// or another -errno. IOPOLL rings poll and ignore the timeout (kernel behaviour).
static inline int iob_ring_submit_and_wait_timeout(struct io_uring *ring, unsigned wait_nr,
                                                   long long timeout_ns) {
    struct io_uring_cqe *cqe = NULL;
    struct __kernel_timespec ts = { .tv_sec = timeout_ns / 1000000000ll,
                                    .tv_nsec = timeout_ns % 1000000000ll };
    return io_uring_submit_and_wait_timeout(ring, &cqe, wait_nr, &ts, NULL);
}

/// As iob_ring_wait, with a timeout: 0 when `wait_nr` completions are there, -ETIME when
/// the timeout passed first, or another -errno.
static inline int iob_ring_wait_timeout(struct io_uring *ring, unsigned wait_nr,
                                        long long timeout_ns) {
    struct io_uring_cqe *cqe = NULL;
    struct __kernel_timespec ts = { .tv_sec = timeout_ns / 1000000000ll,
                                    .tv_nsec = timeout_ns % 1000000000ll };
    return io_uring_wait_cqes(ring, &cqe, wait_nr, &ts, NULL);
}

/// The calling thread's timer slack in ns (prctl is variadic, which Swift cannot call).
/// The open loop sets it to 1 ns so its sleeps end when asked, not up to 50 µs later.
static inline long iob_get_timerslack(void) { return prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0); }
static inline int iob_set_timerslack(unsigned long ns) { return prctl(PR_SET_TIMERSLACK, ns, 0, 0, 0); }

/// Enters the kernel to post what has completed without waiting for anything
/// (DEFER_TASKRUN rings post completions only on an enter; IOPOLL rings poll there).
static inline int iob_ring_get_events(struct io_uring *ring) { return io_uring_get_events(ring); }

/// Drains up to `max` completions the way io_uring_for_each_cqe does: copies
/// (user_data, res) pairs out and advances the CQ head once for the batch.
static inline unsigned iob_ring_reap(struct io_uring *ring, uint64_t *user_data,
                                     int32_t *res, unsigned max) {
    unsigned head, n = 0;
    struct io_uring_cqe *cqe;
    io_uring_for_each_cqe(ring, head, cqe) {
        if (n == max) break;
        user_data[n] = cqe->user_data;
        res[n] = cqe->res;
        n++;
    }
    if (n) io_uring_cq_advance(ring, n);
    return n;
}

static inline unsigned iob_ring_cq_ready(struct io_uring *ring) { return io_uring_cq_ready(ring); }

/// The CQ head, read once per reap: the ready completions are at head, head+1, ...
/// (io_uring_cq_ready's acquire load of the tail has made them visible).
static inline unsigned iob_ring_cq_head(const struct io_uring *ring) { return *ring->cq.khead; }

/// The CQE at ring position `pos` (head + i), read in place (no CQE32 rings here).
static inline uint64_t iob_ring_cqe_user_data(const struct io_uring *ring, unsigned pos) {
    return ring->cq.cqes[pos & ring->cq.ring_mask].user_data;
}
static inline int32_t iob_ring_cqe_res(const struct io_uring *ring, unsigned pos) {
    return ring->cq.cqes[pos & ring->cq.ring_mask].res;
}

/// Hands `n` CQEs back to the kernel: one release store of the head per batch.
static inline void iob_ring_cq_advance(struct io_uring *ring, unsigned n) { io_uring_cq_advance(ring, n); }

// ---- libaio ----------------------------------------------------------------

static inline void iob_aio_prep_pread(struct iocb *iocb, int fd, void *buf, size_t count,
                                      long long offset, uint64_t data) {
    io_prep_pread(iocb, fd, buf, count, offset);
    iocb->data = (void *)(uintptr_t)data;
}

static inline uint64_t iob_aio_event_data(const struct io_event *ev) {
    return (uint64_t)(uintptr_t)ev->obj->data;
}

static inline long iob_aio_event_res(const struct io_event *ev) { return (long)ev->res; }

// ---- sync reads ------------------------------------------------------------

static const int IOB_RWF_HIPRI = RWF_HIPRI;

/// preadv2(2) of one buffer.
ssize_t iob_preadv2(int fd, void *buf, size_t count, off_t offset, int flags);

// ---- clocks, threads, CPU accounting ---------------------------------------

/// Flushes stdout; nonzero when it failed or had failed before (C's `stdout` is a
/// mutable global Swift 6 will not touch).
static inline int iob_stdout_flush_failed(void) {
    return fflush(stdout) != 0 || ferror(stdout) != 0;
}

static inline uint64_t iob_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

// The time-stamp counter (x86_64 only). With constant_tsc and nonstop_tsc it ticks at
// one rate in every P- and C-state, and the kernel's tsc clocksource keeps it in step
// across CPUs. Elsewhere both reads return 0 and IOB_HAVE_TSC is 0; Swift checks that
// (TSCSupport) before it ever uses a TSC clock.
#if defined(__x86_64__)
static const int IOB_HAVE_TSC = 1;

/// rdtscp: waits until every earlier instruction has executed, then reads the counter
/// (later instructions may start before it; a read is taken after the I/O call it
/// follows has returned, which is all a latency stamp needs). `aux` (IA32_TSC_AUX, the
/// CPU number on Linux) is discarded.
static inline uint64_t iob_rdtscp(void) {
    uint32_t lo, hi, aux;
    __asm__ __volatile__("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

/// lfence; rdtsc: the same ordering as rdtscp on Intel and on AMD with the LFENCE
/// serialising bit the kernel sets; measured next to rdtscp by `make micro`.
static inline uint64_t iob_lfence_rdtsc(void) {
    uint32_t lo, hi;
    __asm__ __volatile__("lfence\n\trdtsc" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

/// rdtsc without a fence: may execute before earlier instructions finish. Not used as a
/// clock; `make micro` times it to show what the ordering costs.
static inline uint64_t iob_rdtsc_unordered(void) {
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
#else
static const int IOB_HAVE_TSC = 0;
static inline uint64_t iob_rdtsc_unordered(void) { return 0; }
static inline uint64_t iob_rdtscp(void) { return 0; }
static inline uint64_t iob_lfence_rdtsc(void) { return 0; }
#endif

/// CPU time and context switches of the calling thread (RUSAGE_THREAD).
int iob_thread_rusage(uint64_t *user_ns, uint64_t *sys_ns, uint64_t *vol_csw, uint64_t *invol_csw);

/// Pins the calling thread to one CPU.
int iob_pin_to_cpu(int cpu);

/// Creates a joinable thread with a stack of `stack_size` bytes. Returns 0 or the error
/// number: EAGAIN when the process/thread limit (RLIMIT_NPROC, a cgroup's pids.max) or
/// the memory for the stack (RLIMIT_AS) is exhausted. Unlike Foundation's Thread, a
/// failure is reported to the caller instead of leaving it waiting for a thread that
/// never runs.
static inline int iob_thread_create(pthread_t *tid, size_t stack_size,
                                    void *(*start)(void *), void *arg) {
    pthread_attr_t attr;
    int rc = pthread_attr_init(&attr);
    if (rc) return rc;
    if (stack_size) {
        rc = pthread_attr_setstacksize(&attr, stack_size);
        if (rc) { pthread_attr_destroy(&attr); return rc; }
    }
    rc = pthread_create(tid, &attr, start, arg);
    pthread_attr_destroy(&attr);
    return rc;
}

static const int IOB_RLIMIT_AS = RLIMIT_AS;
static const int IOB_RLIMIT_NPROC = RLIMIT_NPROC;
static const int IOB_RLIMIT_NOFILE = RLIMIT_NOFILE;

/* SIGRTMIN and SIGRTMAX are glibc function calls behind macros Swift cannot import. */
static inline int iob_sigrtmin(void) { return SIGRTMIN; }
static inline int iob_sigrtmax(void) { return SIGRTMAX; }

/// The soft limit of `resource`: 1 and the value when it is finite, 0 when unlimited,
/// -errno on failure.
static inline int iob_rlimit_soft(int resource, uint64_t *out) {
    struct rlimit rl;
    if (getrlimit(resource, &rl)) return -errno;
    if (rl.rlim_cur == RLIM_INFINITY) return 0;
    *out = (uint64_t)rl.rlim_cur;
    return 1;
}

/// Under an address-space limit: one malloc arena and a fixed mmap threshold (shim.c).
void iob_malloc_for_address_limit(void);

static inline int iob_thread_join(pthread_t tid) { return pthread_join(tid, NULL); }
static inline int iob_thread_detach(pthread_t tid) { return pthread_detach(tid); }

/// malloc that reports failure (Swift's own allocations abort the process instead).
static inline void *iob_malloc(size_t n) { return malloc(n ? n : 1); }
static inline void iob_free(void *p) { free(p); }
static inline void *iob_calloc(size_t n, size_t size) { return calloc(n ? n : 1, size); }

/// Whether `n` bytes can be allocated right now (allocated and freed again).
static inline int iob_can_allocate(size_t n) {
    void *p = malloc(n);
    if (!p) return 0;
    free(p);
    return 1;
}

// ---- files and devices -----------------------------------------------------

/// O_DIRECT (fcntl.h hides it without _GNU_SOURCE).
extern const int IOB_O_DIRECT;

static inline int iob_open(const char *path, int flags, int mode) { return open(path, flags, mode); }

static inline unsigned iob_major(dev_t d) { return major(d); }
static inline unsigned iob_minor(dev_t d) { return minor(d); }

/// Logical block size of a block device (BLKSSZGET).
static inline int iob_blk_logical_block_size(int fd, int *out) {
    return ioctl(fd, BLKSSZGET, out) ? -errno : 0;
}

/// Size in bytes of a block device (BLKGETSIZE64).
static inline int iob_blk_size_bytes(int fd, uint64_t *out) {
    return ioctl(fd, BLKGETSIZE64, out) ? -errno : 0;
}

/// One FIEMAP call: maps [start, start+length) into `out` (capacity `max`), with
/// FIEMAP_FLAG_SYNC so delayed allocations are resolved first. Returns the number of
/// extents mapped, or -errno.
static inline int iob_fiemap(int fd, uint64_t start, uint64_t length, uint32_t flags,
                             struct fiemap_extent *out, uint32_t max) {
    size_t sz = sizeof(struct fiemap) + (size_t)max * sizeof(struct fiemap_extent);
    struct fiemap *fm = (struct fiemap *)calloc(1, sz);
    if (!fm) return -ENOMEM;
    fm->fm_start = start;
    fm->fm_length = length;
    fm->fm_flags = flags;
    fm->fm_extent_count = max;
    int rc = ioctl(fd, FS_IOC_FIEMAP, fm);
    if (rc) { rc = -errno; free(fm); return rc; }
    uint32_t n = fm->fm_mapped_extents;
    memcpy(out, fm->fm_extents, (size_t)n * sizeof(struct fiemap_extent));
    free(fm);
    return (int)n;
}

static const uint32_t IOB_FIEMAP_FLAG_SYNC = FIEMAP_FLAG_SYNC;

/// ext4's EXT4_IOC_MOVE_EXT: exchange `len` blocks of `orig_fd` at `orig_start` with the
/// donor's blocks at `donor_start` (both in filesystem blocks). Returns 0 or -errno;
/// `moved` receives the blocks moved.
struct iob_move_extent {
    uint32_t reserved;
    uint32_t donor_fd;
    uint64_t orig_start;
    uint64_t donor_start;
    uint64_t len;
    uint64_t moved_len;
};
#define IOB_EXT4_IOC_MOVE_EXT _IOWR('f', 15, struct iob_move_extent)
static inline int iob_ext4_move_ext(int orig_fd, int donor_fd, uint64_t orig_start,
                                    uint64_t donor_start, uint64_t len, uint64_t *moved) {
    struct iob_move_extent me = { 0, (uint32_t)donor_fd, orig_start, donor_start, len, 0 };
    int rc = ioctl(orig_fd, IOB_EXT4_IOC_MOVE_EXT, &me);
    *moved = me.moved_len;
    return rc ? -errno : 0;
}

/// XFS (and ext4) extent-size hint: FS_IOC_FSGETXATTR / FS_IOC_FSSETXATTR with
/// FS_XFLAG_EXTSIZE. Returns 0 or -errno.
static inline int iob_set_extsize_hint(int fd, uint32_t bytes) {
    struct fsxattr fa;
    if (ioctl(fd, FS_IOC_FSGETXATTR, &fa)) return -errno;
    fa.fsx_xflags |= FS_XFLAG_EXTSIZE;
    fa.fsx_extsize = bytes;
    return ioctl(fd, FS_IOC_FSSETXATTR, &fa) ? -errno : 0;
}

// ---- zlib (HdrHistogram V2 compressed encoding) ------------------------------

static inline unsigned long iob_zlib_bound(unsigned long n) { return compressBound(n); }

static inline int iob_zlib_compress(uint8_t *dst, unsigned long *dst_len,
                                    const uint8_t *src, unsigned long src_len) {
    return compress2(dst, dst_len, src, src_len, Z_DEFAULT_COMPRESSION);
}

static inline int iob_zlib_uncompress(uint8_t *dst, unsigned long *dst_len,
                                      const uint8_t *src, unsigned long src_len) {
    return uncompress(dst, dst_len, src, src_len);
}

/// The git commit this binary was built from (12 hex digits, "-dirty" with local
/// changes) and the build date (YYYY-MM-DD, UTC): "" when the build did not record them
/// (a plain `swift build`; the Makefile runs scripts/build-info.sh first). build_info.c.
const char *iob_build_commit(void);
const char *iob_build_date(void);

#endif

#ifndef IOBENCH_PERF_SHIM_H
#define IOBENCH_PERF_SHIM_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

/// A sampling perf event on one thread: cpu-cycles where the CPU has a PMU, else the
/// software cpu-clock, with kernel and user callchains, read from an mmap ring buffer
/// without stopping the thread (`run --profile`, issue 15).
typedef struct iob_perf {
    int fd;
    void *base;          // the mmap: one metadata page, then 2^n data pages
    size_t data_size;    // bytes of the data area
    int hardware;        // 1: PERF_COUNT_HW_CPU_CYCLES, 0: PERF_COUNT_SW_CPU_CLOCK
    uint64_t lost;       // records the kernel dropped (PERF_RECORD_LOST), summed
    int failed_at;       // after a failed iob_perf_open: 1 perf_event_open, 2 the ring's mmap
} iob_perf;

/// Opens a disabled sampling event on thread `tid` at `freq` Hz with callchains and
/// maps its ring of `data_pages` (a power of two) pages. Tries cpu-cycles first unless
/// `software_only`; falls back to cpu-clock. User frames are recorded only with
/// `user_frames`. Returns 0, or -errno of the last attempt.
int iob_perf_open(iob_perf *p, pid_t tid, unsigned freq, unsigned data_pages, int software_only, int user_frames);

int iob_perf_enable(iob_perf *p);
int iob_perf_disable(iob_perf *p);
void iob_perf_close(iob_perf *p);

/// Moves the ring's sample records into `out` as [period, nr, ip_0 ... ip_{nr-1}] runs
/// of u64 (PERF_CONTEXT_* markers kept, so kernel and user frames can be told apart),
/// up to `cap` u64s; advances the ring's tail over what it consumed. Returns the u64s
/// written. Counts PERF_RECORD_LOST into p->lost.
size_t iob_perf_drain(iob_perf *p, uint64_t *out, size_t cap);

/// The event's count so far (cpu-clock: ns of CPU time; cpu-cycles: cycles), or 0.
uint64_t iob_perf_count(iob_perf *p);

/// The calling thread's kernel id (the tid perf_event_open takes).
pid_t iob_gettid(void);

#endif

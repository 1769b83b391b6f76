#define _GNU_SOURCE
#include "iobench_perf_shim.h"
#include <errno.h>
#include <linux/perf_event.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int open_event(pid_t tid, unsigned freq, uint32_t type, uint64_t config, int user_frames) {
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = type;
    a.config = config;
    a.freq = 1;
    a.sample_freq = freq;
    a.sample_type = PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN;
    a.disabled = 1;
    a.exclude_hv = 1;
    // Without user frames the kernel does not copy the user stack at each sample: the
    // samples cost less, and user time is still one [iobench] frame (PERF_CONTEXT_USER).
    a.exclude_callchain_user = user_frames ? 0 : 1;
    a.sample_max_stack = 127;
    return (int)syscall(SYS_perf_event_open, &a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

int iob_perf_open(iob_perf *p, pid_t tid, unsigned freq, unsigned data_pages, int software_only, int user_frames) {
    memset(p, 0, sizeof *p);
    p->fd = -1;
    int fd = -1;
    if (!software_only) {
        fd = open_event(tid, freq, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, user_frames);
        if (fd >= 0) p->hardware = 1;
    }
    if (fd < 0) fd = open_event(tid, freq, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK, user_frames);
    if (fd < 0) {
        p->failed_at = 1;
        return -errno;
    }
    long page = sysconf(_SC_PAGESIZE);
    size_t len = (size_t)(1 + data_pages) * (size_t)page;
    void *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        int e = errno;
        close(fd);
        p->failed_at = 2;
        return -e;
    }
    p->fd = fd;
    p->base = base;
    p->data_size = (size_t)data_pages * (size_t)page;
    return 0;
}

int iob_perf_enable(iob_perf *p) { return ioctl(p->fd, PERF_EVENT_IOC_ENABLE, 0) == 0 ? 0 : -errno; }
int iob_perf_disable(iob_perf *p) { return ioctl(p->fd, PERF_EVENT_IOC_DISABLE, 0) == 0 ? 0 : -errno; }

void iob_perf_close(iob_perf *p) {
    if (p->base) munmap(p->base, p->data_size + (size_t)sysconf(_SC_PAGESIZE));
    if (p->fd >= 0) close(p->fd);
    p->base = NULL;
    p->fd = -1;
}

/// Copies `n` bytes starting at ring offset `off` (wrapping) into `dst`.
static void ring_copy(const iob_perf *p, uint64_t off, void *dst, size_t n) {
    const char *data = (const char *)p->base + sysconf(_SC_PAGESIZE);
    size_t start = (size_t)(off % p->data_size);
    size_t first = n < p->data_size - start ? n : p->data_size - start;
    memcpy(dst, data + start, first);
    if (first < n) memcpy((char *)dst + first, data, n - first);
}

size_t iob_perf_drain(iob_perf *p, uint64_t *out, size_t cap) {
    struct perf_event_mmap_page *meta = p->base;
    uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
    uint64_t tail = meta->data_tail;
    size_t used = 0;
    uint64_t rec[130];
    while (tail < head) {
        struct perf_event_header h;
        ring_copy(p, tail, &h, sizeof h);
        if (h.size < sizeof h) break;
        if (h.type == PERF_RECORD_SAMPLE) {
            // period, nr, ips (sample_type PERIOD | CALLCHAIN, in that order).
            size_t body = h.size - sizeof h;
            if (body > sizeof rec) body = sizeof rec;
            ring_copy(p, tail + sizeof h, rec, body);
            uint64_t nr = rec[1];
            if (nr > 127) nr = 127;
            if (used + 2 + nr > cap) break;   // no room: leave the record for the next drain
            out[used++] = rec[0];
            out[used++] = nr;
            memcpy(out + used, rec + 2, nr * sizeof(uint64_t));
            used += nr;
        } else if (h.type == PERF_RECORD_LOST) {
            uint64_t lost[2];
            ring_copy(p, tail + sizeof h, lost, sizeof lost);
            p->lost += lost[1];
        }
        tail += h.size;
    }
    __atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
    return used;
}

pid_t iob_gettid(void) { return (pid_t)syscall(SYS_gettid); }

uint64_t iob_perf_count(iob_perf *p) {
    uint64_t v = 0;
    return read(p->fd, &v, sizeof v) == (ssize_t)sizeof v ? v : 0;
}

/* The floor under `run --profile`'s cost (benchmarks/profile_cost.py): what sampling a
 * thread with perf_event_open's software cpu-clock costs on this machine with no
 * profiler around it. One thread reads 4 KiB with pread from a file (page cache) for a
 * fixed time, with or without a cpu-clock event sampling it (period only, no callchain:
 * the cheapest sample there is), and prints reads per second and the samples taken. The
 * ratio of the two is the sampling interrupt's own cost: iobench's cost above it is
 * iobench's.
 *
 * usage: perf_floor FILE SECONDS FREQ(0 = no sampling)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: %s FILE SECONDS FREQ\n", argv[0]); return 2; }
    double seconds = atof(argv[2]);
    unsigned freq = (unsigned)atoi(argv[3]);
    struct perf_event_mmap_page *meta = NULL;
    int pfd = -1;
    if (freq > 0) {
        struct perf_event_attr a;
        memset(&a, 0, sizeof a);
        a.size = sizeof a;
        a.type = PERF_TYPE_SOFTWARE;
        a.config = PERF_COUNT_SW_CPU_CLOCK;
        a.freq = 1;
        a.sample_freq = freq;
        a.sample_type = PERF_SAMPLE_PERIOD;
        a.exclude_hv = 1;
        pfd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
        if (pfd < 0) { perror("perf_event_open"); return 1; }
        /* 1 MiB ring, as iobench's; nobody reads it, so samples past it are lost and
         * counted, which is fine for a cost floor: the interrupt happens either way. */
        meta = mmap(NULL, 257 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, pfd, 0);
        if (meta == MAP_FAILED) { perror("mmap"); return 1; }
    }
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) { perror(argv[1]); return 1; }
    off_t size = lseek(fd, 0, SEEK_END);
    if (size < 4096) { fprintf(stderr, "%s: too small\n", argv[1]); return 1; }
    char buf[4096];
    uint64_t n = 0, x = 88172645463325252ull;
    double t0 = now(), t;
    do {
        for (int i = 0; i < 64; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            if (pread(fd, buf, sizeof buf, (off_t)(x % (uint64_t)(size / 4096)) * 4096) != (ssize_t)sizeof buf) { perror("pread"); return 1; }
            n++;
        }
        t = now() - t0;
    } while (t < seconds);
    uint64_t samples = 0;
    if (meta) samples = (meta->data_head) / 24; /* PERIOD sample: 8-byte header + 8 + 8 */
    printf("{\"reads_per_second\": %.1f, \"samples\": %llu}\n", (double)n / t, (unsigned long long)samples);
    return 0;
}

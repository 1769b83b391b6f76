// GNU-only parts of the shim: compiled with _GNU_SOURCE, exposed through plain
// prototypes in iobench_shim.h so the header matches Swift's Glibc module.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>

const int IOB_O_DIRECT = O_DIRECT;

ssize_t iob_preadv2(int fd, void *buf, size_t count, off_t offset, int flags) {
    struct iovec iov = { .iov_base = buf, .iov_len = count };
    return preadv2(fd, &iov, 1, offset, flags);
}

int iob_thread_rusage(uint64_t *user_ns, uint64_t *sys_ns, uint64_t *vol_csw, uint64_t *invol_csw) {
    struct rusage ru;
    if (getrusage(RUSAGE_THREAD, &ru)) return -errno;
    *user_ns = (uint64_t)ru.ru_utime.tv_sec * 1000000000ull + (uint64_t)ru.ru_utime.tv_usec * 1000ull;
    *sys_ns = (uint64_t)ru.ru_stime.tv_sec * 1000000000ull + (uint64_t)ru.ru_stime.tv_usec * 1000ull;
    *vol_csw = (uint64_t)ru.ru_nvcsw;
    *invol_csw = (uint64_t)ru.ru_nivcsw;
    return 0;
}

int iob_pin_to_cpu(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

#include <malloc.h>

void iob_malloc_for_address_limit(void) {
    // Each extra malloc arena reserves 64 MiB of address space; under RLIMIT_AS that
    // reservation, not the jobs' memory, would exhaust the limit. A fixed mmap threshold
    // makes large blocks go back to the kernel when freed, so memory a job reserves and
    // hands back (CaseRunner.runJob) is really there for its histograms.
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

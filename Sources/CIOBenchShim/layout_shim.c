// GNU-only calls of the layout builder, exposed through include/iobench_layout_shim.h.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>
#include <sys/xattr.h>

#include "iobench_layout_shim.h"

int iob_fallocate(int fd, int mode, uint64_t offset, uint64_t length) {
    int rc;
    do {
        rc = fallocate(fd, mode, (off_t)offset, (off_t)length);
    } while (rc != 0 && errno == EINTR);
    return rc ? -errno : 0;
}

int iob_fsetxattr(int fd, const char *name, const void *value, size_t size) {
    return fsetxattr(fd, name, value, size, 0) ? -errno : 0;
}

int iob_rename_noreplace(const char *from, const char *to) {
    // The raw syscall: renameat2 is in glibc only from 2.28.
    return syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, 1 /* RENAME_NOREPLACE */) ? -errno : 0;
}

ssize_t iob_fgetxattr(int fd, const char *name, void *value, size_t size) {
    ssize_t n = fgetxattr(fd, name, value, size);
    return n < 0 ? -errno : n;
}

// iobench C shim for the layout builder (`iobench prepare`): the calls Swift's Glibc
// module does not export. fallocate(2) is GNU-only and the xattr calls live in
// <sys/xattr.h>, which the Glibc module leaves out; both are defined in layout_shim.c
// (compiled with _GNU_SOURCE) behind these plain prototypes.
#ifndef IOBENCH_LAYOUT_SHIM_H
#define IOBENCH_LAYOUT_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// fallocate(2): mode 0 allocates unwritten extents (and extends i_size). Returns 0 or
/// -errno.
int iob_fallocate(int fd, int mode, uint64_t offset, uint64_t length);

/// fsetxattr(2). Returns 0 or -errno.
int iob_fsetxattr(int fd, const char *name, const void *value, size_t size);

/// fgetxattr(2) into `value` (capacity `size`). Returns the value's length or -errno.
ssize_t iob_fgetxattr(int fd, const char *name, void *value, size_t size);

/// renameat2(RENAME_NOREPLACE): moves `from` to `to` only if `to` does not exist.
/// Returns 0 or -errno (-EEXIST when `to` exists; -EINVAL where the filesystem lacks it).
int iob_rename_noreplace(const char *from, const char *to);

#endif

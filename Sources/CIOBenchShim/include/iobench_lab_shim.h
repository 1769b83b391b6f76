// iobench C shim for `iobench lab`: loop devices (linux/loop.h) and mount(2)/umount2(2).
// <sys/mount.h> and <linux/fs.h> (which iobench_shim.h needs) clash on some glibc
// versions, so both live in lab_shim.c behind these plain prototypes.
#ifndef IOBENCH_LAB_SHIM_H
#define IOBENCH_LAB_SHIM_H

#include <stdint.h>

/// LO_FLAGS_DIRECT_IO and LO_FLAGS_AUTOCLEAR (linux/loop.h).
extern const uint32_t IOB_LO_FLAGS_DIRECT_IO;
extern const uint32_t IOB_LO_FLAGS_AUTOCLEAR;

/// LOOP_CTL_GET_FREE on an open /dev/loop-control: the number of a free loop device
/// (created when none is free), or -errno.
int iob_loop_ctl_get_free(int control_fd);

/// LOOP_CONFIGURE on an open, unbound /dev/loopN: binds `backing_fd` with `flags`
/// (LO_FLAGS_*) and `block_size` (0: the kernel's choice), naming it `file_name`
/// (shown by losetup; at most 63 bytes are kept). Returns 0 or -errno (-EBUSY when the
/// device was bound meanwhile).
int iob_loop_configure(int loop_fd, int backing_fd, uint32_t flags, uint32_t block_size,
                       const char *file_name);

/// LOOP_CLR_FD: unbinds the device (or, while others hold it open, marks it to be
/// unbound on their last close). Returns 0 or -errno.
int iob_loop_clr_fd(int loop_fd);

/// MS_NOATIME, MS_NODEV, MS_NOSUID and umount2's MNT_DETACH.
extern const unsigned long IOB_MS_NOATIME;
extern const unsigned long IOB_MS_NODEV;
extern const unsigned long IOB_MS_NOSUID;
extern const int IOB_MNT_DETACH;

/// mount(2). Returns 0 or -errno.
int iob_mount(const char *source, const char *target, const char *fstype,
              unsigned long flags, const char *data);

/// umount2(2). Returns 0 or -errno.
int iob_umount2(const char *target, int flags);

#endif

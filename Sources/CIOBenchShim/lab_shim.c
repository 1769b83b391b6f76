// Loop-device ioctls and mount(2) for `iobench lab`, exposed through
// include/iobench_lab_shim.h.
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <linux/loop.h>

#include "iobench_lab_shim.h"

const uint32_t IOB_LO_FLAGS_DIRECT_IO = LO_FLAGS_DIRECT_IO;
const uint32_t IOB_LO_FLAGS_AUTOCLEAR = LO_FLAGS_AUTOCLEAR;
const unsigned long IOB_MS_NOATIME = MS_NOATIME;
const unsigned long IOB_MS_NODEV = MS_NODEV;
const unsigned long IOB_MS_NOSUID = MS_NOSUID;
const int IOB_MNT_DETACH = MNT_DETACH;

int iob_loop_ctl_get_free(int control_fd) {
    int n = ioctl(control_fd, LOOP_CTL_GET_FREE);
    return n < 0 ? -errno : n;
}

int iob_loop_configure(int loop_fd, int backing_fd, uint32_t flags, uint32_t block_size,
                       const char *file_name) {
    struct loop_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.fd = (uint32_t)backing_fd;
    cfg.block_size = block_size;
    cfg.info.lo_flags = flags;
    if (file_name) strncpy((char *)cfg.info.lo_file_name, file_name, LO_NAME_SIZE - 1);
    return ioctl(loop_fd, LOOP_CONFIGURE, &cfg) ? -errno : 0;
}

int iob_loop_clr_fd(int loop_fd) {
    return ioctl(loop_fd, LOOP_CLR_FD, 0) ? -errno : 0;
}

int iob_mount(const char *source, const char *target, const char *fstype,
              unsigned long flags, const char *data) {
    return mount(source, target, fstype, flags, data) ? -errno : 0;
}

int iob_umount2(const char *target, int flags) {
    return umount2(target, flags) ? -errno : 0;
}

#define _GNU_SOURCE
#include "hearth_spawn.h"
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

int hearth_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    long fd = syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : (int)fd;
#else
    (void)pid;
    return -ENOSYS;
#endif
}

#ifndef HEARTH_SPAWN_H
#define HEARTH_SPAWN_H
#include <sys/types.h>

/// Starts `path` with `argv` and `envp` (NULL-terminated) through posix_spawn.
///
/// The child's descriptor i (0 <= i < nfds) is the parent's `fds[i]`, or /dev/null where that is
/// -1; every descriptor from `nfds` up is closed in the child, so no pipe or socket of the parent
/// leaks into it (or into daemons it forks). Signal dispositions are reset to their defaults and
/// the signal mask is emptied. With `new_process_group` the child leads its own process group,
/// so a signal to -pid reaches it and everything it starts. `cwd` may be NULL.
///
/// Returns 0 and sets *pid, or an errno value.
int hearth_spawn(const char *path, char *const argv[], char *const envp[], const int *fds, int nfds,
                 int new_process_group, const char *cwd, pid_t *pid);

/// The identity a child takes before exec: user, primary group and supplementary groups.
struct hearth_credentials {
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    int ngroups;
};

/// The step of `hearth_spawn_as` that failed in the child (for the error message).
enum {
    HEARTH_STAGE_CGROUP = 1,
    HEARTH_STAGE_PGROUP = 2,
    HEARTH_STAGE_FDS = 3,
    HEARTH_STAGE_SETGROUPS = 4,
    HEARTH_STAGE_SETGID = 5,
    HEARTH_STAGE_SETUID = 6,
    HEARTH_STAGE_CHDIR = 7,
    HEARTH_STAGE_EXEC = 8,
};

/// Like `hearth_spawn` with a new process group, through clone (vfork-like) and exec, for a job's process:
/// in the child it first writes "0" to each of `cgroup_fds` (open `cgroup.procs` files, so the
/// child and everything it starts is in the attempt's cgroups), then maps the descriptors, then
/// drops to `cred` (setgroups, setresgid, setresuid; NULL keeps this process's identity) and
/// checks root cannot be regained, changes to `cwd` (as the new user) and execs.
///
/// Returns 0 and sets *pid once the exec succeeded, or an errno value with *failed_stage set to
/// the HEARTH_STAGE_ of the step that failed (0: clone itself); a child that failed is reaped.
int hearth_spawn_as(const char *path, char *const argv[], char *const envp[], const int *fds, int nfds,
                    const char *cwd, const struct hearth_credentials *cred, const int *cgroup_fds, int ncgroup_fds,
                    pid_t *pid, int *failed_stage);

/// Empties this process's ambient capability set (prctl PR_CAP_AMBIENT_CLEAR_ALL), so that no
/// program it starts inherits a capability systemd gave it (AmbientCapabilities=); its own
/// permitted and effective sets are left as they are. Returns 0 or an errno value.
int hearth_clear_ambient_capabilities(void);

/// A descriptor that becomes readable when process `pid` exits (pidfd_open(2), Linux 5.3), so a
/// watcher can sleep until then instead of polling. Returns the descriptor (close-on-exec) or a
/// negative errno value (-ENOSYS on older kernels, -ESRCH when no such process).
int hearth_pidfd_open(pid_t pid);

#endif

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

#endif

#define _GNU_SOURCE
#include "hearth_spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sched.h>
#include <sys/mman.h>

// The child is made with clone(CLONE_VM | CLONE_VFORK) on a stack of its own, as glibc's
// posix_spawn does: it shares the parent's memory until it execs, so nothing is copied (a fork of
// hearthd copied its page tables, made the parent take copy-on-write faults and tore the copy
// down again: a third of hearthd's CPU time per /bin/true job, measured with perf). Only the
// calling thread waits for the exec; the others run on. So the child touches nothing shared:
// raw system calls and thin wrappers only, no malloc, no locks, its own stack for its locals.
// glibc's setuid() in particular would try to change the credentials of every thread of the
// process, which the child does not have.

/// Reports a failed step to the parent through the close-on-exec pipe and exits.
static void fail(int report_fd, int stage, int err) {
    int msg[2] = {stage, err};
    ssize_t ignored = write(report_fd, msg, sizeof msg);
    (void)ignored;
    _exit(127);
}

/// What the child needs, on the parent's stack (the parent is suspended while the child reads it).
struct child_args {
    const char *path;
    char *const *argv;
    char *const *envp;
    const int *fds;
    int nfds;
    const char *cwd;
    const struct hearth_credentials *cred;
    const int *cgroup_fds;
    int ncgroup_fds;
    int report_fd;
    int high;
};

static int child_main(void *arg) {
    const struct child_args *a = arg;
    int report_fd = a->report_fd;
    int nfds = a->nfds;
    int high = a->high;
    // Default dispositions for every signal (this child's own table: no CLONE_SIGHAND), then an
    // empty mask (as exec'd programs expect).
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < 65; s++) sigaction(s, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    // Join the attempt's cgroups first, while still root: a process forked from here on is in them.
    for (int i = 0; i < a->ncgroup_fds; i++) {
        if (write(a->cgroup_fds[i], "0", 1) != 1) fail(report_fd, HEARTH_STAGE_CGROUP, errno);
    }
    if (setpgid(0, 0) != 0) fail(report_fd, HEARTH_STAGE_PGROUP, errno);
    int copies[64];
    if (nfds > 64) fail(report_fd, HEARTH_STAGE_FDS, EINVAL);
    for (int i = 0; i < nfds; i++) {
        if (a->fds[i] < 0) {
            copies[i] = open("/dev/null", i == 0 ? O_RDONLY : O_WRONLY);
        } else {
            copies[i] = fcntl(a->fds[i], F_DUPFD, high + 1);
        }
        if (copies[i] < 0) fail(report_fd, HEARTH_STAGE_FDS, errno);
    }
    for (int i = 0; i < nfds; i++) {
        if (dup2(copies[i], i) < 0) fail(report_fd, HEARTH_STAGE_FDS, errno);
    }
    // Everything from nfds up closes at exec (the report pipe included); the copies now.
    if (syscall(SYS_close_range, (unsigned)nfds, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */) != 0) {
        for (int fd = nfds; fd < 4096; fd++) if (fd != report_fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    const struct hearth_credentials *cred = a->cred;
    if (cred != NULL) {
        if (syscall(SYS_setgroups, (size_t)cred->ngroups, cred->groups) != 0) fail(report_fd, HEARTH_STAGE_SETGROUPS, errno);
        if (syscall(SYS_setresgid, cred->gid, cred->gid, cred->gid) != 0) fail(report_fd, HEARTH_STAGE_SETGID, errno);
        if (syscall(SYS_setresuid, cred->uid, cred->uid, cred->uid) != 0) fail(report_fd, HEARTH_STAGE_SETUID, errno);
        // Belt and braces: a dropped identity must not be able to take root back.
        if (cred->uid != 0 && syscall(SYS_setresuid, 0, 0, 0) == 0) fail(report_fd, HEARTH_STAGE_SETUID, EPERM);
    }
    if (a->cwd != NULL && chdir(a->cwd) != 0) fail(report_fd, HEARTH_STAGE_CHDIR, errno);
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, _NSIG / 8);
    execve(a->path, a->argv, a->envp);
    fail(report_fd, HEARTH_STAGE_EXEC, errno);
    return 127;
}

/// The child's stack: small (it runs a loop of system calls), with a guard page below it.
enum { CHILD_STACK_SIZE = 64 * 1024, GUARD_SIZE = 4096 };

int hearth_spawn_as(const char *path, char *const argv[], char *const envp[], const int *fds, int nfds,
                    const char *cwd, const struct hearth_credentials *cred, const int *cgroup_fds, int ncgroup_fds,
                    pid_t *pid, int *failed_stage) {
    *failed_stage = 0;
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return errno;
    // The child's descriptors are dup2()ed into 0..nfds-1, so the report pipe must sit above them.
    int high = nfds + 3;
    if (report[1] < high) {
        int moved = fcntl(report[1], F_DUPFD_CLOEXEC, high);
        if (moved < 0) { int e = errno; close(report[0]); close(report[1]); return e; }
        close(report[1]);
        report[1] = moved;
    }
    char *stack = mmap(NULL, CHILD_STACK_SIZE + GUARD_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) { int e = errno; close(report[0]); close(report[1]); return e; }
    mprotect(stack, GUARD_SIZE, PROT_NONE);
    struct child_args args = {
        .path = path, .argv = argv, .envp = envp, .fds = fds, .nfds = nfds, .cwd = cwd, .cred = cred,
        .cgroup_fds = cgroup_fds, .ncgroup_fds = ncgroup_fds, .report_fd = report[1], .high = high,
    };
    // No handler may run in the child while it shares our memory: every signal is blocked
    // across the clone (the child empties its mask just before exec).
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t child = clone(child_main, stack + CHILD_STACK_SIZE + GUARD_SIZE, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    // CLONE_VFORK: we resume once the child has exec'd or exited, so its stack is free again.
    munmap(stack, CHILD_STACK_SIZE + GUARD_SIZE);
    if (child < 0) {
        close(report[0]); close(report[1]);
        return clone_errno;
    }
    close(report[1]);
    int msg[2];
    ssize_t n;
    do { n = read(report[0], msg, sizeof msg); } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof msg) {
        // The child failed before exec: reap it so no zombie is left, and say which step failed.
        int status;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
        *failed_stage = msg[0];
        return msg[1] != 0 ? msg[1] : EIO;
    }
    *pid = child;
    return 0;
}

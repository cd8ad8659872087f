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

// After fork() in a threaded process only async-signal-safe calls are allowed, so the child uses
// raw system calls throughout: in particular glibc's setuid() would try to change the credentials
// of every thread of the (copied) process, which the child no longer has.

/// Reports a failed step to the parent through the close-on-exec pipe and exits.
static void fail(int report_fd, int stage, int err) {
    int msg[2] = {stage, err};
    ssize_t ignored = write(report_fd, msg, sizeof msg);
    (void)ignored;
    _exit(127);
}

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
    // Sources for dup2 must not be clobbered by earlier dup2s: copy each above `high` first.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t child = fork();
    if (child < 0) {
        int e = errno;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        close(report[0]); close(report[1]);
        return e;
    }
    if (child == 0) {
        // Default dispositions for every signal, then an empty mask (as exec'd programs expect).
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (int s = 1; s < 65; s++) sigaction(s, &dfl, NULL);
        sigset_t none;
        sigemptyset(&none);
        // Join the attempt's cgroups first, while still root: a process forked from here on is in them.
        for (int i = 0; i < ncgroup_fds; i++) {
            if (write(cgroup_fds[i], "0", 1) != 1) fail(report[1], HEARTH_STAGE_CGROUP, errno);
        }
        if (setpgid(0, 0) != 0) fail(report[1], HEARTH_STAGE_PGROUP, errno);
        int copies[64];
        if (nfds > 64) fail(report[1], HEARTH_STAGE_FDS, EINVAL);
        for (int i = 0; i < nfds; i++) {
            if (fds[i] < 0) {
                copies[i] = open("/dev/null", i == 0 ? O_RDONLY : O_WRONLY);
            } else {
                copies[i] = fcntl(fds[i], F_DUPFD, high + 1);
            }
            if (copies[i] < 0) fail(report[1], HEARTH_STAGE_FDS, errno);
        }
        for (int i = 0; i < nfds; i++) {
            if (dup2(copies[i], i) < 0) fail(report[1], HEARTH_STAGE_FDS, errno);
        }
        // Everything from nfds up closes at exec (the report pipe included); the copies now.
        if (syscall(SYS_close_range, (unsigned)nfds, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */) != 0) {
            for (int fd = nfds; fd < 4096; fd++) if (fd != report[1]) fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
        if (cred != NULL) {
            if (syscall(SYS_setgroups, (size_t)cred->ngroups, cred->groups) != 0) fail(report[1], HEARTH_STAGE_SETGROUPS, errno);
            if (syscall(SYS_setresgid, cred->gid, cred->gid, cred->gid) != 0) fail(report[1], HEARTH_STAGE_SETGID, errno);
            if (syscall(SYS_setresuid, cred->uid, cred->uid, cred->uid) != 0) fail(report[1], HEARTH_STAGE_SETUID, errno);
            // Belt and braces: a dropped identity must not be able to take root back.
            if (cred->uid != 0 && syscall(SYS_setresuid, 0, 0, 0) == 0) fail(report[1], HEARTH_STAGE_SETUID, EPERM);
        }
        if (cwd != NULL && chdir(cwd) != 0) fail(report[1], HEARTH_STAGE_CHDIR, errno);
        pthread_sigmask(SIG_SETMASK, &none, NULL);
        execve(path, argv, envp);
        fail(report[1], HEARTH_STAGE_EXEC, errno);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
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

import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Set by SIGTERM/SIGINT; the training loop checks it between steps.
let stopRequested = Atomic<Bool>(false)
/// The parent process at start (hearthd); 0 when not watched.
let watchedParent = Atomic<Int32>(0)

/// Stop requests from signals.
public enum StopSignal {
    /// Installs handlers so SIGTERM (and SIGINT) request a checkpoint and a "preempted" exit.
    public static func install() {
        // A parent may hand down a mask that blocks SIGTERM (spawned processes inherit it): unblock.
        var set = sigset_t()
        sigemptyset(&set); sigaddset(&set, SIGTERM); sigaddset(&set, SIGINT)
        sigprocmask(SIG_UNBLOCK, &set, nil)
        signal(SIGTERM) { _ in stopRequested.store(true, ordering: .relaxed) }
        signal(SIGINT) { _ in stopRequested.store(true, ordering: .relaxed) }
        // If hearthd dies (kill -9), reports hit a closed pipe: that must not kill us mid-checkpoint.
        signal(SIGPIPE, SIG_IGN)
        watchedParent.store(getppid(), ordering: .relaxed)
    }

    /// Whether a stop was requested: by a signal, or because the parent (hearthd) is gone, in
    /// which case the worker checkpoints and exits as preempted instead of running on unsupervised.
    public static var requested: Bool {
        if stopRequested.load(ordering: .relaxed) { return true }
        let parent = watchedParent.load(ordering: .relaxed)
        if parent > 1 && getppid() != parent {
            stopRequested.store(true, ordering: .relaxed)
            return true
        }
        return false
    }
}

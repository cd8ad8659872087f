import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Set by SIGTERM/SIGINT; the training loop checks it between steps.
let stopRequested = Atomic<Bool>(false)

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
    }

    /// Whether a stop was requested.
    public static var requested: Bool { stopRequested.load(ordering: .relaxed) }

    /// Requests a stop (for tests).
    public static func request() { stopRequested.store(true, ordering: .relaxed) }

    /// Clears a request (for tests).
    public static func reset() { stopRequested.store(false, ordering: .relaxed) }
}

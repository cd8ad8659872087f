import CSpawn
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Sleeps until a process exits, through a pidfd (Linux 5.3): no thread blocked, no polling.
///
/// hearthd watched its embedded PostgreSQL by reaping it every 50 ms, twenty wake-ups a second
/// of an idle daemon for an event that comes once, if ever. A pidfd becomes readable when its
/// process exits; libdispatch's epoll sleeps on it until then.
public enum ProcessExitWatch {
    /// How a wait ended.
    public enum Outcome: Sendable, Equatable {
        /// The process has exited (it may not be reaped yet).
        case exited
        /// The calling task was cancelled first.
        case cancelled
        /// No pidfd could be opened (a kernel before 5.3, or no such process): poll instead.
        case unavailable
    }

    /// Returns once process `pid` has exited, or the task is cancelled.
    public static func wait(pid: pid_t) async -> Outcome {
        if Task.isCancelled { return .cancelled }
        let fd = hearth_pidfd_open(pid)
        guard fd >= 0 else { return .unavailable }
        let watch = Watch(fd: fd)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in watch.start(continuation) }
        } onCancel: {
            watch.cancel()
        }
    }

    /// One pidfd, its dispatch source, and the continuation it resumes once.
    private final class Watch: Sendable {
        private struct State {
            var continuation: CheckedContinuation<Outcome, Never>?
            var outcome: Outcome?
            var started = false
            var cancelledEarly = false
        }
        /// Dispatch sources may be used from any thread.
        private nonisolated(unsafe) let source: any DispatchSourceRead
        private let state = Mutex(State())

        init(fd: Int32) {
            source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: .global())
            // The descriptor is closed only once dispatch has stopped watching it.
            source.setCancelHandler { [self] in
                close(fd)
                finish(.cancelled)
            }
            source.setEventHandler { [self] in
                finish(.exited)
                source.cancel()
            }
        }

        func start(_ continuation: CheckedContinuation<Outcome, Never>) {
            let early = state.withLock { s -> Bool in
                s.continuation = continuation
                s.started = true
                return s.cancelledEarly
            }
            source.activate()
            if early { source.cancel() }
        }

        func cancel() {
            let started = state.withLock { s -> Bool in
                if !s.started { s.cancelledEarly = true }
                return s.started
            }
            if started { source.cancel() }
        }

        /// Resumes the waiter with the first outcome; later ones are ignored.
        private func finish(_ outcome: Outcome) {
            let continuation = state.withLock { s -> CheckedContinuation<Outcome, Never>? in
                guard s.outcome == nil else { return nil }
                s.outcome = outcome
                defer { s.continuation = nil }
                return s.continuation
            }
            continuation?.resume(returning: outcome)
        }
    }
}

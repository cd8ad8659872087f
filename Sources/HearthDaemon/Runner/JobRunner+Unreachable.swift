import Foundation
import HearthStore
import Logging
import ServiceLifecycle

extension JobRunner {
    /// Runs an attempt's closing statement (succeed, fail, requeue), retrying it while the
    /// database cannot be reached — a restarting embedded server, a fleet database failing over —
    /// for at most the lease's length. After that the lease has lapsed and the leader requeues
    /// the job, so giving up then loses nothing; a refusal (a stale lease) is never retried.
    func retryingWhileUnreachable<T: Sendable>(_ what: String, _ log: Logger, _ body: () async throws -> T) async throws -> T {
        // With a bound it never returns nil: it returns the value or throws.
        try await DatabaseRetry.whileUnreachable(what, log, within: queue.configuration.leaseDuration, body)!
    }
}

/// Retrying a statement while the database cannot be reached, with a growing pause (200 ms,
/// doubling, at most 2 s); the warning is logged the first time, then at most once a minute
/// (``RepeatingWarning``).
enum DatabaseRetry {
    /// Runs `body` until it succeeds or fails for another reason than an unreachable database.
    ///
    /// - `within`: how long to keep retrying; after it the last error is thrown. `nil`: until the
    ///   database answers, however long the outage (a node's start-up: a daemon that exited here
    ///   would only be restarted into the same outage), or until the service is stopping.
    /// - `waiting`: called before each pause (the agent's start-up feeds the watchdog with it: the
    ///   daemon is waiting, not wedged).
    /// - Returns: `nil` only without `within`, when graceful shutdown (or cancellation) began
    ///   before the database answered.
    static func whileUnreachable<T: Sendable>(
        _ what: String, _ log: Logger, within: Duration?, waiting: () -> Void = {}, _ body: () async throws -> T
    ) async throws -> T? {
        let clock = ContinuousClock()
        let deadline = within.map { clock.now + $0 }
        var pause: Duration = .milliseconds(200)
        var failing = RepeatingWarning("recording \(what)", logger: log)
        while true {
            do {
                let value = try await body()
                failing.succeeded()
                return value
            } catch let error as PostgresError where error.isUnreachable {
                if let deadline, clock.now + pause >= deadline { throw error }
                if deadline == nil, Task.isShuttingDownGracefully || Task.isCancelled { return nil }
                failing.failed("cannot record \(what) yet, the database is unreachable; retrying: \(error)")
                waiting()
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(2))
            }
        }
    }
}

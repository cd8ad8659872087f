import Foundation
import HearthStore
import Logging

extension JobRunner {
    /// Runs an attempt's closing statement (succeed, fail, requeue), retrying it while the
    /// database cannot be reached — a restarting embedded server, a fleet database failing over —
    /// for at most the lease's length. After that the lease has lapsed and the leader requeues
    /// the job, so giving up then loses nothing; a refusal (a stale lease) is never retried.
    func retryingWhileUnreachable<T: Sendable>(_ what: String, _ log: Logger, _ body: () async throws -> T) async throws -> T {
        let clock = ContinuousClock()
        let deadline = clock.now + queue.configuration.leaseDuration
        var pause: Duration = .milliseconds(200)
        while true {
            do {
                return try await body()
            } catch let error as PostgresError where error.isUnreachable && clock.now + pause < deadline {
                log.warning("cannot record \(what) yet, the database is unreachable; retrying: \(error)")
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(2))
            }
        }
    }
}

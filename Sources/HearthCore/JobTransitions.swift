/// The job state diagram, written once.
///
/// Every state change a job may make is one named operation, each a PostgreSQL function in
/// `Migrations/0007_lifecycle.sql` (`hearth_place`, `hearth_start`, ...) that `JobQueue`
/// calls. The database holds the same pairs in `job_state_transitions`, and a trigger refuses
/// any other change of `jobs.state`, whoever attempts it. Tests hold this table, the database's
/// and the one in `Docs/queue.md` to one another.
public struct JobTransition: Sendable, Hashable, CustomStringConvertible {
    /// The named operations that change a job's state.
    public enum Operation: String, Sendable, Hashable, CaseIterable {
        /// The leader places a queued job on a node (a lease and an open ledger row).
        case place
        /// The node's worker is up.
        case start
        /// The worker succeeded (the ledger row closes).
        case succeed
        /// The attempt failed: a retry with backoff, or failed for good.
        case fail
        /// The worker checkpointed after a preemption request; the job waits to be placed again.
        case requeue
        /// An owner or admin cancels a queued or scheduled job at once.
        case cancel
        /// The node stopped the worker after a cancel request.
        case finishCancel = "finish-cancel"
        /// A lease lapsed (or its node's daemon restarted): retry, fail or cancel.
        case rescue
    }

    public var from: JobState
    public var to: JobState
    public var operation: Operation

    public init(_ from: JobState, _ to: JobState, _ operation: Operation) {
        self.from = from
        self.to = to
        self.operation = operation
    }

    public var description: String { "\(from.rawValue) -> \(to.rawValue) (\(operation.rawValue))" }
}

extension JobState {
    /// Every state change the queue allows, with the operation that makes it.
    public static let transitions: [JobTransition] = [
        .init(.queued, .scheduled, .place),
        .init(.queued, .cancelled, .cancel),
        .init(.scheduled, .running, .start),
        .init(.scheduled, .queued, .fail),
        .init(.scheduled, .failed, .fail),
        .init(.scheduled, .queued, .requeue),
        .init(.scheduled, .cancelled, .cancel),
        .init(.scheduled, .cancelled, .finishCancel),
        .init(.scheduled, .queued, .rescue),
        .init(.scheduled, .failed, .rescue),
        .init(.scheduled, .cancelled, .rescue),
        .init(.running, .succeeded, .succeed),
        .init(.running, .queued, .fail),
        .init(.running, .failed, .fail),
        .init(.running, .queued, .requeue),
        .init(.running, .cancelled, .finishCancel),
        .init(.running, .queued, .rescue),
        .init(.running, .failed, .rescue),
        .init(.running, .cancelled, .rescue),
    ]

    /// Whether the diagram allows a job in this state to move to `next` (by some operation).
    public func canMove(to next: JobState) -> Bool {
        Self.transitions.contains { $0.from == self && $0.to == next }
    }
}

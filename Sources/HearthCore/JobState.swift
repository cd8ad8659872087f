/// The life cycle of a job in the queue.
///
/// Each state says who moves a job into it and out of it. The allowed moves are
/// ``JobState/transitions``; PostgreSQL refuses any other (a trigger, `Migrations/0007_lifecycle.sql`)
/// and holds each state's invariants with CHECK constraints (`Migrations/0001_schema.sql`).
public enum JobState: String, Sendable, Codable, CaseIterable, Hashable {
    /// Waiting to be placed. In: submit, a retry after failure (with a backoff in `runAt`),
    /// requeue after a preemption, the rescuer. Out: the leader's place (to `scheduled`) or cancel.
    case queued
    /// Placed on a node that holds a lease on it; the worker is being started. In: place.
    /// Out: start (to `running`), cancel, fail, requeue, the rescuer when the lease expires.
    case scheduled
    /// A worker process runs it on its node, renewing the lease by heartbeat. In: `start`.
    /// Out: `succeed`, `fail`, `requeuePreempted`, `finishCancelled`, the rescuer.
    case running
    /// Finished successfully. Terminal. In: `succeed`.
    case succeeded
    /// Failed for good: attempts exhausted, or failed without retry. Terminal. In: `fail`, the rescuer.
    case failed
    /// Cancelled by its owner or an admin. Terminal. In: `cancel`, `finishCancelled`, the rescuer.
    case cancelled

    /// Whether no transition leaves this state.
    public var isTerminal: Bool {
        switch self {
        case .succeeded, .failed, .cancelled: return true
        case .queued, .scheduled, .running: return false
        }
    }

    /// Whether a node holds a lease on a job in this state (it has an open allocation row).
    public var holdsLease: Bool { self == .scheduled || self == .running }
}

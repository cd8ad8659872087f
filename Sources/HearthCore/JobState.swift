/// The life cycle of a job in the queue.
///
/// Each state says who moves a job into it and out of it; PostgreSQL enforces the same
/// invariants with CHECK constraints (see `Migrations/0001_schema.up.sql`).
public enum JobState: String, Sendable, Codable, CaseIterable, Hashable {
    /// Waiting to be placed. In: `enqueue`, a retry after failure (with a backoff in `runAt`),
    /// `requeuePreempted`, the rescuer. Out: `claim` (to `scheduled`) or `cancel`.
    case queued
    /// Placed on a node that holds a lease on it; the worker is being started. In: `claim`.
    /// Out: `start` (to `running`), `cancel`, the rescuer when the lease expires.
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

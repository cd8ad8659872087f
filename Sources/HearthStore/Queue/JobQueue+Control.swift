import Foundation
import HearthCore

extension JobQueue {
    /// What ``cancel(jobID:)`` did.
    public enum CancelOutcome: Sendable, Hashable {
        /// The job was queued or scheduled and is now `cancelled` (a scheduled job's ledger row
        /// closed; its epoch bumped, so the node's late `start` is refused).
        case cancelled
        /// The job is running: the request is recorded and the node stops the worker, then
        /// reports it with ``JobQueue/finishCancelled(_:)``.
        case requested
        /// The job had already ended in this state; nothing changed.
        case alreadyFinished(JobState)
    }

    /// Cancels a job. Permission (owner or admin) is the caller's to check.
    /// - Throws: ``QueueError`` `notFound`.
    public func cancel(jobID: Int64) async throws -> CancelOutcome {
        let rows = try await transition(jobID, "SELECT hearth_cancel(\(jobID)::bigint) AS state")
        let previous = JobState(rawValue: try rows[0].decode("state", as: String.self)) ?? .queued
        switch previous {
        case .queued, .scheduled: return .cancelled
        case .running: return .requested
        case .succeeded, .failed, .cancelled: return .alreadyFinished(previous)
        }
    }

    /// Cancels those of `jobIDs` that are queued, in one statement (their events included), and
    /// returns the ids it cancelled. The others (scheduled or running, or placed meanwhile) are
    /// the caller's to cancel with ``cancel(jobID:)``. Permission is the caller's to check.
    public func cancelQueued(jobIDs: [Int64]) async throws -> Set<Int64> {
        guard !jobIDs.isEmpty else { return [] }
        let rows = try await client.query("SELECT id FROM hearth_cancel_queued(\(jobIDs)::bigint[]) AS id")
        return Set(try rows.map { try $0.decode("id", as: Int64.self) })
    }

    /// Asks the node running a job to preempt it (the scheduler, or a donor reclaiming the node).
    /// - Returns: `false` when the job is not scheduled or running (nothing to preempt).
    @discardableResult
    public func requestPreemption(jobID: Int64, reason: String) async throws -> Bool {
        let rows = try await transition(jobID, "SELECT hearth_request_preemption(\(jobID)::bigint, \(reason)::text) AS asked")
        return try rows[0].decode("asked")
    }

    /// A job whose lease expired without renewal, handed back by ``rescueExpired(limit:)``.
    public struct RescuedJob: Sendable, Hashable {
        public var jobID: Int64
        /// The node that stopped renewing the lease.
        public var nodeID: Int64
        /// `queued` for a retry, `failed` when its attempts are spent, `cancelled` if a cancel was pending.
        public var state: JobState
        /// When the lease lapsed; the ledger row is closed at this instant, not at discovery.
        public var leaseExpiredAt: Date
    }

    /// Requeues jobs whose lease lapsed (their node vanished or hung) and closes their ledger
    /// rows with reason `lost` at the lease's expiry. The epoch is bumped, so the old attempt's
    /// writes are refused if its node comes back. Safe to run on every node at once.
    /// - Parameter limit: the most jobs handled in one call. Defaults to `1000`.
    public func rescueExpired(limit: Int = 1000) async throws -> [RescuedJob] {
        try await rescue(heldBy: nil, limit: limit)
    }

    /// Requeues every job a node still holds, now: the node's daemon restarted, so none of those
    /// attempts has a supervisor any more (their workers stop themselves when their parent dies).
    /// The ledger rows close as `lost` at this instant.
    public func releaseHeldJobs(nodeID: Int64) async throws -> [RescuedJob] {
        try await rescue(heldBy: nodeID, limit: 10_000)
    }

    /// Expired leases (`heldBy` nil, closed at their expiry) or one node's held jobs (closed now).
    private func rescue(heldBy nodeID: Int64?, limit: Int) async throws -> [RescuedJob] {
        let rows = try await transition(nil, """
            SELECT r_job, r_node, r_state, r_lease_expired_at FROM hearth_rescue(\(nodeID)::bigint, \(limit)::int)
            """)
        return try rows.map { row in
            RescuedJob(
                jobID: try row.decode("r_job"), nodeID: try row.decode("r_node"),
                state: JobState(rawValue: try row.decode("r_state", as: String.self)) ?? .queued,
                leaseExpiredAt: try row.decode("r_lease_expired_at"))
        }
    }
}

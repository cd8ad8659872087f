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
        let rows = try await client.query("""
            WITH cur AS (
                SELECT id, state, node_id, attempt, cancel_requested_at FROM jobs WHERE id = \(jobID) FOR UPDATE
            ), now_cancelled AS (
                UPDATE jobs j SET state = 'cancelled', finished_at = now(), node_id = NULL, lease_expires_at = NULL,
                       lease_epoch = j.lease_epoch + 1, cancel_requested_at = now()
                FROM cur WHERE j.id = cur.id AND cur.state IN ('queued', 'scheduled')
            ), requested AS (
                UPDATE jobs j SET cancel_requested_at = now()
                FROM cur WHERE j.id = cur.id AND cur.state = 'running' AND cur.cancel_requested_at IS NULL
            ), alloc AS (
                UPDATE allocations a SET ended_at = now(), end_reason = 'cancelled'
                FROM cur WHERE cur.state = 'scheduled' AND a.job_id = cur.id AND a.attempt = cur.attempt
                           AND a.ended_at IS NULL
            ), ev AS (
                INSERT INTO job_events (job_id, event, from_state, to_state, node_id, attempt)
                SELECT id, CASE WHEN state = 'running' THEN 'cancel-requested' ELSE 'cancelled' END, state,
                       CASE WHEN state = 'running' THEN 'running' ELSE 'cancelled' END, node_id, attempt
                FROM cur
                WHERE state IN ('queued', 'scheduled') OR (state = 'running' AND cancel_requested_at IS NULL)
            )
            SELECT state FROM cur
            """)
        guard let row = rows.first else { throw QueueError(.notFound, jobID: jobID, "no job \(jobID)") }
        let previous = JobState(rawValue: try row.decode("state", as: String.self)) ?? .queued
        switch previous {
        case .queued, .scheduled: return .cancelled
        case .running: return .requested
        case .succeeded, .failed, .cancelled: return .alreadyFinished(previous)
        }
    }

    /// Asks the node running a job to preempt it (the scheduler, or a donor reclaiming the node).
    /// - Returns: `false` when the job is not scheduled or running (nothing to preempt).
    @discardableResult
    public func requestPreemption(jobID: Int64, reason: String) async throws -> Bool {
        let rows = try await client.query("""
            WITH upd AS (
                UPDATE jobs SET preempt_requested_at = now()
                WHERE id = \(jobID) AND state IN ('scheduled', 'running') AND preempt_requested_at IS NULL
                RETURNING id, state, node_id, attempt
            ), ev AS (
                INSERT INTO job_events (job_id, event, from_state, to_state, node_id, attempt, detail)
                SELECT id, 'preempt-requested', state, state, node_id, attempt, jsonb_build_object('reason', \(reason)::text)
                FROM upd
            )
            SELECT id FROM upd
            """)
        return !rows.isEmpty
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
        let rows = try await client.query("""
            WITH expired AS (
                SELECT id, state, node_id, attempt, failures + 1 AS failures, lease_expires_at,
                       CASE WHEN cancel_requested_at IS NOT NULL THEN 'cancelled'
                            WHEN failures + 1 < max_attempts THEN 'queued'
                            ELSE 'failed' END AS next_state
                FROM jobs
                WHERE state IN ('scheduled', 'running')
                  AND (CASE WHEN \(nodeID)::bigint IS NULL THEN lease_expires_at < now() ELSE node_id = \(nodeID)::bigint END)
                ORDER BY lease_expires_at
                LIMIT \(limit)::int
                FOR UPDATE SKIP LOCKED
            ), upd AS (
                UPDATE jobs j SET state = e.next_state,
                       failures = CASE WHEN e.next_state = 'cancelled' THEN j.failures ELSE e.failures END,
                       finished_at = CASE WHEN e.next_state = 'queued' THEN NULL ELSE now() END,
                       node_id = NULL, lease_expires_at = NULL, lease_epoch = j.lease_epoch + 1, run_at = now(),
                       last_error = CASE WHEN \(nodeID)::bigint IS NULL
                           THEN 'node ' || e.node_id || ' stopped renewing the lease (expired '
                                || to_char(e.lease_expires_at, 'YYYY-MM-DD HH24:MI:SS') || ' UTC)'
                           ELSE 'the daemon of node ' || e.node_id || ' restarted while the job ran' END
                FROM expired e WHERE j.id = e.id
                RETURNING j.id
            ), alloc AS (
                UPDATE allocations a
                SET ended_at = CASE WHEN \(nodeID)::bigint IS NULL THEN greatest(e.lease_expires_at, a.started_at) ELSE now() END,
                    end_reason = 'lost'
                FROM expired e WHERE a.job_id = e.id AND a.attempt = e.attempt AND a.ended_at IS NULL
            ), ev AS (
                INSERT INTO job_events (job_id, event, from_state, to_state, node_id, attempt, detail)
                SELECT id, CASE WHEN \(nodeID)::bigint IS NULL THEN 'lease-expired' ELSE 'orphaned' END,
                       state, next_state, node_id, attempt,
                       jsonb_build_object('lease_expired_at', lease_expires_at)
                FROM expired
            )
            SELECT id, node_id, next_state, lease_expires_at FROM expired
            """)
        return try rows.map { row in
            RescuedJob(
                jobID: try row.decode("id"), nodeID: try row.decode("node_id"),
                state: JobState(rawValue: try row.decode("next_state", as: String.self)) ?? .queued,
                leaseExpiredAt: try row.decode("lease_expires_at"))
        }
    }
}

import Foundation
import HearthCore

extension JobQueue {
    /// A job the leader placed on a node, waiting for that node's agent to start it.
    public struct Assignment: Sendable, Hashable {
        public var job: Job
        public var lease: Lease
        /// The GPU indices its ledger row holds on the node (empty for a CPU-only job).
        public var gpuIndices: [Int]
    }

    /// The scheduler's placement: `queued` → `scheduled` on `nodeID` with exactly `gpuIndices`,
    /// a new lease epoch, an open ledger row and a `placed` event, in one statement.
    ///
    /// Refuses (returns `nil`) when the job is no longer queued or is locked by another
    /// transaction, when the node is not `up` or is reclaimed, or when one of the GPUs is held by
    /// an open ledger row on that node: a stale snapshot can waste a pass, never double-book a GPU.
    public func assign(jobID: Int64, nodeID: Int64, gpuIndices: [Int]) async throws -> Lease? {
        let rows = try await client.query("""
            WITH picked AS (
                SELECT id FROM jobs
                WHERE id = \(jobID) AND state = 'queued' AND gpus = \(gpuIndices.count)::int
                  AND EXISTS (SELECT 1 FROM nodes WHERE id = \(nodeID)::bigint AND state = 'up' AND reclaimed_at IS NULL)
                  AND NOT EXISTS (SELECT 1 FROM allocations a
                                  WHERE a.node_id = \(nodeID)::bigint AND a.ended_at IS NULL
                                    AND a.gpu_indices && \(gpuIndices)::int[])
                FOR UPDATE SKIP LOCKED
            ), placed AS (
                UPDATE jobs j SET state = 'scheduled', node_id = \(nodeID)::bigint, attempt = j.attempt + 1,
                       lease_epoch = j.lease_epoch + 1, lease_expires_at = now() + \(configuration.leaseDuration)::interval,
                       scheduled_at = now(), started_at = NULL, preempt_requested_at = NULL
                FROM picked WHERE j.id = picked.id
                RETURNING j.id, j.attempt, j.node_id, j.gpus, j.lease_epoch, j.lease_expires_at
            ), alloc AS (
                INSERT INTO allocations (job_id, attempt, node_id, gpus, gpu_indices, started_at)
                SELECT id, attempt, node_id, gpus, \(gpuIndices)::int[], now() FROM placed
            ), ev AS (
                INSERT INTO job_events (job_id, event, from_state, to_state, node_id, attempt, detail)
                SELECT id, 'placed', 'queued', 'scheduled', node_id, attempt,
                       jsonb_build_object('gpu_indices', \(gpuIndices)::int[])
                FROM placed
            )
            SELECT id, attempt, lease_epoch, lease_expires_at FROM placed
            """)
        guard let row = rows.first else { return nil }
        return Lease(jobID: jobID, nodeID: nodeID, attempt: try row.decode("attempt"),
                     epoch: try row.decode("lease_epoch"), expiresAt: try row.decode("lease_expires_at"))
    }

    /// Jobs placed on `nodeID` (state `scheduled`) whose ids are not in `excluding` (the
    /// attempts the agent already runs), oldest placement first.
    public func assignments(nodeID: Int64, excluding running: [Int64] = []) async throws -> [Assignment] {
        let rows = try await client.query("""
            SELECT \(sql: Job.columns),
                   coalesce((SELECT a.gpu_indices FROM allocations a WHERE a.job_id = jobs.id AND a.ended_at IS NULL),
                            '{}') AS assigned_gpus
            FROM jobs
            WHERE state = 'scheduled' AND node_id = \(nodeID) AND NOT (id = ANY(\(running)::bigint[]))
            ORDER BY scheduled_at, id
            """)
        return try rows.map { row in
            let job = try Job(row: row)
            let lease = Lease(jobID: job.id, nodeID: nodeID, attempt: job.attempt, epoch: job.leaseEpoch,
                              expiresAt: job.leaseExpiresAt ?? job.runAt)
            return Assignment(job: job, lease: lease, gpuIndices: try row.decode("assigned_gpus"))
        }
    }
}

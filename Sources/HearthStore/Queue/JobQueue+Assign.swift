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
    /// a new lease epoch, an open ledger row and a `placed` event (`hearth_place`).
    ///
    /// Refuses (returns `nil`) when the job is no longer queued or is locked by another
    /// transaction, when the node is not `up`, is reclaimed or is one the job avoids (its worker
    /// exited 3 there), or when one of the GPUs is held by
    /// an open ledger row on that node: a stale snapshot can waste a pass, never double-book a GPU.
    public func assign(jobID: Int64, nodeID: Int64, gpuIndices: [Int]) async throws -> Lease? {
        let rows = try await transition(jobID, """
            SELECT r_attempt, r_epoch, r_expires_at
            FROM hearth_place(\(jobID)::bigint, \(nodeID)::bigint, \(gpuIndices)::int[], \(configuration.leaseDuration)::interval)
            """)
        guard let row = rows.first else { return nil }
        return Lease(jobID: jobID, nodeID: nodeID, attempt: try row.decode("r_attempt"),
                     epoch: try row.decode("r_epoch"), expiresAt: try row.decode("r_expires_at"))
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

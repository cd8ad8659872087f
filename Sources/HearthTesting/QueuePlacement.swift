import HearthCore
import HearthStore

extension JobQueue {
    /// Places the next queued job on `nodeID` through the production path, `assign` (what the
    /// leader's scheduling pass calls), for tests that exercise a node without running a
    /// scheduler. The choice is the simplest order (priority, then age); the real one is
    /// `HearthScheduler`'s.
    /// - Parameters:
    ///   - freeGPUIndices: the node's free GPUs; a job needing `n` gets the first `n` of them.
    ///   - kinds: only these job kinds; empty means any.
    /// - Returns: the placed job and its lease, or `nil` when no queued job fits.
    public func placeNext(nodeID: Int64, freeGPUIndices: [Int] = [], kinds: [String] = []) async throws -> (Job, Lease)? {
        // Other placers may take the candidates first (SKIP LOCKED): look again, a bounded number of times.
        for _ in 0..<10 {
            let candidates = try await client.query("""
                SELECT id, gpus FROM jobs
                WHERE state = 'queued' AND run_at <= now() AND gpus <= \(freeGPUIndices.count)::int
                  AND (cardinality(\(PostgresTextArray(kinds))::text[]) = 0 OR kind = ANY(\(PostgresTextArray(kinds))::text[]))
                ORDER BY priority DESC, run_at, id
                LIMIT 20
                """)
            for row in candidates {
                let id: Int64 = try row.decode("id")
                let gpus: Int = try row.decode("gpus")
                if let lease = try await assign(jobID: id, nodeID: nodeID, gpuIndices: Array(freeGPUIndices.prefix(gpus))),
                   let job = try await job(id) {
                    return (job, lease)
                }
            }
            if candidates.isEmpty { return nil }
        }
        return nil
    }
}

/// History written by hand, for report tests whose ledger rows need exact past times.
public enum LedgerHistory {
    /// A finished (`succeeded`) job that hand-written `allocations` rows can name. It is inserted
    /// `queued` and walked along the state diagram by plain UPDATEs, which the database's trigger
    /// checks as it checks any writer's.
    public static func finishedJob(
        _ client: PostgresClient, accountID: Int64, projectID: Int64? = nil, name: String = "", gpus: Int, nodeID: Int64,
        attempt: Int = 1
    ) async throws -> Int64 {
        // One transaction: a live leader never sees the row before it is finished.
        try await client.withTransaction { c in
            let id: Int64 = try await c.query("""
                INSERT INTO jobs (kind, account_id, project_id, name, gpus, spec_sha256)
                VALUES ('train', \(accountID), \(projectID), \(name), \(gpus), 'x') RETURNING id
                """)[0].decode("id")
            try await c.query("""
                UPDATE jobs SET state = 'scheduled', node_id = \(nodeID), lease_expires_at = now(), attempt = \(attempt)
                WHERE id = \(id)
                """)
            try await c.query("UPDATE jobs SET state = 'running', started_at = now() WHERE id = \(id)")
            try await c.query("""
                UPDATE jobs SET state = 'succeeded', node_id = NULL, lease_expires_at = NULL, finished_at = now() WHERE id = \(id)
                """)
            return id
        }
    }
}

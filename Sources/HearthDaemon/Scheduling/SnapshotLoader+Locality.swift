import HearthStore

extension SnapshotLoader {
    /// Locality for the pass (``Snapshot/inputLocality``): for each schedulable queued job, the
    /// bytes of its stored inputs (`hearth_job_input_blobs`: fleet datasets, named and own
    /// checkpoints) that each node's cache holds, as nodes last recorded (`node_cached_blobs`).
    /// Skipped at no cost when no node has recorded a cached blob. Read in the pass's transaction.
    static func inputLocality(_ c: PostgresConnection) async throws -> [Int64: [Int64: Int64]] {
        var locality: [Int64: [Int64: Int64]] = [:]
        let rows = try await c.query("""
            SELECT jobs.id AS job_id, n.node_id, sum(i.bytes)::bigint AS bytes
            FROM \(sql: Self.eligibleQueued)
            CROSS JOIN LATERAL hearth_job_input_blobs(jobs.id) i
            JOIN node_cached_blobs n ON n.sha256 = i.sha256
            WHERE jobs.state = 'queued' AND EXISTS (SELECT 1 FROM node_cached_blobs)
            GROUP BY jobs.id, n.node_id
            """)
        for r in rows {
            locality[try r.decode("job_id"), default: [:]][try r.decode("node_id")] = try r.decode("bytes")
        }
        return locality
    }
}

import Foundation
import HearthCore

extension NodeStore {
    /// What the node's software offers the scheduler: CPU-only jobs at once, and the job kinds
    /// its `hearth-worker` runs. Written by the node's agent at start.
    public func setCapabilities(nodeID: Int64, cpuSlots: Int, kinds: [String]) async throws {
        try await client.query("""
            UPDATE nodes SET cpu_slots = \(cpuSlots)::int, kinds = \(PostgresTextArray(kinds))::text[]
            WHERE id = \(nodeID)
            """)
    }

    /// Whether a node of that name exists, and its donor account's name when it has one.
    public func donor(hostname: String) async throws -> (exists: Bool, donor: String?) {
        let rows = try await client.query("""
            SELECT a.name FROM nodes n LEFT JOIN accounts a ON a.id = n.donor_id WHERE n.hostname = \(hostname)
            """)
        guard let row = rows.first else { return (false, nil) }
        return (true, try row.decode("name"))
    }

    /// Replaces the donor policy of a node (a validated `PolicyDocument` as JSON).
    /// - Returns: `false` when no node has that name.
    public func setPolicy(hostname: String, policyJSON: String) async throws -> Bool {
        !(try await client.query("""
            UPDATE nodes SET policy = \(policyJSON)::jsonb WHERE hostname = \(hostname) RETURNING id
            """)).isEmpty
    }

    /// The donor takes the node back now: the scheduler preempts its jobs and places nothing new
    /// until ``release(hostname:)``. Every held job is asked to preempt in the same statement, so
    /// the request does not wait for the next scheduling pass.
    /// - Returns: the jobs asked to preempt, or `nil` when no node has that name.
    public func reclaim(hostname: String) async throws -> [Int64]? {
        let rows = try await client.query("""
            WITH n AS (
                UPDATE nodes SET reclaimed_at = coalesce(reclaimed_at, now()) WHERE hostname = \(hostname) RETURNING id
            ), j AS (
                UPDATE jobs SET preempt_requested_at = now()
                FROM n WHERE jobs.node_id = n.id AND jobs.state IN ('scheduled', 'running')
                  AND jobs.preempt_requested_at IS NULL
                RETURNING jobs.id, jobs.state, jobs.node_id, jobs.attempt
            ), ev AS (
                INSERT INTO job_events (job_id, event, from_state, to_state, node_id, attempt, detail)
                SELECT id, 'preempt-requested', state, state, node_id, attempt,
                       jsonb_build_object('reason', 'the donor reclaimed the node')
                FROM j
            )
            SELECT (SELECT count(*) FROM n) AS found, coalesce((SELECT array_agg(id ORDER BY id) FROM j), '{}') AS jobs
            """)
        guard try rows[0].decode("found", as: Int64.self) > 0 else { return nil }
        return try rows[0].decode("jobs")
    }

    /// Lends a reclaimed node again. - Returns: `false` when no node has that name.
    public func release(hostname: String) async throws -> Bool {
        !(try await client.query("""
            UPDATE nodes SET reclaimed_at = NULL WHERE hostname = \(hostname) RETURNING id
            """)).isEmpty
    }
}

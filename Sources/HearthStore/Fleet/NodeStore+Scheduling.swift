import Foundation
import HearthCore

extension NodeStore {
    /// What the node's software offers the scheduler: CPU-only jobs at once, and the job kinds
    /// its `hearth-worker` runs. Written by the node's agent at start.
    public func setCapabilities(nodeID: Int64, cpuSlots: Int, kinds: [String]) async throws {
        try await client.query("""
            SELECT hearth_node_set_capabilities(\(nodeID)::bigint, \(cpuSlots)::int, \(PostgresTextArray(kinds))::text[])
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
        try await client.query("SELECT hearth_node_set_policy(\(hostname)::text, \(policyJSON)::jsonb) AS found")[0]
            .decode("found")
    }

    /// The donor takes the node back now: the scheduler preempts its jobs and places nothing new
    /// until ``release(hostname:)``. Every held job is asked to preempt in the same statement, so
    /// the request does not wait for the next scheduling pass.
    /// - Returns: the jobs asked to preempt, or `nil` when no node has that name.
    public func reclaim(hostname: String) async throws -> [Int64]? {
        try await client.query("SELECT hearth_node_reclaim(\(hostname)::text) AS jobs")[0].decode("jobs")
    }

    /// Lends a reclaimed node again. - Returns: `false` when no node has that name.
    public func release(hostname: String) async throws -> Bool {
        try await client.query("SELECT hearth_node_release(\(hostname)::text) AS found")[0].decode("found")
    }
}

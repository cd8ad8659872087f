import HearthCore

/// Donated nodes and their GPUs.
public struct NodeStore: Sendable {
    /// One GPU of a node, as discovered or declared.
    public struct GPU: Sendable, Hashable, Codable {
        public var index: Int
        public var model: String
        public var memoryBytes: Int64
        public var uuid: String?
        /// Declared in configuration where no hardware exists; shown as simulated everywhere.
        public var simulated: Bool

        public init(index: Int, model: String, memoryBytes: Int64, uuid: String? = nil, simulated: Bool) {
            self.index = index
            self.model = model
            self.memoryBytes = memoryBytes
            self.uuid = uuid
            self.simulated = simulated
        }
    }

    public let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    /// Registers a node (or updates it when the hostname is known) with its GPUs, and marks it up.
    /// Its availability interval (``node_availability``) opens or turns in the same transaction.
    /// - Returns: the node's id.
    public func register(hostname: String, cpus: Int, memoryBytes: Int64, gpus: [GPU], donorID: Int64? = nil) async throws -> Int64 {
        try await client.withTransaction { connection in
            let rows = try await connection.query("""
                INSERT INTO nodes (hostname, cpus, memory_bytes, donor_id, state, last_heartbeat_at)
                VALUES (\(hostname), \(cpus), \(memoryBytes), \(donorID), 'up', now())
                ON CONFLICT (hostname) DO UPDATE SET cpus = EXCLUDED.cpus, memory_bytes = EXCLUDED.memory_bytes,
                    donor_id = coalesce(EXCLUDED.donor_id, nodes.donor_id),
                    state = CASE WHEN nodes.state = 'draining' THEN 'draining' ELSE 'up' END,
                    last_heartbeat_at = now()
                RETURNING id
                """)
            let id: Int64 = try rows[0].decode("id")
            try await connection.query("DELETE FROM node_gpus WHERE node_id = \(id)")
            for gpu in gpus {
                try await connection.query("""
                    INSERT INTO node_gpus (node_id, index, model, memory_bytes, uuid, simulated)
                    VALUES (\(id), \(gpu.index), \(gpu.model), \(gpu.memoryBytes), \(gpu.uuid), \(gpu.simulated))
                    """)
            }
            // Offered GPU-hours follow the GPUs the node has now (Migrations/0004_accounting.sql).
            try await connection.query("SELECT node_availability_sync_gpus(\(id)::bigint)")
            return id
        }
    }

    /// Records that the node is alive.
    public func heartbeat(nodeID: Int64) async throws {
        try await client.query("""
            UPDATE nodes SET last_heartbeat_at = now(), state = CASE WHEN state = 'down' THEN 'up' ELSE state END
            WHERE id = \(nodeID)
            """)
    }

    /// Sets a node's state by name: `draining` stops new claims (running jobs finish), `up` resumes.
    /// - Returns: the previous state, or `nil` when no node has that name.
    @discardableResult
    public func setState(hostname: String, to state: String) async throws -> String? {
        let rows = try await client.query("""
            UPDATE nodes n SET state = \(state)::text FROM (SELECT id, state FROM nodes WHERE hostname = \(hostname) FOR UPDATE) old
            WHERE n.id = old.id RETURNING old.state
            """)
        return try rows.first.map { try $0.decode("state") }
    }
}

import Foundation
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
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let gpusJSON = String(decoding: try encoder.encode(gpus), as: UTF8.self)
        let rows = try await client.query("""
            SELECT hearth_node_register(\(hostname)::text, \(cpus)::int, \(memoryBytes)::bigint, \(donorID)::bigint,
                                        \(gpusJSON)::jsonb) AS id
            """)
        return try rows[0].decode("id")
    }

    /// Records that the node is alive (`hearth_node_heartbeat`); a node marked down comes back up.
    /// - Returns: the node's state afterwards (`up` or `draining`), or `nil` when no such node exists.
    @discardableResult
    public func heartbeat(nodeID: Int64) async throws -> NodeState? {
        let rows = try await client.query("SELECT hearth_node_heartbeat(\(nodeID)::bigint) AS state")
        return try rows.first?.decode("state", as: String?.self).flatMap(NodeState.init(rawValue:))
    }

    /// The node is stopping gracefully (`hearth_node_stopping`): `up` becomes `down`, so nothing
    /// more is placed on it; a draining or reclaimed node keeps its state. Its next start registers it up.
    /// - Returns: its state now, or `nil` when no such node exists.
    @discardableResult
    public func stopping(nodeID: Int64) async throws -> NodeState? {
        let rows = try await client.query("SELECT hearth_node_stopping(\(nodeID)::bigint) AS state")
        return try rows.first?.decode("state", as: String?.self).flatMap(NodeState.init(rawValue:))
    }

    /// Drains a node (`draining`: nothing new is placed, running jobs finish) or resumes it (`up`).
    /// - Returns: the previous state, or `nil` when no node has that name.
    @discardableResult
    public func setState(hostname: String, to state: NodeState) async throws -> NodeState? {
        let rows = try await client.query("SELECT hearth_node_set_state(\(hostname)::text, \(state.rawValue)::text) AS old")
        return try rows.first?.decode("old", as: String?.self).flatMap(NodeState.init(rawValue:))
    }

    /// The leader's check: nodes that have not heartbeated for `after` are marked `down`.
    /// - Returns: their hostnames.
    public func markDown(notHeardFor after: Duration) async throws -> [String] {
        try await client.query("SELECT h FROM hearth_node_mark_down(\(after)::interval) AS h").map { try $0.decode("h") }
    }

    /// The leader's check right after rescuing lapsed leases: of the nodes that held them, those
    /// not heard from for `after` are marked `down` now (Migrations/0026), so the jobs are not
    /// placed back on them.
    /// - Returns: their hostnames.
    public func markDown(holders nodeIDs: [Int64], notHeardFor after: Duration) async throws -> [String] {
        guard !nodeIDs.isEmpty else { return [] }
        return try await client.query(
            "SELECT h FROM hearth_node_mark_down_holders(\(nodeIDs)::bigint[], \(after)::interval) AS h").map { try $0.decode("h") }
    }
}

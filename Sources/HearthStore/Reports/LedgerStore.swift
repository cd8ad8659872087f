import Foundation

/// The hash-chained ledger (Migrations/0013_node_roles.sql, Docs/accounting.md): verification
/// and each node's chain head.
public struct LedgerStore: Sendable {
    /// One node's chain, as ``verify(donor:from:until:)`` recomputed it.
    public struct NodeChain: Sendable, Hashable, Codable {
        /// The node's hostname.
        public var node: String
        /// Closed rows counted (those that ended in the period asked for, up to the first broken link).
        public var rows: Int
        /// The node's chain head: the hash of its newest closed row (64 zeros before the first).
        public var head: String
        /// The first row whose link is broken, if any.
        public var brokenAllocation: Int64?
        /// What is wrong, naming the row; `nil` when the chain is whole.
        public var problem: String?

        public init(node: String, rows: Int, head: String, brokenAllocation: Int64? = nil, problem: String? = nil) {
            self.node = node
            self.rows = rows
            self.head = head
            self.brokenAllocation = brokenAllocation
            self.problem = problem
        }
    }

    public let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    /// Recomputes every node's chain (or `donor`'s nodes'), counting rows that ended in
    /// [`from`, `until`), and reports each node's first broken link.
    public func verify(donor: String? = nil, from: Date? = nil, until: Date? = nil) async throws -> [NodeChain] {
        try await client.query("""
            SELECT r_node, r_rows, r_head, r_broken_allocation, r_problem
            FROM hearth_ledger_verify(\(donor)::text, \(from)::timestamptz, \(until)::timestamptz)
            """).map {
            NodeChain(node: try $0.decode("r_node"), rows: try $0.decode("r_rows"), head: try $0.decode("r_head"),
                      brokenAllocation: try $0.decode("r_broken_allocation"), problem: try $0.decode("r_problem"))
        }
    }

    /// The chain head of each node of `donor` (hostname → hash), for a donor's report.
    public func heads(donor: String) async throws -> [String: String] {
        let rows = try await client.query("""
            SELECT n.hostname, coalesce(h.row_hash, repeat('0', 64)) AS head
            FROM nodes n JOIN accounts a ON a.id = n.donor_id LEFT JOIN ledger_heads h ON h.node_id = n.id
            WHERE a.name = \(donor)
            """)
        var heads: [String: String] = [:]
        for row in rows { heads[try row.decode("hostname")] = try row.decode("head") }
        return heads
    }
}

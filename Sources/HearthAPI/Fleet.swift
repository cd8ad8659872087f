#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `GET /v1/ledger/verify`: every node's ledger chain, recomputed by the database.
public struct LedgerVerification: Sendable, Hashable, Codable {
    public struct Node: Sendable, Hashable, Codable {
        enum CodingKeys: String, CodingKey {
            case node, rows, head, problem
            case brokenAllocation = "broken_allocation"
        }
        public var node: String
        /// Closed rows checked (those that ended in the month asked for, if one was).
        public var rows: Int
        /// The chain head: the hash of the node's newest closed ledger row.
        public var head: String
        /// The first allocation whose link is broken, if any.
        public var brokenAllocation: Int64?
        /// What is wrong, naming the row; absent when the chain is whole.
        public var problem: String?
        public init(node: String, rows: Int, head: String, brokenAllocation: Int64?, problem: String?) {
            self.node = node
            self.rows = rows
            self.head = head
            self.brokenAllocation = brokenAllocation
            self.problem = problem
        }
    }
    public var nodes: [Node]
    public init(nodes: [Node]) { self.nodes = nodes }
}

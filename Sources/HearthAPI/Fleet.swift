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

/// `POST /v1/nodes/invites`: a one-time join token for a new node (fleet admins).
public struct InviteRequest: Sendable, Hashable, Codable {
    enum CodingKeys: String, CodingKey {
        case hostname, donor
        case validSeconds = "valid_seconds"
    }
    /// The only node name the token enrolls, or absent for any.
    public var hostname: String?
    /// The account that lends the node.
    public var donor: String?
    /// How long the token is valid; default one hour, at most 30 days.
    public var validSeconds: Int?
    public init(hostname: String? = nil, donor: String? = nil, validSeconds: Int? = nil) {
        self.hostname = hostname
        self.donor = donor
        self.validSeconds = validSeconds
    }
}

public struct InviteResponse: Sendable, Hashable, Codable {
    enum CodingKeys: String, CodingKey {
        case token, hostname
        case expiresAt = "expires_at"
    }
    public var token: String
    public var hostname: String?
    public var expiresAt: Date
    public init(token: String, hostname: String?, expiresAt: Date) {
        self.token = token
        self.hostname = hostname
        self.expiresAt = expiresAt
    }
}

/// `POST /v1/nodes/{name}/revoke`: the node's login is cut off and its jobs requeued.
public struct RevokeNodeResponse: Sendable, Hashable, Codable {
    public var node: String
    public var requeued: [Int64]
    public init(node: String, requeued: [Int64]) {
        self.node = node
        self.requeued = requeued
    }
}

/// `POST /v1/admins`: mark an account a fleet admin, or unmark it.
public struct AdminRequest: Sendable, Hashable, Codable {
    public var account: String
    public var admin: Bool
    public init(account: String, admin: Bool) {
        self.account = account
        self.admin = admin
    }
}

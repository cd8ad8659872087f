import Foundation

/// Node logins (Migrations/0013_node_roles.sql): every node connects as a PostgreSQL role of its
/// own, a member of `hearth_node`, that may only call the allowlisted functions, bound to itself.
public struct NodeLogins: Sendable {
    /// The group role every node's login belongs to.
    public static let group = "hearth_node"

    public let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    /// Whether this pool's session role is a node's login (a member of ``group``), as opposed to
    /// the owner or another trusted role. `false` on a database that has no `hearth_node` yet.
    public func sessionIsNode() async throws -> Bool {
        try await client.query("""
            SELECT EXISTS (
                SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                WHERE g.rolname = \(Self.group) AND m.member = (SELECT oid FROM pg_roles WHERE rolname = session_user)
            ) AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) AS node
            """)[0].decode("node")
    }

    /// Makes (or, with `reuse`, finds) the login role of node `hostname` and returns its name.
    /// Needs the owner's pool. - Parameter passwordVerifier: a SCRAM verifier, or `nil` for none.
    public func create(hostname: String, passwordVerifier: String?, by: String, donorID: Int64? = nil, reuse: Bool) async throws -> String {
        try await client.query("""
            SELECT hearth_node_login_create(\(hostname)::text, \(passwordVerifier)::text, \(by)::text, \(donorID)::bigint,
                                            \(reuse)::boolean) AS role
            """)[0].decode("role")
    }
}

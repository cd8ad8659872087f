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

    /// A one-time join token for a new node (`hearth node invite`); the owner's pool.
    /// - Parameters:
    ///   - hostname: the only node name the token enrolls, or `nil` for any.
    ///   - donor: the account lending the node, created as a donor if new.
    ///   - validFor: how long the token stays valid (up to 30 days).
    public func invite(by admin: String, hostname: String?, donor: String?, validFor: Duration) async throws -> (token: String, expiresAt: Date) {
        let row = try await client.query("""
            SELECT r_token, r_expires_at FROM hearth_invite_create(\(admin)::text, \(hostname)::text, \(donor)::text,
                                                                  \(validFor)::interval)
            """)[0]
        return (try row.decode("r_token"), try row.decode("r_expires_at"))
    }

    /// Spends `token` on `connection` (logged in as `hearth_enroll`): makes node `hostname`'s
    /// login with `password`'s SCRAM verifier, computed here. Returns the login role's name.
    public static func enroll(token: String, hostname: String, password: String, on connection: PostgresConnection) async throws -> String {
        let verifier = try connection.scramVerifier(password: password, user: hostname)
        return try await connection.query("""
            SELECT hearth_enroll(\(token)::text, \(hostname)::text, \(verifier)::text) AS role
            """)[0].decode("role")
    }

    /// Cuts node `hostname` off: its login can no longer log in, its sessions end, its jobs are
    /// requeued. The owner's pool. - Returns: the jobs requeued, or `nil` when no live login has that name.
    public func revoke(hostname: String, by admin: String) async throws -> [Int64]? {
        try await client.query("SELECT hearth_node_revoke(\(hostname)::text, \(admin)::text) AS jobs")[0].decode("jobs")
    }
}

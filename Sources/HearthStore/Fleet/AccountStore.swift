import HearthCore

/// Accounts: Unix users known from the control socket's peer credentials.
public struct AccountStore: Sendable {
    /// Who an account is to Hearth.
    public enum Role: String, Sendable, Hashable, Codable, CaseIterable {
        case volunteer, admin, donor
    }

    public let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    /// The account's id, creating it (as `role`) on first use. An existing account keeps its role.
    /// - Throws: ``PostgresError`` with SQLSTATE `23514` when the name is not a valid Unix user name.
    public func ensure(name: String, uid: Int? = nil, role: Role = .volunteer) async throws -> Int64 {
        let rows = try await client.query(
            "SELECT hearth_account_ensure(\(name)::text, \(uid)::int, \(role.rawValue)::text) AS id")
        return try rows[0].decode("id")
    }

    /// Changes an account's role (admins only; the caller checks).
    public func setRole(name: String, role: Role) async throws {
        try await client.query("UPDATE accounts SET role = \(role.rawValue) WHERE name = \(name)")
    }
}

extension AccountStore {
    /// The stored role of an account (`volunteer` if unknown).
    public func role(of accountID: Int64) async throws -> Role {
        let rows = try await client.query("SELECT role FROM accounts WHERE id = \(accountID)")
        return try rows.first.flatMap { Role(rawValue: try $0.decode("role")) } ?? .volunteer
    }
}

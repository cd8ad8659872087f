import Foundation

/// `GET /v1/grants`, `POST /v1/grants`: a privilege an admin granted to an account or to a
/// project (each of its members). Privileges: `qos-high`, `qos-serving`, `non-preemptible`.
public struct GrantView: Sendable, Hashable, Codable {
    public var id: Int64
    /// The account granted; `nil` for a project grant.
    public var account: String?
    /// The project granted; `nil` for an account grant.
    public var project: String?
    public var privilege: String
    /// The admin who granted it.
    public var grantedBy: String
    public var grantedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, account, project, privilege
        case grantedBy = "granted_by", grantedAt = "granted_at"
    }

    public init(id: Int64, account: String?, project: String?, privilege: String, grantedBy: String, grantedAt: Date) {
        self.id = id; self.account = account; self.project = project; self.privilege = privilege
        self.grantedBy = grantedBy; self.grantedAt = grantedAt
    }
}

/// `POST /v1/grants`: grant `privilege` to exactly one of `account` and `project`.
public struct GrantRequest: Sendable, Hashable, Codable {
    public var account: String?
    public var project: String?
    public var privilege: String

    public static let fieldNames: Set<String> = ["account", "project", "privilege"]

    public init(account: String? = nil, project: String? = nil, privilege: String) {
        self.account = account; self.project = project; self.privilege = privilege
    }
}

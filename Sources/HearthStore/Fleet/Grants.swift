import Foundation
import HearthCore

/// What an admin has granted beyond the defaults (migration 0008), and the facts access checks
/// need: who owns a job, and who belongs to which project. The callers decide; this only reads
/// and writes the rows (Docs/security.md says who may do what).
public struct GrantStore: Sendable {
    /// What a grant allows. Everyone may use QOS `low` and `normal` and preemptible jobs.
    public enum Privilege: String, Sendable, Hashable, Codable, CaseIterable {
        case qosHigh = "qos-high", qosServing = "qos-serving", nonPreemptible = "non-preemptible"

        /// The privilege that allows submitting at `qos`; `nil` when every account may.
        public static func forQOS(_ qos: QOS) -> Privilege? {
            switch qos {
            case .high: .qosHigh
            case .serving: .qosServing
            case .low, .normal: nil
            }
        }
    }

    /// One row of `grants`, with names instead of ids.
    public struct Grant: Sendable, Hashable {
        public var id: Int64
        /// The account granted, or `nil` for a project grant.
        public var account: String?
        /// The project granted (to each of its members), or `nil` for an account grant.
        public var project: String?
        public var privilege: Privilege
        public var grantedBy: String
        public var grantedAt: Date
    }

    /// A grant that cannot be made: the project named does not exist.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Who a job belongs to, as access checks need it.
    public struct JobOwnership: Sendable, Hashable {
        public var jobID: Int64
        public var accountID: Int64
        public var account: String
        public var projectID: Int64?
        public var project: String?
    }

    public let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    /// Grants `privilege` to the account `account` (created as a volunteer if it has never called
    /// the daemon) or to the project `project`, recorded as granted by `grantedBy`. Granting what
    /// is already granted returns the existing grant unchanged.
    /// - Throws: ``Refusal`` when the project does not exist.
    public func grant(_ privilege: Privilege, account: String?, project: String?, grantedBy: Int64) async throws -> Grant {
        precondition((account == nil) != (project == nil), "a grant names one account or one project")
        var projectID: Int64?
        var accountID: Int64?
        if let project {
            let rows = try await client.query("SELECT id FROM projects WHERE name = \(project)")
            guard let row = rows.first else {
                throw Refusal(message: "no project named \"\(project)\"; grants go to an existing project or to an account (--account NAME)")
            }
            projectID = try row.decode("id")
        }
        if let account { accountID = try await AccountStore(client: client).ensure(name: account) }
        let rows = try await client.query("""
            WITH ins AS (
                INSERT INTO grants (account_id, project_id, privilege, granted_by)
                VALUES (\(accountID)::bigint, \(projectID)::bigint, \(privilege.rawValue)::text, \(grantedBy)::bigint)
                ON CONFLICT DO NOTHING
                RETURNING id
            )
            SELECT id FROM ins
            UNION ALL
            SELECT id FROM grants
            WHERE privilege = \(privilege.rawValue)::text
              AND account_id IS NOT DISTINCT FROM \(accountID)::bigint AND project_id IS NOT DISTINCT FROM \(projectID)::bigint
            LIMIT 1
            """)
        let id: Int64 = try rows[0].decode("id")
        guard let made = try await grants().first(where: { $0.id == id }) else {
            throw Refusal(message: "the grant was revoked while it was being made; grant it again")
        }
        return made
    }

    /// Deletes grant `id`; `nil` when there is no such grant, else what it was.
    public func revoke(id: Int64) async throws -> Grant? {
        guard let grant = try await grants().first(where: { $0.id == id }) else { return nil }
        try await client.query("DELETE FROM grants WHERE id = \(id)")
        return grant
    }

    /// Every grant, or those that apply to `accountID` (its own and its projects'), oldest first.
    public func grants(applyingTo accountID: Int64? = nil) async throws -> [Grant] {
        try await client.query("""
            SELECT g.id, a.name AS account, p.name AS project, g.privilege, b.name AS granted_by, g.granted_at
            FROM grants g
            LEFT JOIN accounts a ON a.id = g.account_id
            LEFT JOIN projects p ON p.id = g.project_id
            JOIN accounts b ON b.id = g.granted_by
            WHERE \(accountID)::bigint IS NULL OR g.account_id = \(accountID)::bigint
               OR g.project_id IN (SELECT project_id FROM project_members WHERE account_id = \(accountID)::bigint)
            ORDER BY g.id
            """).map { row in
            let privilege: String = try row.decode("privilege")
            return Grant(id: try row.decode("id"), account: try row.decode("account"), project: try row.decode("project"),
                         privilege: Privilege(rawValue: privilege) ?? .qosHigh, grantedBy: try row.decode("granted_by"),
                         grantedAt: try row.decode("granted_at"))
        }
    }

    /// The privileges `accountID` holds: its own grants and those of every project it belongs to.
    public func privileges(of accountID: Int64) async throws -> Set<Privilege> {
        Set(try await grants(applyingTo: accountID).map(\.privilege))
    }

    /// Who owns job `id`, or `nil` when there is no such job.
    public func ownership(ofJob id: Int64) async throws -> JobOwnership? {
        try await client.query("""
            SELECT j.id, j.account_id, a.name AS account, j.project_id, p.name AS project
            FROM jobs j JOIN accounts a ON a.id = j.account_id LEFT JOIN projects p ON p.id = j.project_id
            WHERE j.id = \(id)
            """).first.map { row in
            JobOwnership(jobID: try row.decode("id"), accountID: try row.decode("account_id"), account: try row.decode("account"),
                         projectID: try row.decode("project_id"), project: try row.decode("project"))
        }
    }

    /// Whether `accountID` may act on a job of `owner` as its owner would: it is the owner, or a
    /// member of the job's project. (Admins are the caller's to check: the admin group lives in
    /// the node's Unix groups, not here.)
    public func sharesJob(_ owner: JobOwnership, with accountID: Int64) async throws -> Bool {
        if owner.accountID == accountID { return true }
        guard let project = owner.projectID else { return false }
        return try await isMember(accountID: accountID, ofProject: project)
    }

    /// Whether `accountID` belongs to project `projectID`.
    public func isMember(accountID: Int64, ofProject projectID: Int64) async throws -> Bool {
        let rows = try await client.query("""
            SELECT 1 AS member FROM project_members WHERE project_id = \(projectID) AND account_id = \(accountID)
            """)
        return !rows.isEmpty
    }

    /// Whether the account's stored role is `admin` or it is `root` (for checks made where no
    /// caller is present, such as a job's references resolved as it starts).
    public func isStoredAdmin(accountID: Int64) async throws -> Bool {
        let rows = try await client.query("""
            SELECT 1 AS admin FROM accounts WHERE id = \(accountID) AND (role = 'admin' OR name = 'root')
            """)
        return !rows.isEmpty
    }
}

extension AccountStore {
    /// The id of the account named `name`, or `nil` when it has never been seen.
    public func id(named name: String) async throws -> Int64? {
        try await client.query("SELECT id FROM accounts WHERE name = \(name)").first.map { try $0.decode("id") }
    }
}

import Foundation
import HearthCore

extension ReportStore {
    /// The inputs of fair share as the scheduler sees them: ledger rows recent enough to weigh,
    /// and the share tree.
    public struct FairShareInputs: Sendable {
        /// (account, project, GPUs, start, end) per ledger row; project 0 for jobs without one.
        public var intervals: [(accountID: Int64, projectID: Int64, gpus: Int, start: Date, end: Date?)]
        public var projectShares: [Int64: Int]
        /// (project, account) → the account's shares within the project.
        public var memberShares: [(projectID: Int64, accountID: Int64, shares: Int)]
        public var projectNames: [Int64: String]
        public var accountNames: [Int64: String]
        /// The database's clock when read.
        public var now: Date
    }

    /// Reads what fair share needs. Rows that ended more than 40 half-lives ago weigh less than
    /// 2⁻⁴⁰ of their GPU-seconds and are left out.
    public func fairShareInputs(halfLife: TimeInterval) async throws -> FairShareInputs {
        let horizon = max(halfLife, 1) * 40
        let now: Date = try await client.query("SELECT now() AS now")[0].decode("now")
        let ledger = try await client.query("""
            SELECT j.account_id, coalesce(j.project_id, 0) AS project_id, a.gpus, a.started_at, a.ended_at
            FROM allocations a JOIN jobs j ON j.id = a.job_id
            WHERE a.ended_at IS NULL OR a.ended_at > now() - make_interval(secs => \(horizon)::float8)
            """)
        let projects = try await client.query("SELECT id, name, shares FROM projects")
        let members = try await client.query("SELECT project_id, account_id, shares FROM project_members")
        let accounts = try await client.query("SELECT id, name FROM accounts")
        var inputs = FairShareInputs(
            intervals: [], projectShares: [:], memberShares: [], projectNames: [:], accountNames: [:], now: now)
        for row in ledger {
            inputs.intervals.append((
                try row.decode("account_id"), try row.decode("project_id"), try row.decode("gpus"),
                try row.decode("started_at"), try row.decode("ended_at")))
        }
        for row in projects {
            let id: Int64 = try row.decode("id")
            inputs.projectShares[id] = try row.decode("shares")
            inputs.projectNames[id] = try row.decode("name")
        }
        for row in members {
            inputs.memberShares.append((try row.decode("project_id"), try row.decode("account_id"), try row.decode("shares")))
        }
        for row in accounts { inputs.accountNames[try row.decode("id")] = try row.decode("name") }
        return inputs
    }
}

import Foundation
import HearthCore

/// Usage reports read from the ledger (`allocations`) and node availability intervals.
///
/// Each report is two statements: ledger rows overlapping the range, clipped to it and split by
/// period in the report's time zone; and the nodes' availability intervals, split the same way.
/// Both find their rows through GiST indexes on (node, time range), so a month of one donor's
/// nodes costs the rows of that month only, however long the ledger (Docs/accounting.md).
public struct ReportStore: Sendable {
    /// What to report on.
    public struct Request: Sendable, Hashable {
        public var scope: UsageReport.Scope
        /// The donor, project or account name (ignored for the fleet).
        public var subject: String?
        public var from: Date
        public var to: Date
        /// Defaults to `.day`.
        public var period: UsageReport.Period
        /// An IANA time zone name. Defaults to `UTC`.
        public var timeZone: String

        public init(
            scope: UsageReport.Scope, subject: String? = nil, from: Date, to: Date, period: UsageReport.Period = .day,
            timeZone: String = "UTC"
        ) {
            self.scope = scope
            self.subject = subject
            self.from = from
            self.to = to
            self.period = period
            self.timeZone = timeZone
        }
    }

    public let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    /// Builds a report.
    /// - Throws: ``ReportError`` `notFound` (unknown subject) or `invalid` (range or time zone).
    public func report(_ request: Request) async throws -> UsageReport {
        guard request.from < request.to else {
            throw ReportError(.invalid, "the range is empty: --from must be before --to")
        }
        let subjectID = try await resolve(request)
        let generatedAt: Date = try await client.query("SELECT now() AS now")[0].decode("now")
        do {
            let (usage, totals) = try await usageRows(request, subjectID: subjectID)
            let availability = request.scope == .donor || request.scope == .fleet
                ? try await availabilityRows(request, subjectID: subjectID) : []
            var t = totals
            if request.scope == .donor || request.scope == .fleet {
                t.offeredGPUSeconds = availability.reduce(0) { $0 + $1.offeredGPUSeconds }
            }
            return UsageReport(
                scope: request.scope, subject: request.scope == .fleet ? nil : request.subject, from: request.from,
                to: min(request.to, max(generatedAt, request.from)), period: request.period, timeZone: request.timeZone,
                generatedAt: generatedAt, usage: usage, availability: availability, totals: t)
        } catch let error as PostgresError where error.sqlState == "22023" {
            throw ReportError(.invalid, "unknown time zone \"\(request.timeZone)\"; use an IANA name such as UTC or Europe/Berlin")
        }
    }

    /// The id of the donor, project or account named, or 0 for the fleet.
    func resolve(_ request: Request) async throws -> Int64 {
        guard request.scope != .fleet else { return 0 }
        guard let name = request.subject, !name.isEmpty else {
            throw ReportError(.invalid, "a \(request.scope.rawValue) report needs a \(request.scope.rawValue) name")
        }
        let rows = request.scope == .project
            ? try await client.query("SELECT id FROM projects WHERE name = \(name)")
            : try await client.query("SELECT id FROM accounts WHERE name = \(name)")
        guard let row = rows.first else {
            throw ReportError(.notFound, "no \(request.scope == .project ? "project" : "account") named \"\(name)\"")
        }
        return try row.decode("id")
    }

    /// The column a scope filters on (compared with the subject's id); the fleet's compares 0 = 0.
    static func scopeColumn(_ scope: UsageReport.Scope) -> SQLFragment {
        switch scope {
        case .donor: return "n.donor_id"
        case .project: return "j.project_id"
        case .account: return "j.account_id"
        case .fleet: return "0::bigint"
        }
    }
}

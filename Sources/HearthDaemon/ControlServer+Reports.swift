import Foundation
import HearthAPI
import HearthCore
import HearthReports
import HearthScheduler
import HearthStore
import Hummingbird

/// Reports and usage (`/v1/reports/...`, `/v1/usage`). Who may read what: donors their own
/// nodes, volunteers themselves and the projects they belong to, admins everything.
extension ControlServer {
    /// A report of one scope, after checking that the caller may read it.
    func usageReport(_ request: Request, scope: UsageReport.Scope, subject: String?, who: Identity) async throws -> UsageReport {
        try await authorize(scope: scope, subject: subject, who: who)
        var report = try await makeReport(request, scope: scope, subject: subject)
        if scope == .donor, let donor = subject {
            report.ledgerHeads = try await LedgerStore(client: queue.client).heads(donor: donor)
        }
        return report
    }

    /// `GET /v1/ledger/verify?donor=&month=`: every node's ledger chain recomputed (a donor's
    /// nodes with `donor`), each with its first broken link. Fleet admins, and donors for their own nodes.
    func verifyLedger(_ request: Request, who: Identity) async throws -> LedgerVerification {
        let q = request.uri.queryParameters
        let donor = q["donor"].map(String.init)
        if donor == nil {
            try await authorize(scope: .fleet, subject: nil, who: who)
        } else {
            try await authorize(scope: .donor, subject: donor, who: who)
        }
        var from: Date?, until: Date?
        if let month = q["month"].map(String.init) {
            do {
                let range = try ReportRange(from: nil, to: nil, month: month, timeZone: "UTC", now: Date())
                (from, until) = (range.from, range.to)
            } catch let invalid as ReportRange.Invalid {
                throw APIFailure.badRequest(invalid.message)
            }
        }
        let chains = try await LedgerStore(client: queue.client).verify(donor: donor, from: from, until: until)
        return LedgerVerification(nodes: chains.map {
            .init(node: $0.node, rows: $0.rows, head: $0.head, brokenAllocation: $0.brokenAllocation, problem: $0.problem)
        })
    }

    /// `GET /v1/usage`: the caller's (or, for admins, `?account=`'s) usage and fair-share standing.
    func accountUsage(_ request: Request, who: Identity) async throws -> AccountUsage {
        let name = request.uri.queryParameters["account"].map(String.init) ?? who.account
        try await authorize(scope: .account, subject: name, who: who)
        let report = try await makeReport(request, scope: .account, subject: name)
        let halfLife = SchedulerPolicy.default.usageHalfLife
        let inputs = try await ReportStore(client: queue.client).fairShareInputs(halfLife: halfLife)
        let ledger = inputs.intervals.map {
            LedgerInterval(accountID: $0.accountID, projectID: $0.projectID, gpus: $0.gpus, start: $0.start, end: $0.end)
        }
        var shares = ShareTree(projectShares: inputs.projectShares.mapValues(Double.init))
        for m in inputs.memberShares {
            shares.accountShares[Association(projectID: m.projectID, accountID: m.accountID)] = Double(m.shares)
        }
        let usage = UsageSnapshot(ledger: ledger, now: inputs.now, halfLife: halfLife)
        // The scheduler's own computation, so `hearth usage` and scheduling agree.
        let details = Scheduler(policy: .default).fairShare(in: Snapshot(pending: [], nodes: [], usage: usage, shares: shares))
        let accountID = inputs.accountNames.first { $0.value == name }?.key
        let standings = details.filter { $0.key.accountID == accountID }.map { assoc, d in
            AccountUsage.Standing(
                project: inputs.projectNames[assoc.projectID], normalizedShares: d.normalizedShares,
                decayedGPUHours: (usage.usage[assoc] ?? 0) / 3600, normalizedUsage: d.normalizedUsage,
                effectiveUsage: d.effectiveUsage, fairShareFactor: d.factor)
        }.sorted { ($0.project ?? "") < ($1.project ?? "") }
        return AccountUsage(account: name, halfLifeSeconds: halfLife, report: report, standings: standings)
    }

    private func makeReport(_ request: Request, scope: UsageReport.Scope, subject: String?) async throws -> UsageReport {
        let q = request.uri.queryParameters
        let zone = q["tz"].map(String.init) ?? "UTC"
        let period: UsageReport.Period
        if let p = q["period"] {
            guard let known = UsageReport.Period(rawValue: String(p)) else {
                throw APIFailure.badRequest("unknown period \"\(p)\"; use day, week or month")
            }
            period = known
        } else {
            period = .day
        }
        do {
            let range = try ReportRange(
                from: q["from"].map(String.init), to: q["to"].map(String.init), month: q["month"].map(String.init),
                timeZone: zone, now: Date())
            return try await ReportStore(client: queue.client).report(.init(
                scope: scope, subject: subject, from: range.from, to: range.to, period: period, timeZone: zone))
        } catch let invalid as ReportRange.Invalid {
            throw APIFailure.badRequest(invalid.message)
        } catch let error as ReportError {
            throw error.code == .notFound ? APIFailure.notFound(error.message) : APIFailure.badRequest(error.message)
        }
    }

    private func authorize(scope: UsageReport.Scope, subject: String?, who: Identity) async throws {
        if who.isAdmin { return }
        switch scope {
        case .fleet:
            throw APIFailure.forbidden("only fleet admins can read the fleet report\(who.nodeAdmin ? " (\(notFleetAdmin(who)))" : ""); hearth report --donor or --project shows your part")
        case .donor:
            guard subject == who.account else {
                throw APIFailure.forbidden(
                    "donors can read only their own nodes' reports; \(who.account) cannot read \(subject ?? "?")'s (admins can)")
            }
        case .account:
            guard subject == who.account else {
                throw APIFailure.forbidden("volunteers can read only their own usage; \(who.account) cannot read \(subject ?? "?")'s")
            }
        case .project:
            let rows = try await queue.client.query("""
                SELECT 1 AS member FROM project_members m JOIN projects p ON p.id = m.project_id
                WHERE p.name = \(subject ?? "") AND m.account_id = \(who.accountID)
                """)
            guard !rows.isEmpty else {
                throw APIFailure.forbidden(
                    "\(who.account) is not a member of project \(subject ?? "?"); only its members and admins can read its report")
            }
        }
    }
}

import Foundation
import HearthCore

extension ReportStore {
    /// Ledger rows overlapping the range, clipped to it, split by period, grouped by period ×
    /// node × account × project, plus a grand-total row (GROUPING SETS) whose distinct counts
    /// are over the whole range.
    ///
    /// A row counts in a range when it overlaps it for a positive time, or when it has no length
    /// and starts inside it. CPU seconds and energy are prorated by the clipped share of the row.
    func usageRows(_ request: Request, subjectID: Int64) async throws -> ([UsageRow], UsageTotals) {
        try decodeUsage(try await client.query(usageQuery(request, subjectID: subjectID, prefix: "")))
    }

    /// `EXPLAIN (ANALYZE, BUFFERS)` of the usage statement a report runs (for the benchmark record).
    public func explainUsage(_ request: Request) async throws -> String {
        let subjectID = try await resolve(request)
        let rows = try await client.query(usageQuery(request, subjectID: subjectID, prefix: "EXPLAIN (ANALYZE, BUFFERS)"))
        return try rows.map { try $0.decode("QUERY PLAN", as: String.self) }.joined(separator: "\n")
    }

    private func usageQuery(_ request: Request, subjectID: Int64, prefix: SQLFragment) -> PostgresQuery {
        """
            \(sql: prefix) WITH r AS (
                SELECT \(request.from)::timestamptz AS lo,
                       greatest(\(request.from)::timestamptz, least(\(request.to)::timestamptz, now())) AS hi,
                       \(request.timeZone)::text AS tz, ('1 ' || \(request.period.rawValue)::text)::interval AS step,
                       \(request.period.rawValue)::text AS unit
            ), a AS (
                SELECT a.id, a.job_id, a.node_id, a.gpus, j.account_id, j.project_id, a.end_reason,
                       a.cpu_seconds, a.energy_joules, a.energy_source,
                       greatest(a.started_at, r.lo) AS s, least(coalesce(a.ended_at, now()), r.hi) AS e,
                       extract(epoch FROM coalesce(a.ended_at, now()) - a.started_at) AS full_s
                FROM r, nodes n
                JOIN allocations a ON a.node_id = n.id
                JOIN jobs j ON j.id = a.job_id
                WHERE \(sql: Self.scopeColumn(request.scope)) = \(subjectID)::bigint
                  AND tstzrange(a.started_at, a.ended_at, '[]') && tstzrange(r.lo, r.hi, '[)')
                  AND (coalesce(a.ended_at, 'infinity') > r.lo OR a.started_at >= r.lo)
            ), p AS (
                SELECT a.*, lp,
                       extract(epoch FROM least(a.e, (lp + r.step) AT TIME ZONE r.tz)
                                          - greatest(a.s, lp AT TIME ZONE r.tz)) AS secs
                FROM a, r, generate_series(date_trunc(r.unit, a.s AT TIME ZONE r.tz), a.e AT TIME ZONE r.tz, r.step) lp
                -- The first period always (zero-length rows), later ones only for a positive overlap.
                WHERE lp = date_trunc(r.unit, a.s AT TIME ZONE r.tz) OR (lp AT TIME ZONE r.tz) < a.e
            ), g AS (
                SELECT GROUPING(lp, node_id, account_id, project_id) <> 0 AS total, lp, node_id, account_id, project_id,
                       count(DISTINCT id) AS allocations, count(DISTINCT job_id) AS jobs,
                       count(DISTINCT account_id) AS accounts, count(DISTINCT project_id) AS projects,
                       sum(gpus * secs)::float8 AS gpu_s,
                       sum(cpu_seconds * CASE WHEN full_s > 0 THEN secs / full_s ELSE 1 END)::float8 AS cpu_s,
                       sum(energy_joules * CASE WHEN full_s > 0 THEN secs / full_s ELSE 1 END)
                           FILTER (WHERE energy_source = 'measured')::float8 AS energy_j,
                       sum(energy_joules * CASE WHEN full_s > 0 THEN secs / full_s ELSE 1 END)
                           FILTER (WHERE energy_source = 'estimated')::float8 AS estimated_j,
                       count(DISTINCT id) FILTER (WHERE end_reason = 'succeeded') AS r_succeeded,
                       count(DISTINCT id) FILTER (WHERE end_reason = 'failed') AS r_failed,
                       count(DISTINCT id) FILTER (WHERE end_reason = 'cancelled') AS r_cancelled,
                       count(DISTINCT id) FILTER (WHERE end_reason = 'preempted') AS r_preempted,
                       count(DISTINCT id) FILTER (WHERE end_reason = 'lost') AS r_lost,
                       count(DISTINCT id) FILTER (WHERE end_reason IS NULL) AS r_open
                FROM p
                GROUP BY GROUPING SETS ((lp, node_id, account_id, project_id), ())
            )
            SELECT g.*, (g.lp AT TIME ZONE r.tz) AS period_start, n.hostname, ac.name AS account, pr.name AS project
            FROM g CROSS JOIN r
            LEFT JOIN nodes n ON n.id = g.node_id
            LEFT JOIN accounts ac ON ac.id = g.account_id
            LEFT JOIN projects pr ON pr.id = g.project_id
            ORDER BY g.total, g.lp, n.hostname, ac.name, pr.name
            """
    }

    private func decodeUsage(_ rows: PostgresRows) throws -> ([UsageRow], UsageTotals) {
        var usage: [UsageRow] = []
        var totals = UsageTotals(allocations: 0, jobs: 0, accounts: 0, projects: 0, gpuSeconds: 0)
        for row in rows {
            if try row.decode("total", as: Bool.self) {
                var reasons: [String: Int] = [:]
                for reason in ["succeeded", "failed", "cancelled", "preempted", "lost", "open"] {
                    let n: Int = try row.decode("r_\(reason)")
                    if n > 0 { reasons[reason] = n }
                }
                totals = UsageTotals(
                    allocations: try row.decode("allocations"), jobs: try row.decode("jobs"),
                    accounts: try row.decode("accounts"), projects: try row.decode("projects"),
                    gpuSeconds: try row.decode("gpu_s", as: Double?.self) ?? 0, cpuSeconds: try row.decode("cpu_s"),
                    energyJoules: try row.decode("energy_j"), estimatedEnergyJoules: try row.decode("estimated_j"),
                    endReasons: reasons)
            } else {
                usage.append(UsageRow(
                    periodStart: try row.decode("period_start"), node: try row.decode("hostname"),
                    account: try row.decode("account"), project: try row.decode("project"),
                    allocations: try row.decode("allocations"), jobs: try row.decode("jobs"),
                    gpuSeconds: try row.decode("gpu_s"), cpuSeconds: try row.decode("cpu_s"),
                    energyJoules: try row.decode("energy_j"), estimatedEnergyJoules: try row.decode("estimated_j")))
            }
        }
        return (usage, totals)
    }

    /// Availability intervals of the scope's nodes, clipped to the range and split by period.
    func availabilityRows(_ request: Request, subjectID: Int64) async throws -> [NodeAvailabilityRow] {
        let rows = try await client.query("""
            WITH r AS (
                SELECT \(request.from)::timestamptz AS lo,
                       greatest(\(request.from)::timestamptz, least(\(request.to)::timestamptz, now())) AS hi,
                       \(request.timeZone)::text AS tz, ('1 ' || \(request.period.rawValue)::text)::interval AS step,
                       \(request.period.rawValue)::text AS unit
            ), v AS (
                SELECT v.node_id, v.state, v.gpus,
                       greatest(v.started_at, r.lo) AS s, least(coalesce(v.ended_at, now()), r.hi) AS e
                FROM r, nodes n
                JOIN node_availability v ON v.node_id = n.id
                WHERE \(sql: Self.scopeColumn(request.scope)) = \(subjectID)::bigint
                  AND tstzrange(v.started_at, v.ended_at, '[]') && tstzrange(r.lo, r.hi, '[)')
            ), p AS (
                SELECT v.*, lp,
                       extract(epoch FROM least(v.e, (lp + r.step) AT TIME ZONE r.tz)
                                          - greatest(v.s, lp AT TIME ZONE r.tz))::float8 AS secs
                FROM v, r, generate_series(date_trunc(r.unit, v.s AT TIME ZONE r.tz), v.e AT TIME ZONE r.tz, r.step) lp
            )
            SELECT (p.lp AT TIME ZONE r.tz) AS period_start, n.hostname,
                   coalesce(sum(secs) FILTER (WHERE p.state = 'up'), 0)::float8 AS up_s,
                   coalesce(sum(secs) FILTER (WHERE p.state = 'draining'), 0)::float8 AS draining_s,
                   coalesce(sum(secs) FILTER (WHERE p.state = 'down'), 0)::float8 AS down_s,
                   coalesce(sum(p.gpus * secs) FILTER (WHERE p.state IN ('up', 'draining')), 0)::float8 AS offered_s
            FROM p CROSS JOIN r JOIN nodes n ON n.id = p.node_id
            WHERE secs > 0
            GROUP BY p.lp, r.tz, n.hostname
            ORDER BY p.lp, n.hostname
            """)
        return try rows.map { row in
            NodeAvailabilityRow(
                periodStart: try row.decode("period_start"), node: try row.decode("hostname"),
                upSeconds: try row.decode("up_s"), drainingSeconds: try row.decode("draining_s"),
                downSeconds: try row.decode("down_s"), offeredGPUSeconds: try row.decode("offered_s"))
        }
    }
}

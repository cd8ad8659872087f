import Foundation
import HearthAPI
import HearthStore

/// `GET /v1/jobs`: one indexed query that returns the page already encoded as the API's JSON, so
/// listing 1,000 jobs costs one round trip and no per-row work in the daemon.
extension APIQueries {
    /// Filters and paging of `GET /v1/jobs`.
    struct JobFilter: Sendable {
        var account: String?
        var states: [String] = []
        var node: String?
        /// Only jobs with this exact name.
        var name: String?
        /// Include finished jobs (default: only queued, scheduled and running).
        var all = false
        /// Only this array's elements.
        var array: Int64?
        /// One row per array for its queued elements (`12_[3-999]`), as `squeue` shows arrays.
        var groupArrays = false
        /// Rows per page.
        var limit = APIQueries.defaultListLimit
        /// Only rows after this one (the previous page's `next`).
        var after: ListCursor?
    }

    /// A page's rows when the caller names no limit: enough for any terminal, bounded for the daemon.
    static let defaultListLimit = 1000
    /// The most rows one page may ask for.
    static let maxListLimit = 100_000

    /// Where a listing page ended: the last row's sort key (job id, or an array's id for its
    /// grouped row, which sorts before the array's other rows).
    struct ListCursor: Sendable, Hashable {
        var id: Int64
        var individual: Bool

        init(id: Int64, individual: Bool) {
            self.id = id
            self.individual = individual
        }

        /// `ID` (after that job) or `ID.g` (after array ID's grouped row); `nil` for anything else.
        init?(_ text: String) {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard let id = Int64(parts[0]), id >= 0, parts.count == 1 || (parts.count == 2 && parts[1] == "g") else { return nil }
            self.init(id: id, individual: parts.count == 1)
        }

        var text: String { individual ? "\(id)" : "\(id).g" }
    }

    /// A page of the listing: its text (JSON or table) and, when more rows follow, the cursor of the next page.
    struct JobPage: Sendable {
        var json: String
        var count: Int
        var next: ListCursor?
        /// No job on the page is scheduled or running, or queued again after running: nothing it
        /// shows moves with time or without a notification (``ListingCache``).
        var stable = false
    }

    /// A page of the listing: the API's JSON array, or with `table` the rows `hearth queue` prints
    /// (squeue's fixed columns, one line each, no header), so the CLI copies them to its output.
    func jobPage(_ filter: JobFilter, table: Bool = false) async throws -> JobPage {
        // Conditions are spliced as fixed SQL (values stay bound, in `p`), so that even a reused
        // generic plan sees which filters apply and the partial indexes' own predicates.
        let stateCondition: SQLFragment = filter.states.isEmpty && !filter.all
            ? "j.state IN ('queued', 'scheduled', 'running')"
            : "(p.states = '{}' OR j.state = ANY(p.states))"
        let accountCondition: SQLFragment = filter.account == nil ? "" : "AND j.account_id = (SELECT id FROM accounts WHERE name = p.account)"
        let nodeCondition: SQLFragment = filter.node == nil ? "" : "AND j.node_id = (SELECT id FROM nodes WHERE hostname = p.node)"
        let nameCondition: SQLFragment = filter.name == nil ? "" : "AND j.name = p.name"
        let arrayCondition: SQLFragment = filter.array == nil ? "" : "AND j.array_id = p.array_id"
        // Spelled as jobs_listed_one_by_one's predicate (migration 0020), so that index serves it.
        let individualCondition: SQLFragment = filter.groupArrays ? "AND (array_id IS NULL OR state <> 'queued')" : ""
        let groupCondition: SQLFragment = filter.groupArrays ? "array_id IS NOT NULL AND state = 'queued'" : "false"
        let afterID = filter.after?.id ?? 0
        let afterIndividual = filter.after?.individual ?? false
        let limit = max(1, min(filter.limit, Self.maxListLimit))
        let rows = try await client.query("""
            WITH p AS (
                SELECT \(PostgresTextArray(filter.states))::text[] AS states, \(filter.account)::text AS account,
                       \(filter.node)::text AS node, \(filter.name)::text AS name, \(filter.array)::bigint AS array_id
            ), matching AS NOT MATERIALIZED (
                -- Filters only; nothing is read from a row that does not make the page.
                SELECT j.id, j.array_id, j.array_index, j.state
                FROM p, jobs j
                WHERE \(sql: stateCondition) \(sql: accountCondition) \(sql: nodeCondition) \(sql: nameCondition) \(sql: arrayCondition)
            ), individual AS (
                -- Walks the id index and stops after one row more than the page.
                SELECT id AS sort_id, true AS individual, id, NULL::text AS pending FROM matching
                WHERE id > \(afterIndividual ? afterID : afterID - 1)::bigint \(sql: individualCondition)
                ORDER BY id LIMIT \(limit + 1)::int
            ), arrays AS (
                -- Each array's queued elements in one pass over jobs_queued_elements (migration 0020):
                -- their count, bounds and first job.
                SELECT array_id, count(*) AS n, min(array_index) AS lo, max(array_index) AS hi, min(id) AS first_id
                FROM matching WHERE \(sql: groupCondition) AND array_id > \(afterID)::bigint
                GROUP BY array_id
            ), groups AS (
                -- As many as their span: one run, lo-hi. Otherwise the runs of that array alone
                -- (consecutive indexes share index - rank: gaps and islands).
                SELECT a.array_id AS sort_id, false AS individual, a.first_id AS id,
                       CASE WHEN a.n = a.hi - a.lo + 1 THEN CASE WHEN a.lo = a.hi THEN a.lo::text ELSE a.lo || '-' || a.hi END
                       ELSE (SELECT string_agg(CASE WHEN lo = hi THEN lo::text ELSE lo || '-' || hi END, ',' ORDER BY lo)
                             FROM (SELECT min(array_index) AS lo, max(array_index) AS hi FROM (
                                     SELECT array_index, array_index - row_number() OVER (ORDER BY array_index) AS island
                                     FROM matching m WHERE m.array_id = a.array_id AND \(sql: groupCondition)) x
                                   GROUP BY island) r)
                       END AS pending
                FROM arrays a
            ), page AS (
                SELECT * FROM (SELECT * FROM individual UNION ALL SELECT * FROM groups) u
                ORDER BY sort_id, individual LIMIT \(limit + 1)::int
            ), numbered AS (
                SELECT k.sort_id, k.individual, k.pending, j.*, a.name AS account, n.hostname AS node,
                       -- Where a job that ended ran (its last attempt's node, from the ledger); only
                       -- ended jobs look, so a page of pending ones reads no allocation.
                       CASE WHEN j.state IN ('succeeded', 'failed', 'cancelled') THEN (
                           SELECT ln.hostname FROM allocations al JOIN nodes ln ON ln.id = al.node_id
                           WHERE al.job_id = j.id ORDER BY al.attempt DESC LIMIT 1) END AS last_node,
                       row_number() OVER (ORDER BY k.sort_id, k.individual) AS rn,
                       row_number() OVER (ORDER BY k.sort_id, k.individual) <= \(limit) AS in_page
                FROM page k JOIN jobs j ON j.id = k.id JOIN accounts a ON a.id = j.account_id LEFT JOIN nodes n ON n.id = j.node_id
            )
            SELECT \(sql: table ? Self.tableOutput : Self.jsonOutput) AS body,
                   count(*) FILTER (WHERE d.rn <= \(limit)) AS shown,
                   count(*) > \(limit) AS more,
                   max(d.sort_id) FILTER (WHERE d.rn = \(limit)) AS last_id,
                   bool_or(d.individual) FILTER (WHERE d.rn = \(limit)) AS last_individual,
                   coalesce(bool_and(d.state NOT IN ('scheduled', 'running') AND (d.started_at IS NULL OR d.finished_at IS NOT NULL))
                            FILTER (WHERE d.in_page), true) AS stable
            FROM numbered d
            LEFT JOIN LATERAL (
                SELECT step, loss FROM job_metrics WHERE job_id = d.id AND d.state <> 'queued' ORDER BY step DESC LIMIT 1
            ) m ON true
            LEFT JOIN LATERAL (
                -- Only for the table: the cells that need more than a column.
                SELECT CASE WHEN d.array_id IS NULL THEN d.id::text
                            WHEN d.pending IS NOT NULL THEN d.array_id || '_[' || d.pending || ']'
                            ELSE d.array_id || '_' || d.array_index END AS jobid,
                       CASE WHEN d.name = '' THEN '-' WHEN length(d.name) > 16 THEN left(d.name, 15) || '…' ELSE d.name END AS name,
                       d.state || CASE WHEN d.cancel_requested_at IS NOT NULL AND d.state = 'running' THEN '*' ELSE '' END AS state,
                       CASE WHEN d.started_at IS NULL THEN '-' ELSE (
                           SELECT CASE WHEN s >= 86400 THEN format('%s-%s', s / 86400, to_char(make_interval(secs => s % 86400), 'HH24:MI:SS'))
                                       WHEN s >= 3600 THEN format('%s:%s', s / 3600, to_char(make_interval(secs => s % 3600), 'MI:SS'))
                                       ELSE format('%s:%s', s / 60, to_char(make_interval(secs => s % 60), 'SS')) END
                           FROM (SELECT greatest(0, extract(epoch FROM coalesce(d.finished_at, now()) - d.started_at))::bigint AS s) e)
                       END AS elapsed
                WHERE \(table)::boolean
            ) t ON true
            """)
        let row = rows[0]
        let more: Bool = try row.decode("more")
        var next: ListCursor?
        if more, let id: Int64 = try row.decode("last_id"), let individual: Bool = try row.decode("last_individual") {
            next = ListCursor(id: id, individual: individual)
        }
        return JobPage(json: try row.decode("body"), count: Int(try row.decode("shown", as: Int64.self)), next: next,
                       stable: try row.decode("stable"))
    }

    /// The page as the API's JSON array of jobs (the fields of `JobView`), built once by PostgreSQL.
    static let jsonOutput: SQLFragment = """
        coalesce(json_agg(json_build_object(
            'account', d.account, 'after_ok', d.after_ok, 'array_id', d.array_id, 'array_index', d.array_index,
            'array_parallel', d.array_parallel, 'array_pending', d.pending, 'attempt', d.attempt,
            'cancel_requested', d.cancel_requested_at IS NOT NULL,
            'created_at', to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
            'failures', d.failures, 'finished_at', to_char(d.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
            'gpus', d.gpus, 'id', d.id, 'kind', d.kind, 'last_error', d.last_error, 'last_node', d.last_node, 'loss', m.loss,
            'max_attempts', d.max_attempts, 'name', d.name, 'node', d.node, 'preemptions', d.preemptions, 'priority', d.priority, 'qos', d.qos,
            'started_at', to_char(d.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'state', d.state, 'step', m.step,
            'time_limit', d.time_limit_seconds)
            ORDER BY d.sort_id, d.individual) FILTER (WHERE d.in_page), '[]')::text
        """

    /// The page as `hearth queue` prints it: JOBID NAME USER KIND STATE GPUS NODE TIME STEP LOSS in
    /// columns of 14, 16, 10, 7, 10, 4, 12, 10 and 7 characters (a longer value widens its cell,
    /// so user and node names are always whole and can be searched for; a name over 16 is cut
    /// with …), times as Slurm writes them (m:ss, h:mm:ss, d-hh:mm:ss). NODE is where a job that
    /// ended ran.
    static let tableOutput: SQLFragment = """
        coalesce(string_agg(concat_ws('  ',
            rpad(t.jobid, greatest(14, length(t.jobid))),
            rpad(t.name, 16),
            rpad(d.account, greatest(10, length(d.account))),
            rpad(d.kind, greatest(7, length(d.kind))),
            rpad(t.state, greatest(10, length(t.state))),
            rpad(d.gpus::text, 4),
            rpad(coalesce(d.node, d.last_node, '-'), greatest(12, length(coalesce(d.node, d.last_node, '-')))),
            rpad(t.elapsed, 10),
            rpad(coalesce(m.step::text, '-'), greatest(7, length(coalesce(m.step::text, '-')))),
            coalesce(round(m.loss::numeric, 4)::text, '-')) || E'\n', '' ORDER BY d.sort_id, d.individual)
            FILTER (WHERE d.in_page), '')
        """
}

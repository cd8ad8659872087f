import Foundation
import HearthAPI
import HearthStore

/// The read side of the API: jobs and nodes with the names people know them by.
struct APIQueries: Sendable {
    let client: PostgresClient

    /// Filters of `GET /v1/jobs`.
    struct JobFilter: Sendable {
        var account: String?
        var states: [String] = []
        var node: String?
        /// Include finished jobs (default: only queued, scheduled and running).
        var all = false
        var limit = 1000
    }

    private static let jobSelect: SQLFragment = """
        SELECT j.id, j.kind, j.name, a.name AS account, j.state, j.gpus, j.priority, j.qos, j.attempt, j.failures,
               j.max_attempts, j.preemptions, n.hostname AS node, j.created_at, j.started_at, j.finished_at,
               j.cancel_requested_at IS NOT NULL AS cancel_requested, j.last_error, m.step, m.loss
        FROM jobs j
        JOIN accounts a ON a.id = j.account_id
        LEFT JOIN nodes n ON n.id = j.node_id
        LEFT JOIN LATERAL (SELECT step, loss FROM job_metrics WHERE job_id = j.id ORDER BY step DESC LIMIT 1) m ON true
        """

    func jobs(_ filter: JobFilter) async throws -> [JobView] {
        let states = filter.states.isEmpty && !filter.all ? ["queued", "scheduled", "running"] : filter.states
        return try await client.query("""
            \(sql: Self.jobSelect)
            WHERE (\(filter.account)::text IS NULL OR a.name = \(filter.account)::text)
              AND (\(PostgresTextArray(states))::text[] = '{}' OR j.state = ANY(\(PostgresTextArray(states))::text[]))
              AND (\(filter.node)::text IS NULL OR n.hostname = \(filter.node)::text)
            ORDER BY j.id
            LIMIT \(filter.limit)::int
            """).map(Self.job)
    }

    func job(_ id: Int64) async throws -> JobView? {
        try await client.query("\(sql: Self.jobSelect) WHERE j.id = \(id)").first.map(Self.job)
    }

    static func job(_ row: PostgresRow) throws -> JobView {
        JobView(
            id: try row.decode("id"), kind: try row.decode("kind"), name: try row.decode("name"),
            account: try row.decode("account"), state: try row.decode("state"), gpus: try row.decode("gpus"),
            priority: try row.decode("priority"), qos: try row.decode("qos"), attempt: try row.decode("attempt"),
            failures: try row.decode("failures"), maxAttempts: try row.decode("max_attempts"),
            preemptions: try row.decode("preemptions"), node: try row.decode("node"),
            createdAt: try row.decode("created_at"), startedAt: try row.decode("started_at"),
            finishedAt: try row.decode("finished_at"), cancelRequested: try row.decode("cancel_requested"),
            lastError: try row.decode("last_error"), step: try row.decode("step"), loss: try row.decode("loss"))
    }

    func nodes() async throws -> [NodeView] {
        let rows = try await client.query("""
            SELECT n.id, n.hostname, n.state, n.cpus, n.memory_bytes, n.last_heartbeat_at,
                   (SELECT count(*) FROM jobs WHERE node_id = n.id AND state IN ('scheduled', 'running')) AS running
            FROM nodes n ORDER BY n.hostname
            """)
        let gpus = try await client.query("SELECT node_id, index, model, memory_bytes, simulated FROM node_gpus ORDER BY node_id, index")
        var byNode: [Int64: [NodeView.GPU]] = [:]
        for g in gpus {
            byNode[try g.decode("node_id"), default: []].append(NodeView.GPU(
                index: try g.decode("index"), model: try g.decode("model"), memoryBytes: try g.decode("memory_bytes"),
                simulated: try g.decode("simulated")))
        }
        return try rows.map { r in
            let id: Int64 = try r.decode("id")
            return NodeView(
                id: id, hostname: try r.decode("hostname"), state: try r.decode("state"), cpus: try r.decode("cpus"),
                memoryBytes: try r.decode("memory_bytes"), gpus: byNode[id] ?? [], runningJobs: try r.decode("running"),
                lastHeartbeatAt: try r.decode("last_heartbeat_at"))
        }
    }
}

import Foundation
import HearthAPI
import HearthStore

/// The read side of the API: jobs and nodes with the names people know them by.
struct APIQueries: Sendable {
    let client: PostgresClient

    private static let jobSelect: SQLFragment = """
        SELECT j.id, j.kind, j.name, a.name AS account, j.state, j.gpus, j.priority, j.qos, j.attempt, j.failures,
               j.max_attempts, j.preemptions, n.hostname AS node, j.created_at, j.started_at, j.finished_at,
               j.cancel_requested_at IS NOT NULL AS cancel_requested, j.last_error, m.step, m.loss,
               j.after_ok, j.time_limit_seconds, j.array_id, j.array_index, j.array_parallel,
               (SELECT ln.hostname FROM allocations al JOIN nodes ln ON ln.id = al.node_id
                WHERE al.job_id = j.id ORDER BY al.attempt DESC LIMIT 1) AS last_node
        FROM jobs j
        JOIN accounts a ON a.id = j.account_id
        LEFT JOIN nodes n ON n.id = j.node_id
        LEFT JOIN LATERAL (SELECT step, loss FROM job_metrics WHERE job_id = j.id ORDER BY step DESC LIMIT 1) m ON true
        """

    func job(_ id: Int64) async throws -> JobView? {
        try await client.query("\(sql: Self.jobSelect) WHERE j.id = \(id)").first.map(Self.job)
    }

    /// How many of array `id`'s elements are in each state (those written; the caller settles
    /// expansions first).
    func arrayStates(_ id: Int64) async throws -> [String: Int] {
        let rows = try await client.query("SELECT state, count(*) AS n FROM jobs WHERE array_id = \(id) GROUP BY state")
        return Dictionary(uniqueKeysWithValues: try rows.map { (try $0.decode("state", as: String.self), Int(try $0.decode("n", as: Int64.self))) })
    }

    static func job(_ row: PostgresRow) throws -> JobView {
        var view = JobView(
            id: try row.decode("id"), kind: try row.decode("kind"), name: try row.decode("name"),
            account: try row.decode("account"), state: try row.decode("state"), gpus: try row.decode("gpus"),
            priority: try row.decode("priority"), qos: try row.decode("qos"), attempt: try row.decode("attempt"),
            failures: try row.decode("failures"), maxAttempts: try row.decode("max_attempts"),
            preemptions: try row.decode("preemptions"), node: try row.decode("node"),
            createdAt: try row.decode("created_at"), startedAt: try row.decode("started_at"),
            finishedAt: try row.decode("finished_at"), cancelRequested: try row.decode("cancel_requested"),
            lastError: try row.decode("last_error"), step: try row.decode("step"), loss: try row.decode("loss"))
        view.afterOK = try row.decode("after_ok")
        view.timeLimit = try row.decode("time_limit_seconds")
        view.arrayID = try row.decode("array_id")
        view.arrayIndex = try row.decode("array_index")
        view.arrayParallel = try row.decode("array_parallel")
        view.lastNode = try row.decode("last_node")
        return view
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

extension APIQueries {
    /// Where a reader of a job's log has got to: the last event id, metric row and output line seen.
    struct LogCursor: Sendable {
        var event: Int64 = 0
        var metricAttempt = 0
        var metricStep = -1
        var line: Int64 = 0

        init() {}

        /// Parses `e.a.s.l`; anything else is the start.
        init(_ text: String?) {
            let parts = (text ?? "").split(separator: ".").compactMap { Int64($0) }
            guard parts.count == 4 else { return }
            (event, metricAttempt, metricStep, line) = (parts[0], Int(parts[1]), Int(parts[2]), parts[3])
        }

        var text: String { "\(event).\(metricAttempt).\(metricStep).\(line)" }
    }

    func log(jobID: Int64, after cursor: LogCursor, limit: Int = 500) async throws -> LogPage? {
        let head = try await client.query("""
            SELECT state, (spec->>'steps')::bigint AS steps FROM jobs WHERE id = \(jobID)
            """)
        guard let job = head.first else { return nil }
        var next = cursor
        var entries: [LogPage.Entry] = []
        for row in try await client.query("""
            SELECT e.id, e.at, e.event, e.from_state, e.to_state, e.attempt, n.hostname, e.detail->>'error' AS error,
                   e.detail->>'step' AS step
            FROM job_events e LEFT JOIN nodes n ON n.id = e.node_id
            WHERE e.job_id = \(jobID) AND e.id > \(cursor.event) ORDER BY e.id LIMIT \(limit)::int
            """) {
            next.event = try row.decode("id")
            let event: String = try row.decode("event")
            var text = event
            if let node: String = try row.decode("hostname") { text += " on \(node)" }
            let from: String? = try row.decode("from_state")
            if let state: String = try row.decode("to_state"), state != from, !event.hasPrefix(state) { text += " → \(state)" }
            if let step: String = try row.decode("step") { text += " at step \(step)" }
            if let error: String = try row.decode("error") { text += ": \(error)" }
            entries.append(.init(at: try row.decode("at"), kind: "event", text: text, attempt: try row.decode("attempt")))
        }
        for row in try await client.query("""
            SELECT attempt, step, at, loss, tokens_per_s FROM job_metrics
            WHERE job_id = \(jobID) AND (attempt, step) > (\(cursor.metricAttempt)::int, \(cursor.metricStep)::bigint)
            ORDER BY attempt, step LIMIT \(limit)::int
            """) {
            let step: Int = try row.decode("step"), attempt: Int = try row.decode("attempt")
            (next.metricAttempt, next.metricStep) = (attempt, step)
            let loss: Double? = try row.decode("loss"), rate: Double? = try row.decode("tokens_per_s")
            let text = "step \(step)" + (loss.map { String(format: "  loss %.4f", $0) } ?? "")
                + (rate.map { String(format: "  %.0f tokens/s", $0) } ?? "")
            entries.append(.init(at: try row.decode("at"), kind: "progress", text: text, attempt: attempt, step: step,
                                 loss: loss, tokensPerSecond: rate))
        }
        for row in try await client.query("""
            SELECT id, at, attempt, line FROM job_logs WHERE job_id = \(jobID) AND id > \(cursor.line)
            ORDER BY id LIMIT \(limit)::int
            """) {
            next.line = try row.decode("id")
            entries.append(.init(at: try row.decode("at"), kind: "output", text: try row.decode("line"),
                                 attempt: try row.decode("attempt")))
        }
        entries.sort { $0.at < $1.at }
        return LogPage(entries: entries, cursor: next.text, state: try job.decode("state"), steps: try job.decode("steps"))
    }
}

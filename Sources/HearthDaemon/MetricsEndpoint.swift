import Foundation
import HearthStore
import Prometheus

/// `GET /metrics` for admins' Prometheus: queue depth by state, running jobs, GPUs in use and
/// offered, nodes by state, ledger totals, and how long collecting took. Off by default
/// (`hearthd run --metrics`); served on the control socket only.
///
/// Values are read from PostgreSQL at scrape time (one statement), so every node reports the
/// same fleet-wide figures and nothing is kept in memory that could drift from the ledger.
struct MetricsEndpoint: Sendable {
    let client: PostgresClient
    let registry = PrometheusCollectorRegistry()

    static let jobStates = ["queued", "scheduled", "running", "succeeded", "failed", "cancelled"]
    static let nodeStates = ["up", "draining", "down"]
    static let endReasons = ["succeeded", "failed", "cancelled", "preempted", "lost"]

    /// The exposition text (Prometheus format 0.0.4).
    func scrape() async throws -> String {
        let start = ContinuousClock.now
        let rows = try await client.query("""
            SELECT 'job' AS kind, state AS key, count(*)::float8 AS v, 0::float8 AS w FROM jobs GROUP BY state
            UNION ALL
            SELECT 'node', state, count(*)::float8, 0 FROM nodes GROUP BY state
            UNION ALL
            SELECT 'gpus_in_use', '', coalesce(sum(gpus), 0)::float8, 0 FROM allocations WHERE ended_at IS NULL
            UNION ALL
            SELECT 'gpus_offered', '', count(*)::float8, 0 FROM node_gpus g JOIN nodes n ON n.id = g.node_id
            WHERE n.state IN ('up', 'draining')
            UNION ALL
            SELECT 'ledger', end_reason, count(*)::float8,
                   coalesce(sum(gpus * extract(epoch FROM ended_at - started_at)), 0)::float8
            FROM allocations WHERE ended_at IS NOT NULL GROUP BY end_reason
            UNION ALL
            (SELECT 'pass', '', duration_seconds, extract(epoch FROM now() - at)::float8
             FROM scheduler_passes ORDER BY at DESC LIMIT 1)
            """)
        var jobs: [String: Double] = [:], nodes: [String: Double] = [:], ledger: [String: (Double, Double)] = [:]
        var inUse = 0.0, offered = 0.0
        var pass: (seconds: Double, age: Double)?
        for row in rows {
            let key: String = try row.decode("key")
            let v: Double = try row.decode("v")
            switch try row.decode("kind", as: String.self) {
            case "job": jobs[key] = v
            case "node": nodes[key] = v
            case "gpus_in_use": inUse = v
            case "gpus_offered": offered = v
            case "pass": pass = (v, try row.decode("w"))
            default: ledger[key] = (v, try row.decode("w"))
            }
        }
        for s in Self.jobStates {
            registry.makeGauge(name: "hearth_jobs", labels: [("state", s)], help: "Jobs by state.").set(to: jobs[s] ?? 0)
        }
        registry.makeGauge(name: "hearth_jobs_running", help: "Jobs running now.").set(to: jobs["running"] ?? 0)
        for s in Self.nodeStates {
            registry.makeGauge(name: "hearth_nodes", labels: [("state", s)], help: "Nodes by state.").set(to: nodes[s] ?? 0)
        }
        registry.makeGauge(name: "hearth_gpus_in_use", help: "GPUs held by open ledger rows.").set(to: inUse)
        registry.makeGauge(name: "hearth_gpus_offered", help: "GPUs of nodes up or draining.").set(to: offered)
        for r in Self.endReasons {
            let (count, seconds) = ledger[r] ?? (0, 0)
            registry.makeGauge(name: "hearth_ledger_allocations", labels: [("end_reason", r)],
                               help: "Closed ledger rows by end reason.").set(to: count)
            registry.makeGauge(name: "hearth_ledger_gpu_seconds", labels: [("end_reason", r)],
                               help: "GPU-seconds of closed ledger rows by end reason.").set(to: seconds)
        }
        if let pass {
            registry.makeGauge(name: "hearth_scheduler_pass_seconds",
                               help: "Duration of the leader's last recorded scheduling pass (snapshot, pass and writes).")
                .set(to: pass.seconds)
            registry.makeGauge(name: "hearth_scheduler_pass_age_seconds",
                               help: "Seconds since that pass was recorded (a pass is recorded each minute at least).")
                .set(to: pass.age)
        }
        let d = ContinuousClock.now - start
        registry.makeGauge(name: "hearth_metrics_collect_seconds", help: "Time the last scrape spent reading the database.")
            .set(to: Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
        return registry.emitToString()
    }
}

import Foundation
import HearthCore
import HearthStore
import HearthTesting

/// A deterministic month on a real database: ledger and availability rows of known lengths on
/// known nodes, written with explicit timestamps (the queue stamps rows with `now()`, which a
/// test cannot place in October). The figures the reports must give are worked out by hand in
/// the comments.
///
/// Nodes: `a` (donor dana, 2 GPUs), `b` (dana, 1 GPU), `c` (erin, 4 GPUs).
/// October 2026, UTC: `a` up 30 days then down 1 day; `b` up 15 days, draining 1, up 15; `c` up all month.
/// Offered to dana: a 30 × 24 × 2 = 1,440 + b 31 × 24 × 1 = 744 → 2,184 GPU-hours.
struct ReportScenario {
    let client: PostgresClient
    var accounts: [String: Int64] = [:]
    var projects: [String: Int64] = [:]
    var nodes: [String: Int64] = [:]

    static func utc(_ text: String) -> Date {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: text + ":00Z")!
    }

    init(client: PostgresClient) async throws {
        self.client = client
        let store = AccountStore(client: client)
        for (name, role) in [("dana", AccountStore.Role.donor), ("erin", .donor), ("vic", .volunteer), ("walt", .volunteer)] {
            accounts[name] = try await store.ensure(name: name, role: role)
        }
        for name in ["llm", "vision"] {
            projects[name] = try await client.query("INSERT INTO projects (name) VALUES (\(name)) RETURNING id")[0].decode("id")
        }
        let nodeStore = NodeStore(client: client)
        for (name, donor, gpus) in [("a", "dana", 2), ("b", "dana", 1), ("c", "erin", 4)] {
            nodes[name] = try await nodeStore.register(
                hostname: name, cpus: 8, memoryBytes: 1 << 34,
                gpus: (0..<gpus).map { NodeStore.GPU(index: $0, model: "simulated-A100", memoryBytes: 80 << 30, simulated: true) },
                donorID: accounts[donor])
        }
        for (node, state, gpus, from, to) in [
            ("a", "up", 2, "2026-10-01T00:00", "2026-10-31T00:00"), ("a", "down", 2, "2026-10-31T00:00", "2026-11-01T00:00"),
            ("b", "up", 1, "2026-10-01T00:00", "2026-10-16T00:00"), ("b", "draining", 1, "2026-10-16T00:00", "2026-10-17T00:00"),
            ("b", "up", 1, "2026-10-17T00:00", "2026-11-01T00:00"), ("c", "up", 4, "2026-10-01T00:00", "2026-11-01T00:00"),
        ] {
            try await client.query("""
                INSERT INTO node_availability (node_id, state, gpus, started_at, ended_at)
                VALUES (\(nodes[node]!), \(state), \(gpus), \(Self.utc(from)), \(Self.utc(to)))
                """)
        }
        // job, owner, project, node, GPUs, attempt, from, to, end reason, cpu s, measured J
        let rows: [(String, String, String?, String, [Int], Int, String, String, String, Double?, Double?)] = [
            ("J1", "vic", "llm", "a", [0, 1], 1, "2026-10-02T10:00", "2026-10-02T20:00", "succeeded", 3600, 7_200_000),  // 20 GPU-h
            ("J2", "walt", "vision", "a", [0], 1, "2026-10-03T00:00", "2026-10-03T06:00", "preempted", nil, nil),      // 6
            ("J2", "walt", "vision", "b", [0], 2, "2026-10-03T06:00", "2026-10-03T12:00", "succeeded", nil, nil),      // 6
            ("J3", "vic", "llm", "b", [0], 1, "2026-10-10T00:00", "2026-10-10T05:00", "lost", nil, nil),               // 5
            ("J4", "walt", "llm", "b", [0], 1, "2026-10-31T22:00", "2026-11-01T02:00", "cancelled", nil, nil),         // 2 in Oct, 2 in Nov
            ("J5", "vic", nil, "a", [0, 1], 1, "2026-10-20T22:00", "2026-10-21T03:00", "failed", 500, nil),            // 10: 4 on the 20th, 6 on the 21st
            ("J6", "walt", "vision", "c", [0, 1, 2, 3], 1, "2026-10-05T00:00", "2026-10-05T10:00", "succeeded", nil, nil),  // 40 (erin)
            ("J7", "walt", "llm", "a", [0], 1, "2026-09-30T23:00", "2026-10-01T01:00", "succeeded", nil, nil),         // 1 in Oct, 1 in Sep
        ]
        var jobIDs: [String: Int64] = [:]
        for (job, owner, project, node, gpus, attempt, from, to, reason, cpu, energy) in rows {
            if jobIDs[job] == nil {
                jobIDs[job] = try await LedgerHistory.finishedJob(
                    client, accountID: accounts[owner]!, projectID: project.map { projects[$0]! }, name: job, gpus: gpus.count,
                    nodeID: nodes[node]!, attempt: 2)
            }
            try await client.query("""
                INSERT INTO allocations (job_id, attempt, node_id, gpus, gpu_indices, started_at, ended_at, end_reason,
                                         cpu_seconds, energy_joules, energy_source)
                VALUES (\(jobIDs[job]!), \(attempt), \(nodes[node]!), \(gpus.count), \(gpus)::int[], \(Self.utc(from)),
                        \(Self.utc(to)), \(reason), \(cpu)::float8, \(energy)::float8, \(energy == nil ? nil : "measured")::text)
                """)
        }
    }

    func report(_ scope: UsageReport.Scope, _ subject: String?, from: String = "2026-10-01T00:00", to: String = "2026-11-01T00:00",
                period: UsageReport.Period = .day, timeZone: String = "UTC") async throws -> UsageReport {
        try await ReportStore(client: client).report(.init(
            scope: scope, subject: subject, from: Self.utc(from), to: Self.utc(to), period: period, timeZone: timeZone))
    }
}

import Foundation
import HearthCore
import HearthStore
import HearthTesting
import Testing

@Suite(.timeLimit(.minutes(10))) struct ReportStoreTests {
    @Test func donorMonthGivesTheHandWorkedFigures() async throws {
        try await TestDatabase.with { client, _ in
            let s = try await ReportScenario(client: client)
            let r = try await s.report(.donor, "dana")
            let t = r.totals
            // 20 + 6 + 6 + 5 + 2 + 10 + 1 GPU-hours on a and b in October.
            #expect(abs(t.gpuSeconds - 50 * 3600) < 1e-6)
            #expect(abs((t.offeredGPUSeconds ?? 0) - 2184 * 3600) < 1e-6)
            #expect(abs((t.utilisation ?? 0) - 50.0 / 2184) < 1e-12)
            #expect(t.allocations == 7)
            #expect(t.jobs == 6)
            #expect(t.accounts == 2)
            #expect(t.projects == 2)
            #expect(t.endReasons == ["succeeded": 3, "preempted": 1, "lost": 1, "cancelled": 1, "failed": 1])
            #expect(abs((t.energyJoules ?? 0) - 7_200_000) < 1e-6, "only J1's measured energy")
            #expect(t.estimatedEnergyJoules == nil, "nothing estimated, so no estimate")
            #expect(abs((t.cpuSeconds ?? 0) - 4100) < 1e-6)
            // Rows sum to the totals; J5 is split across midnight.
            #expect(abs(r.usage.reduce(0) { $0 + $1.gpuSeconds } - t.gpuSeconds) < 1e-6)
            let day = { (d: String) in r.usage.filter { $0.periodStart == ReportScenario.utc(d) }.reduce(0) { $0 + $1.gpuSeconds } / 3600 }
            #expect(abs(day("2026-10-20T00:00") - 4) < 1e-9)
            #expect(abs(day("2026-10-21T00:00") - 6) < 1e-9)
            #expect(abs(day("2026-10-31T00:00") - 2) < 1e-9)
            // Node b: up 30 days, draining 1.
            let b = r.availability.filter { $0.node == "b" }
            #expect(abs(b.reduce(0) { $0 + $1.upSeconds } - 30 * 86_400) < 1e-6)
            #expect(abs(b.reduce(0) { $0 + $1.drainingSeconds } - 86_400) < 1e-6)
            #expect(!r.usage.contains { $0.node == "c" }, "erin's node is not in dana's report")
        }
    }

    @Test func fleetProjectAccountAndTimeZone() async throws {
        try await TestDatabase.with { client, _ in
            let s = try await ReportScenario(client: client)
            let fleet = try await s.report(.fleet, nil, period: .month)
            #expect(abs(fleet.totals.gpuSeconds - 90 * 3600) < 1e-6)
            #expect(abs((fleet.totals.offeredGPUSeconds ?? 0) - (2184 + 2976) * 3600) < 1e-6)
            #expect(fleet.totals.jobs == 7)
            #expect(Set(fleet.usage.map(\.periodStart)) == [ReportScenario.utc("2026-10-01T00:00")])
            let llm = try await s.report(.project, "llm")
            #expect(abs(llm.totals.gpuSeconds - 28 * 3600) < 1e-6, "J1 20 + J3 5 + J4 2 + J7 1")
            #expect(llm.availability.isEmpty && llm.totals.offeredGPUSeconds == nil)
            let vic = try await s.report(.account, "vic")
            #expect(abs(vic.totals.gpuSeconds - 35 * 3600) < 1e-6)
            // In Berlin (UTC+2 until 25 October) J5 runs 00:00–05:00 on the 21st: all 10 GPU-hours that day.
            let berlin = try await s.report(.donor, "dana", timeZone: "Europe/Berlin")
            let start21 = ReportScenario.utc("2026-10-20T22:00")
            #expect(abs(berlin.usage.filter { $0.periodStart == start21 }.reduce(0) { $0 + $1.gpuSeconds } - 10 * 3600) < 1e-6)
            // November keeps J4's other half.
            let nov = try await s.report(.donor, "dana", from: "2026-11-01T00:00", to: "2026-11-02T00:00")
            #expect(abs(nov.totals.gpuSeconds - 2 * 3600) < 1e-6)
            #expect(nov.totals.allocations == 1)
        }
    }

    @Test func totalsEqualTheLedgerRowsAndBadInputIsExplained() async throws {
        try await TestDatabase.with { client, _ in
            let s = try await ReportScenario(client: client)
            let all = try await s.report(.fleet, nil, from: "2020-01-01T00:00", to: "2030-01-01T00:00", period: .month)
            let ledger: Double = try await client.query("""
                SELECT sum(gpus * extract(epoch FROM ended_at - started_at))::float8 AS s, count(*) AS n FROM allocations
                """)[0].decode("s")
            #expect(abs(all.totals.gpuSeconds - ledger) < 1e-6)
            #expect(all.totals.allocations == 8)
            await #expect(throws: ReportError(.notFound, "no account named \"nobody\"")) {
                _ = try await s.report(.donor, "nobody")
            }
            let badZone = await #expect(throws: ReportError.self) { _ = try await s.report(.fleet, nil, timeZone: "Mars/Olympus") }
            #expect(badZone?.message.contains("unknown time zone") == true)
            let empty = await #expect(throws: ReportError.self) {
                _ = try await s.report(.fleet, nil, from: "2026-10-02T00:00", to: "2026-10-01T00:00")
            }
            #expect(empty?.message.contains("--from must be before --to") == true)
        }
    }

    @Test func oneGPUIsNeverHeldTwice() async throws {
        try await TestDatabase.with { client, _ in
            let s = try await ReportScenario(client: client)
            let job: Int64 = try await client.query("SELECT id FROM jobs WHERE name = 'J1'")[0].decode("id")
            // GPU 1 of node a during J1 (10:00–20:00 on the 2nd).
            let clash = await #expect(throws: PostgresError.self) {
                try await client.query("""
                    INSERT INTO allocations (job_id, attempt, node_id, gpus, gpu_indices, started_at, ended_at, end_reason)
                    VALUES (\(job), 9, \(s.nodes["a"]!), 1, '{1}', \(ReportScenario.utc("2026-10-02T19:00")),
                            \(ReportScenario.utc("2026-10-02T21:00")), 'failed')
                    """)
            }
            #expect(clash?.sqlState == "23P01")
            // Right after it, on the same GPU, is fine.
            try await client.query("""
                INSERT INTO allocations (job_id, attempt, node_id, gpus, gpu_indices, started_at, ended_at, end_reason)
                VALUES (\(job), 9, \(s.nodes["a"]!), 1, '{1}', \(ReportScenario.utc("2026-10-02T20:00")),
                        \(ReportScenario.utc("2026-10-02T21:00")), 'failed')
                """)
        }
    }

    @Test func availabilityFollowsEveryStateChange() async throws {
        try await TestDatabase.with { client, _ in
            let nodes = NodeStore(client: client)
            let gpu = NodeStore.GPU(index: 0, model: "simulated-A100", memoryBytes: 80 << 30, simulated: true)
            let id = try await nodes.register(hostname: "n1", cpus: 2, memoryBytes: 1 << 30, gpus: [gpu, gpu.with(index: 1)])
            try await nodes.setState(hostname: "n1", to: .draining)
            try await nodes.setState(hostname: "n1", to: .up)
            // The leader's statement for a silent node (Leader.swift); down from its last heartbeat.
            // Its last heartbeat: a moment after it came back up, well before it is noticed.
            let lastSeen: Date = try await client.query("""
                UPDATE nodes SET last_heartbeat_at = (SELECT started_at + interval '1 millisecond' FROM node_availability
                                                      WHERE node_id = \(id) AND ended_at IS NULL)
                WHERE id = \(id) RETURNING last_heartbeat_at
                """)[0].decode("last_heartbeat_at")
            try await Task.sleep(for: .milliseconds(50))
            try await client.query("UPDATE nodes SET state = 'down' WHERE id = \(id)")
            try await nodes.heartbeat(nodeID: id)
            // Re-registered with one GPU fewer: a new interval with the new count.
            _ = try await nodes.register(hostname: "n1", cpus: 2, memoryBytes: 1 << 30, gpus: [gpu])
            let rows = try await client.query("""
                SELECT state, gpus, ended_at IS NULL AS open, started_at FROM node_availability WHERE node_id = \(id) ORDER BY id
                """)
            let states: [String] = try rows.map { try $0.decode("state") }
            let gpus: [Int] = try rows.map { try $0.decode("gpus") }
            let open: [Bool] = try rows.map { try $0.decode("open") }
            #expect(states == ["up", "draining", "up", "down", "up", "up"])
            #expect(gpus == [2, 2, 2, 2, 2, 1])
            #expect(open == [false, false, false, false, false, true])
            let downFrom: Date = try rows[3].decode("started_at")
            #expect(abs(downFrom.timeIntervalSince(lastSeen)) < 1e-5, "down from the last heartbeat, not from discovery")
            let gaps: Int = try await client.query("""
                SELECT count(*) AS n FROM (SELECT ended_at, lead(started_at) OVER (ORDER BY id) AS next
                                           FROM node_availability WHERE node_id = \(id)) x
                WHERE next IS NOT NULL AND next <> ended_at
                """)[0].decode("n")
            #expect(gaps == 0, "intervals follow each other without gap or overlap")
        }
    }
}

extension NodeStore.GPU {
    func with(index: Int) -> NodeStore.GPU { var g = self; g.index = index; return g }
}

import Foundation
import HearthClient
import HearthCore
import HearthProcess
import HearthStore
import HearthTesting
import Testing

/// `hearth report` and `hearth usage` through a real daemon, as real Unix users: a donor reads
/// their own nodes, another volunteer is refused with a sentence, admins read anything; and
/// `--metrics` serves Prometheus text on the socket.
@Suite(.serialized, .timeLimit(.minutes(10))) struct ReportCommandTests {
    @Test(.enabled(if: geteuid() == 0, "creating Unix users needs root; CI runs as root"))
    func donorsReadTheirOwnNodesOnly() async throws {
        try PeerCredentialTests.makeUsers()
        let ann = PeerCredentialTests.ann, bob = PeerCredentialTests.bob
        try await TestDatabase.with { client, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-report")
            defer { try? FileManager.default.removeItem(at: dir) }
            let daemon = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "rep", directory: dir,
                                           extraArguments: ["--metrics"])
            defer { daemon.child.signal(SIGKILL) }
            let socket = daemon.socketPath
            // ann lends node "anns-gpu" (2 GPUs); bob ran 2 GPUs on it for 2 hours on 2026-10-14.
            let annID = try await AccountStore(client: client).ensure(name: ann, uid: Int(getpwnam(ann)!.pointee.pw_uid), role: .donor)
            let bobID = try await AccountStore(client: client).ensure(name: bob, uid: Int(getpwnam(bob)!.pointee.pw_uid))
            let gpu = { (i: Int) in NodeStore.GPU(index: i, model: "simulated-A100", memoryBytes: 80 << 30, simulated: true) }
            let node = try await NodeStore(client: client).register(
                hostname: "anns-gpu", cpus: 4, memoryBytes: 1 << 34, gpus: [gpu(0), gpu(1)], donorID: annID)
            let job = try await LedgerHistory.finishedJob(client, accountID: bobID, gpus: 2, nodeID: node)
            try await client.query("""
                INSERT INTO allocations (job_id, attempt, node_id, gpus, gpu_indices, started_at, ended_at, end_reason)
                VALUES (\(job), 1, \(node), 2, '{0,1}', '2026-10-14 10:00+00', '2026-10-14 12:00+00', 'succeeded')
                """)

            let own = try await CLI.run(["report", "--month", "2026-10", "--tz", "UTC"], socket: socket, asUser: ann)
            #expect(own.status == .exited(0), "\(own.stderr)")
            #expect(own.stdout.hasPrefix("Nodes lent by \(ann), 2026-10-01 00:00 to 2026-11-01 00:00 (UTC), by day"))
            #expect(own.stdout.contains("GPU-hours used     4.00"), "\(own.stdout)")
            // The donor's statement carries the node's ledger chain head, as the database holds it.
            let head: String = try await client.query("SELECT row_hash FROM ledger_heads WHERE node_id = \(node)")[0].decode("row_hash")
            #expect(own.stdout.contains("Ledger head of anns-gpu: \(head)"), "\(own.stdout)")

            let refused = try await CLI.run(["report", "--donor", ann, "--month", "2026-10"], socket: socket, asUser: bob)
            #expect(refused.status == .exited(1))
            #expect(refused.stderr.contains("donors can read only their own nodes' reports"), "\(refused.stderr)")
            let fleet = try await CLI.run(["report", "--fleet"], socket: socket, asUser: bob)
            #expect(fleet.status == .exited(1) && fleet.stderr.contains("only fleet admins can read the fleet report"))

            // bob's own usage: the same 4 GPU-hours, and a fair-share standing below 1.
            let usage = try await CLI.run(["usage", "--month", "2026-10", "--tz", "UTC"], socket: socket, asUser: bob)
            #expect(usage.status == .exited(0), "\(usage.stderr)")
            #expect(usage.stdout.contains("GPU-hours used  4.00"), "\(usage.stdout)")

            let csv = try await CLI.run(["report", "--donor", ann, "--month", "2026-10", "--tz", "UTC", "--csv"], socket: socket)
            #expect(csv.stdout.split(separator: "\r\n") == [
                "period,period_start,node,volunteer,project,attempts,jobs,gpu_hours,cpu_hours,energy_kwh,energy_kwh_estimated",
                "2026-10-14,2026-10-14T00:00:00Z,anns-gpu,\(bob),,1,1,4.00,,,",
            ])
            let page = dir.appendingPathComponent("ann.html").path
            let html = try await CLI.run(["report", "--donor", ann, "--month", "2026-10", "--html", page], socket: socket)
            #expect(html.status == .exited(0) && html.stdout == "wrote \(page)\n")
            #expect(try String(contentsOfFile: page, encoding: .utf8).contains("<path class=\"bar\""))
            let bad = try await CLI.run(["report", "--month", "2026-13"], socket: socket)
            #expect(bad.status == .exited(1) && bad.stderr.contains("write it as YYYY-MM"), "\(bad.stderr)")

            // GPUs of nodes up or draining: anns-gpu sends no heartbeat, so on a slow run the leader
            // may mark it down between two reads; the scrape must match one side of it.
            func offeredNow() async throws -> Int {
                try await client.query("""
                    SELECT count(*) AS n FROM node_gpus g JOIN nodes n ON n.id = g.node_id WHERE n.state IN ('up', 'draining')
                    """)[0].decode("n")
            }
            let offeredBefore = try await offeredNow()
            let metrics = try ControlClient(socketPath: socket).request("GET", "/metrics")
            let offeredAfter = try await offeredNow()
            let text = String(decoding: metrics.body, as: UTF8.self)
            #expect(metrics.status == 200)
            let value = { (series: String) in
                text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
            }
            #expect([offeredBefore, offeredAfter].map(Double.init).contains(value("hearth_gpus_offered") ?? -1), "\(text)")
            #expect(value("hearth_ledger_allocations{end_reason=\"succeeded\"}") == 1, "\(text)")
            let gpuSeconds = try #require(value("hearth_ledger_gpu_seconds{end_reason=\"succeeded\"}"), "\(text)")
            #expect(abs(gpuSeconds - 14_400) < 1e-6, "2 GPUs × 2 hours")
            #expect(value("hearth_jobs{state=\"succeeded\"}") == 1, "\(text)")
            // The leader records its first pass at once: its duration is exported.
            let pass = try #require(value("hearth_scheduler_pass_seconds"), "\(text)")
            #expect(pass >= 0 && pass < 10)
        }
    }
}

import Foundation
import HearthAPI
import HearthCore
import HearthProcess
import HearthStore
import HearthTesting
import Testing

/// The accounting figures survive a daemon crash: kill -9 of `hearthd` while its job holds a GPU,
/// a restart, the job resumed and finished — and the fleet report still equals the sum of the
/// ledger's rows, with every row closed and no GPU held twice at any instant.
@Suite(.serialized, .timeLimit(.minutes(5))) struct AccountingCrashTests {
    typealias E2E = EndToEndTests

    @Test func aKilledDaemonLosesNoAccountingRow() async throws {
        try await TestDatabase.with { client, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-ledger-crash")
            let worker = try #require(BuiltProducts.path("hearth-worker"))
            let data = try JobRunnerTests.Fixture.prepareData(worker: worker, in: dir)
            let args = ["--simulated-gpus", "1", "--heartbeat-seconds", "0.5", "--lease-seconds", "30"]
            let first = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "crashy", directory: dir,
                                          extraArguments: args)
            let spec = dir.appendingPathComponent("spec.json")
            try """
                {"model": {"layers": 1, "heads": 2, "width": 16, "context": 8}, "data": [{"path": "\(data)"}], "batch_size": 4,
                 "steps": 100000, "seed": 7, "threads": 1, "checkpoint_interval": 1000, "log_interval": 500}
                """.write(to: spec, atomically: true, encoding: .utf8)
            let submitted = try await CLI.run(["submit", "--kind", "train", "--gpus", "1", spec.path], socket: first.socketPath)
            #expect(submitted.stdout == "submitted job 1\n", "\(submitted.stderr)")
            // Killed as soon as it runs, and long enough (about 25 s alone) that a test process
            // starved by the suite's CPU-bound tests still sees it running.
            try await E2E.waitUntil("job 1 runs on the GPU") { try await E2E.job(1, via: first.socketPath).state == .running }
            #expect(await first.stop(SIGKILL) == .signalled(SIGKILL))
            #expect(try await JobQueue(client: client).job(1)?.state == .running, "the daemon was killed while its job ran")

            // The restarted node requeues its orphan (ledger row closed as lost), then runs it to the end.
            let second = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "crashy", directory: dir,
                                           extraArguments: args)
            defer { second.child.signal(SIGKILL) }
            try await E2E.waitUntil("job 1 succeeds after the crash", timeout: 240) {
                try await E2E.job(1, via: second.socketPath).state == .succeeded
            }
            let ledger = try await JobQueue(client: client).allocations(jobID: 1)
            #expect(ledger.map(\.endReason) == [.lost, .succeeded])
            #expect(ledger.allSatisfy { $0.endedAt != nil && $0.gpuIndices == [0] })
            let overlapping: Int = try await client.query("""
                SELECT count(*) AS n FROM allocations a JOIN allocations b ON a.id < b.id AND a.node_id = b.node_id
                WHERE a.gpu_indices && b.gpu_indices AND tstzrange(a.started_at, a.ended_at) && tstzrange(b.started_at, b.ended_at)
                """)[0].decode("n")
            #expect(overlapping == 0)

            // The fleet report's totals are the ledger's, to the microsecond.
            let day = 86_400.0
            let f = ISO8601DateFormatter()
            let from = f.string(from: Date().addingTimeInterval(-day)), to = f.string(from: Date().addingTimeInterval(day))
            let report = try await CLI.run(["report", "--fleet", "--from", from, "--to", to, "--tz", "UTC", "--json"],
                                           socket: second.socketPath)
            #expect(report.status == .exited(0), "\(report.stderr)")
            let parsed = try #require(try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any])
            let totals = try #require(parsed["totals"] as? [String: Any], "\(report.stdout.prefix(500))")
            let reported = try #require(totals["gpu_seconds"] as? Double)
            let summed: Double = try await client.query("""
                SELECT sum(gpus * extract(epoch FROM ended_at - started_at))::float8 AS s FROM allocations
                """)[0].decode("s")
            #expect(summed > 0 && abs(reported - summed) < 1e-6, "report \(reported) vs ledger \(summed)")
            #expect(totals["allocations"] as? Int == 2 && totals["jobs"] as? Int == 1, "\(totals)")
            #expect(await second.stop(SIGTERM) == .exited(0))
        }
    }
}

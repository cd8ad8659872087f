import Foundation
import HearthAPI
import HearthCore
import HearthProcess
import HearthStore
import HearthTesting
import Testing

/// The fair-share scheduler inside the running daemon: placement by the leader's pass,
/// priority preemption with checkpoint and resume, dependencies explained by `hearth priority`,
/// and a donor's policy and reclaim through the CLI.
@Suite(.serialized, .timeLimit(.minutes(10))) struct SchedulingEndToEndTests {
    typealias E2E = EndToEndTests

    /// A config file that lets a job be preempted as soon as it runs (the default waits 10 minutes).
    static func config(in dir: URL) throws -> String {
        let path = dir.appendingPathComponent("hearthd.toml")
        try """
            # Scheduling end-to-end test
            grace_seconds = 20

            [scheduler]
            min_run_before_preemption_seconds = 0
            """.write(to: path, atomically: true, encoding: .utf8)
        return path.path
    }

    @Test func aHighPriorityJobPreemptsTrainingWhichResumesFromItsCheckpoint() async throws {
        try await TestDatabase.with { client, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-preempt")
            let worker = try #require(BuiltProducts.path("hearth-worker"))
            let data = try JobRunnerTests.Fixture.prepareData(worker: worker, in: dir)
            let daemon = try await DaemonProcess(
                conninfo: info.conninfo, database: info.database, nodeName: "donated", directory: dir,
                extraArguments: ["--config", try Self.config(in: dir), "--simulated-gpus", "1", "--slots", "1",
                                 "--heartbeat-seconds", "0.5", "--lease-seconds", "10"])
            defer { daemon.child.signal(SIGKILL) }
            let socket = daemon.socketPath
            let long = dir.appendingPathComponent("long.json"), short = dir.appendingPathComponent("short.json")
            try E2E.spec(data, steps: 50_000_000).write(to: long, atomically: true, encoding: .utf8)
            try E2E.spec(data, steps: 200).write(to: short, atomically: true, encoding: .utf8)

            let first = try await CLI.run(["submit", "--kind", "train", "--gpus", "1", "--name", "long", long.path], socket: socket)
            #expect(first.stdout == "submitted job 1\n", "\(first.stderr)")
            try await E2E.waitUntil("job 1 trains on the only GPU") { try await E2E.job(1, via: socket).step != nil }

            // A dependent job waits, and says why.
            let dependent = try await CLI.run(["submit", "--kind", "train", "--after", "1", short.path], socket: socket)
            #expect(dependent.stdout == "submitted job 2\n", "\(dependent.stderr)")
            let why = try await CLI.run(["priority", "2", "--json"], socket: socket)
            let view = try APICoding.decoder().decode(PriorityView.self, from: Data(why.stdout.utf8))
            #expect(view.reason == "Dependency" && view.explanation.contains("#1"), "\(view)")
            #expect(view.factors.map(\.name) == ["age", "fairshare", "size", "qos", "user"])
            let table = try await CLI.run(["priority"], socket: socket)
            #expect(table.stdout.contains("RANK") && table.stdout.contains("Dependency"), "\(table.stdout)")

            // A high-QOS job needs the GPU: job 1 checkpoints, is requeued, and job 3 runs.
            let urgent = try await CLI.run(
                ["submit", "--kind", "train", "--gpus", "1", "--qos", "high", "--name", "urgent", short.path], socket: socket)
            let urgentOut = urgent.stdout
            #expect(urgentOut == "submitted job 3\n", Comment(rawValue: urgent.stderr))
            try await E2E.waitUntil("job 3 succeeds", timeout: 90) { try await E2E.job(3, via: socket).state == .succeeded }
            let queue = JobQueue(client: client)
            let events = try await queue.events(jobID: 1).map(\.event)
            #expect(events.contains("preempt-requested") && events.contains("preempted"), "\(events)")
            // The checkpoint attempt 1 wrote on SIGTERM (later ones belong to attempt 2).
            let saved: Int? = try await client.query(
                "SELECT max(step)::bigint AS step FROM checkpoints WHERE job_id = 1 AND attempt = 1")[0].decode("step")
            let checkpointStep = try #require(saved, "attempt 1 checkpointed when preempted")

            // Job 1 is placed again and continues from its checkpoint, not from step 0.
            try await E2E.waitUntil("job 1 reports progress in attempt 2", timeout: 60) {
                try await queue.metrics(jobID: 1).contains { $0.attempt == 2 }
            }
            let resumedAt = try #require(try await queue.metrics(jobID: 1).filter { $0.attempt == 2 }.map(\.step).min())
            #expect(resumedAt > checkpointStep, "attempt 2 started after the checkpoint at step \(checkpointStep)")
            let shown = try await E2E.job(1, via: socket)
            #expect(shown.preemptions == 1 && shown.attempt == 2 && shown.failures == 0)
            let ledger = try await queue.allocations(jobID: 1)
            #expect(ledger.map(\.endReason) == [.preempted, nil])
            // Never two jobs on the one GPU: the ledger intervals of GPU 0 do not overlap.
            let overlaps: Int = try await client.query("""
                SELECT count(*) AS n FROM allocations a JOIN allocations b ON a.id < b.id AND a.node_id = b.node_id
                WHERE a.gpu_indices && b.gpu_indices
                  AND tstzrange(a.started_at, a.ended_at) && tstzrange(b.started_at, b.ended_at)
                """)[0].decode("n")
            #expect(overlaps == 0)
            _ = try await CLI.run(["cancel", "1"], socket: socket)
            #expect(await daemon.stop(SIGTERM) == .exited(0))
        }
    }

    @Test func aDonorPolicyIsValidatedAndReclaimPreemptsTheNodesJobs() async throws {
        try await TestDatabase.with { client, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-policy")
            let worker = try #require(BuiltProducts.path("hearth-worker"))
            let data = try JobRunnerTests.Fixture.prepareData(worker: worker, in: dir)
            let daemon = try await DaemonProcess(
                conninfo: info.conninfo, database: info.database, nodeName: "lent", directory: dir,
                extraArguments: ["--simulated-gpus", "1", "--donor", "dora", "--heartbeat-seconds", "0.5", "--lease-seconds", "10"])
            defer { daemon.child.signal(SIGKILL) }
            let socket = daemon.socketPath

            let bad = dir.appendingPathComponent("bad.json")
            try #"{"windows": [{"days": ["mon", "funday"], "from": "19:00", "to": "07:00"}]}"#.write(to: bad, atomically: true, encoding: .utf8)
            let refused = try await CLI.run(["node", "policy", "lent", bad.path], socket: socket)
            #expect(refused.status == .exited(1) && refused.stderr.contains("unknown day \"funday\""), "\(refused.stderr)")
            let typo = dir.appendingPathComponent("typo.json")
            try #"{"allowed_kind": ["train"]}"#.write(to: typo, atomically: true, encoding: .utf8)
            let unknown = try await CLI.run(["node", "policy", "lent", typo.path], socket: socket)
            #expect(unknown.stderr.contains("unknown policy key \"allowed_kind\""), "\(unknown.stderr)")

            // Only eval allowed: a training job waits with the reason, and starts once train is allowed.
            let evalOnly = dir.appendingPathComponent("eval-only.json")
            try #"{"allowed_kinds": ["eval"], "time_zone": "Europe/Berlin"}"#.write(to: evalOnly, atomically: true, encoding: .utf8)
            #expect(try await CLI.run(["node", "policy", "lent", evalOnly.path], socket: socket).status == .exited(0))
            let shown = try await CLI.run(["node", "policy", "lent"], socket: socket)
            #expect(shown.stdout.contains("Kinds      eval"), "\(shown.stdout)")
            let spec = dir.appendingPathComponent("spec.json")
            try E2E.spec(data, steps: 50_000_000).write(to: spec, atomically: true, encoding: .utf8)
            _ = try await CLI.run(["submit", "--kind", "train", "--gpus", "1", spec.path], socket: socket)
            // The scheduler's own explanation, from the same snapshot and pass as the leader's, says why it waits.
            try await E2E.waitUntil("hearth priority explains job 1 with KindNotAllowed", timeout: 30) {
                try await CLI.run(["priority", "1"], socket: socket).stdout.contains("KindNotAllowed")
            }
            #expect(try await E2E.job(1, via: socket).state == .queued)
            let open = dir.appendingPathComponent("open.json")
            try "{}".write(to: open, atomically: true, encoding: .utf8)
            #expect(try await CLI.run(["node", "policy", "lent", open.path], socket: socket).status == .exited(0))
            try await E2E.waitUntil("job 1 trains") { try await E2E.job(1, via: socket).step != nil }

            // The donor (here root acting as admin) reclaims the node: the job checkpoints and waits.
            let reclaim = try await CLI.run(["node", "reclaim", "lent"], socket: socket)
            let reclaimOut = reclaim.stdout
            #expect(reclaimOut.contains("job(s) 1 are checkpointing"), Comment(rawValue: reclaim.stdout + reclaim.stderr))
            try await E2E.waitUntil("job 1 is back in the queue", timeout: 30) {
                let j = try await E2E.job(1, via: socket)
                return j.state == .queued && j.preemptions == 1
            }
            try await E2E.waitUntil("hearth priority explains job 1 with the reclaimed node", timeout: 30) {
                try await CLI.run(["priority", "1"], socket: socket).stdout.contains("OutsideDonorWindow")
            }
            #expect(try await E2E.job(1, via: socket).state == .queued, "nothing starts on a reclaimed node")
            #expect(try await JobQueue(client: client).allocations(jobID: 1).map(\.endReason) == [.preempted])
            #expect(try await CLI.run(["node", "release", "lent"], socket: socket).status == .exited(0))
            try await E2E.waitUntil("job 1 runs again after release") { try await E2E.job(1, via: socket).attempt == 2 }
            let donor: String = try await client.query(
                "SELECT a.name FROM nodes n JOIN accounts a ON a.id = n.donor_id WHERE n.hostname = 'lent'")[0].decode("name")
            #expect(donor == "dora")
            _ = try await CLI.run(["cancel", "1"], socket: socket)
            #expect(await daemon.stop(SIGTERM) == .exited(0))
        }
    }
}

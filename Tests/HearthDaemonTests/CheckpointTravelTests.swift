import Foundation
import HearthAPI
import HearthCore
import HearthProcess
import HearthStore
import HearthTesting
import Testing

/// Checkpoints that travel (Docs/artifacts.md): two `hearthd` nodes with separate state
/// directories on one PostgreSQL; a training job starts on node A, leaves it, and resumes on
/// node B from the checkpoint A stored in the fleet — never from A's disk, which is gone.
@Suite(.serialized, .timeLimit(.minutes(10))) struct CheckpointTravelTests {
    typealias E2E = EndToEndTests

    /// ~700 steps/s on an idle core: long enough to leave node A midway, short enough to finish on B.
    static func spec(_ data: String, steps: Int = 6000, interval: Int = 300, width: Int = 64, dataset: String? = nil) -> String {
        let entry = dataset.map { #"{"dataset": "\#($0)"}"# } ?? #"{"path": "\#(data)"}"#
        return """
        {"model": {"layers": 2, "heads": 2, "width": \(width), "context": 16}, "data": [\(entry)], "batch_size": 4,
         "steps": \(steps), "seed": 7, "threads": 1, "checkpoint_interval": \(interval), "log_interval": 100, "keep_checkpoints": 3}
        """
    }

    /// The final `model.safetensors` SHA-256 of the same job run in one go by `hearth-worker` itself.
    static func uninterruptedModelSHA(spec: String, worker: String, in dir: URL) throws -> String {
        var job = try JSONSerialization.jsonObject(with: Data(spec.utf8)) as! [String: Any]
        job["checkpoint_dir"] = dir.appendingPathComponent("reference").path
        job["resume"] = "none"
        let file = dir.appendingPathComponent("reference.json")
        try JSONSerialization.data(withJSONObject: job).write(to: file)
        let out = dir.appendingPathComponent("reference.out")
        let fd = open(out.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        let child = try ChildProcess.spawn(worker, ["train", "--job", file.path], descriptors: [nil, fd, 2])
        close(fd)
        guard child.waitBlocking() == .exited(0) else { throw TestProcessError("the reference run failed") }
        let lines = try String(contentsOf: out, encoding: .utf8).split(separator: "\n")
        let last = lines.last { $0.contains(#""event":"checkpoint""#) }.map(String.init) ?? ""
        let report = try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any]
        return report?["sha256"] as? String ?? ""
    }

    static func storedSteps(_ client: PostgresClient, job: Int64) async throws -> [Int] {
        try await client.query("SELECT step FROM artifacts WHERE job_id = \(job) ORDER BY step").map { try $0.decode("step") }
    }

    /// Every stored blob is whole: its chunks are all there and add up to its size.
    static func blobsAreWhole(_ client: PostgresClient) async throws -> Bool {
        try await client.query("""
            SELECT count(*) AS n FROM artifact_blobs b
            WHERE (SELECT count(*) FROM artifact_chunks c WHERE c.upload_id = b.upload_id) <> b.chunks
               OR (SELECT coalesce(sum(octet_length(c.data)), 0) FROM artifact_chunks c WHERE c.upload_id = b.upload_id) <> b.bytes
            """)[0].decode("n", as: Int.self) == 0
    }

    @Test func aReclaimedJobResumesOnAnotherNodeBitIdentical() async throws {
        try await TestDatabase.with { client, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-travel")
            let worker = try #require(BuiltProducts.path("hearth-worker"))
            let data = try JobRunnerTests.Fixture.prepareData(worker: worker, in: dir)
            // The same job run in one go, for the bit-identical comparison at the end.
            let reference = try Self.uninterruptedModelSHA(spec: Self.spec(data), worker: worker, in: dir)
            let args = ["--heartbeat-seconds", "0.5", "--lease-seconds", "5", "--slots", "1"]
            let a = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "node-a", directory: dir, extraArguments: args)
            defer { a.child.signal(SIGKILL) }
            // The dataset is pushed from node A's CLI; no copy of it stays anywhere node B can see.
            let push = try await CLI.run(["dataset", "push", data, "--name", "words"], socket: a.socketPath)
            #expect(push.status == .exited(0) && push.stdout.contains("dataset words@1: 4 files"), Comment(rawValue: push.stdout + push.stderr))
            try FileManager.default.removeItem(atPath: data)
            let spec = Self.spec(data, dataset: "words")
            let specFile = dir.appendingPathComponent("spec.json")
            try spec.write(to: specFile, atomically: true, encoding: .utf8)
            _ = try await CLI.run(["submit", "--kind", "train", "--name", "travel", specFile.path], socket: a.socketPath)
            try await E2E.waitUntil("node-a stores a checkpoint of job 1", timeout: 120) {
                try await !Self.storedSteps(client, job: 1).isEmpty
            }
            let reclaim = try await CLI.run(["node", "reclaim", "node-a"], socket: a.socketPath)
            #expect(reclaim.status == .exited(0), Comment(rawValue: reclaim.stderr))
            try await E2E.waitUntil("job 1 is requeued", timeout: 60) {
                let j = try await E2E.job(1, via: a.socketPath)
                return j.state == .queued && j.preemptions == 1
            }
            // The preemption checkpoint was stored before the job was requeued.
            let recorded: Int = try await client.query("SELECT max(step) AS s FROM checkpoints WHERE job_id = 1")[0].decode("s")
            let stored = try await Self.storedSteps(client, job: 1)
            #expect(stored.last == recorded, "stored \(stored), recorded up to \(recorded)")
            #expect(recorded < 6000)
            #expect(await a.stop(SIGTERM) == .exited(0))
            // Nothing of node A is left where node B could read it.
            try FileManager.default.removeItem(at: dir.appendingPathComponent("node-a"))

            let b = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "node-b", directory: dir, extraArguments: args)
            defer { b.child.signal(SIGKILL) }
            try await E2E.waitUntil("job 1 succeeds", timeout: 180) { try await E2E.job(1, via: b.socketPath).state == .succeeded }
            let lastNode: String = try await client.query("""
                SELECT n.hostname FROM allocations a JOIN nodes n ON n.id = a.node_id WHERE a.job_id = 1 ORDER BY a.attempt DESC LIMIT 1
                """)[0].decode("hostname")
            #expect(lastNode == "node-b")
            #expect(b.log.contains("resuming from the fleet's checkpoint at step \(recorded)"), Comment(rawValue: b.log))
            let logs = try await CLI.run(["logs", "1"], socket: b.socketPath).stdout
            #expect(logs.contains(#""event":"resumed""#) || b.log.contains("resum"))
            let final: String = try await client.query(
                "SELECT sha256 FROM checkpoints WHERE job_id = 1 ORDER BY step DESC LIMIT 1")[0].decode("sha256")
            #expect(final == reference)
            let listed = try await CLI.run(["checkpoints", "1"], socket: b.socketPath).stdout
            #expect(listed.contains("6000"), Comment(rawValue: listed))
            // Retention applies fleet-wide: at most keep_checkpoints (3) stored, the final one among them.
            let kept = try await Self.storedSteps(client, job: 1)
            #expect(kept.count <= 3 && kept.last == 6000, "\(kept)")
            #expect(try await Self.blobsAreWhole(client))
            #expect(await b.stop(SIGTERM) == .exited(0))
        }
    }

    /// Node A's daemon dies (kill -9) while a checkpoint upload is in flight: its chunks were sent
    /// but the upload never committed (the test holds it there with a lock on artifact_blobs).
    /// No partial artifact is ever visible, and node B resumes from the last complete one.
    @Test func killNineMidUploadLeavesNothingAndBResumesFromTheLastCompleteCheckpoint() async throws {
        try await TestDatabase.with { client, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-travel-kill")
            let worker = try #require(BuiltProducts.path("hearth-worker"))
            let data = try JobRunnerTests.Fixture.prepareData(worker: worker, in: dir)
            let spec = Self.spec(data, steps: 4000, interval: 200)
            let args = ["--heartbeat-seconds", "0.5", "--lease-seconds", "3", "--slots", "1"]
            let a = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "node-a", directory: dir, extraArguments: args)
            defer { a.child.signal(SIGKILL) }
            try await E2E.waitUntil("node-a leads") { a.log.contains("now the fleet leader") }
            let specFile = dir.appendingPathComponent("spec.json")
            try spec.write(to: specFile, atomically: true, encoding: .utf8)
            _ = try await CLI.run(["submit", "--kind", "train", "--name", "kill", specFile.path], socket: a.socketPath)
            try await E2E.waitUntil("node-a stores a checkpoint of job 1", timeout: 120) {
                try await !Self.storedSteps(client, job: 1).isEmpty
            }

            let locker = try info.makeClient(maxConnections: 1)
            defer { locker.shutdown() }
            let lastComplete: Int = try await locker.withTransaction { c in
                // Hold the next upload between its last chunk and its commit.
                try await c.query("LOCK TABLE artifact_blobs IN EXCLUSIVE MODE")
                try await E2E.waitUntil("an upload waits to commit", timeout: 60) {
                    try await !client.query("""
                        SELECT 1 AS w FROM pg_stat_activity
                        WHERE wait_event_type = 'Lock' AND query LIKE '%hearth_artifact_upload_commit%'
                        """).isEmpty
                }
                let complete = try await Self.storedSteps(client, job: 1)
                #expect(await a.stop(SIGKILL) == .signalled(SIGKILL))
                // The node is gone: its orphaned worker too, and its disk.
                if let pid = Int32((try? String(contentsOf: dir.appendingPathComponent("node-a/jobs/1/worker.pid"), encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") { kill(pid, SIGKILL) }
                try? FileManager.default.removeItem(at: dir.appendingPathComponent("node-a"))
                #expect(try await Self.blobsAreWhole(client))
                return complete.last ?? -1
            }
            #expect(lastComplete > 0)
            // The killed upload's transaction is rolled back once its backend finds the client gone.
            try await E2E.waitUntil("the killed upload is rolled back", timeout: 30) {
                try await client.query("""
                    SELECT 1 AS w FROM pg_stat_activity WHERE query LIKE '%hearth_artifact_upload_commit%' AND pid <> pg_backend_pid()
                       AND state <> 'idle'
                    """).isEmpty
            }
            #expect(try await Self.storedSteps(client, job: 1).last == lastComplete)
            #expect(try await Self.blobsAreWhole(client))

            let b = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "node-b", directory: dir, extraArguments: args)
            defer { b.child.signal(SIGKILL) }
            try await E2E.waitUntil("job 1 succeeds", timeout: 180) { try await E2E.job(1, via: b.socketPath).state == .succeeded }
            let lastNode: String = try await client.query("""
                SELECT n.hostname FROM allocations a JOIN nodes n ON n.id = a.node_id WHERE a.job_id = 1 ORDER BY a.attempt DESC LIMIT 1
                """)[0].decode("hostname")
            #expect(lastNode == "node-b")
            #expect(b.log.contains("resuming from the fleet's checkpoint at step \(lastComplete)"), Comment(rawValue: b.log))
            let final: String = try await client.query(
                "SELECT sha256 FROM checkpoints WHERE job_id = 1 ORDER BY step DESC LIMIT 1")[0].decode("sha256")
            #expect(final == (try Self.uninterruptedModelSHA(spec: spec, worker: worker, in: dir)))
            #expect(try await Self.blobsAreWhole(client))
            #expect(await b.stop(SIGTERM) == .exited(0))
        }
    }
}

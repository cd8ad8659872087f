import Foundation
import HearthAPI
import HearthCore
import HearthProcess
import HearthStore
import HearthTesting
import Testing

/// Locality with real daemons (Docs/artifacts.md, "Locality"): each node records which blobs its
/// cache holds, and the leader's pass sends a job to the node that already has its dataset when
/// the nodes are otherwise equal; `hearth priority` shows where a pending job's inputs are.
@Suite(.serialized, .timeLimit(.minutes(10))) struct LocalityPlacementTests {
    typealias E2E = EndToEndTests

    @Test func ofTwoEqualNodesTheJobGoesToTheOneCachingItsDataset() async throws {
        try await TestDatabase.with { client, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-locality")
            let worker = try #require(BuiltProducts.path("hearth-worker"))
            let data = try JobRunnerTests.Fixture.prepareData(worker: worker, in: dir)
            let args = ["--heartbeat-seconds", "0.5", "--lease-seconds", "5", "--slots", "1"]
            // node-a registers first: without locality, ties go to it (snapshot order).
            let a = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "node-a", directory: dir,
                                            extraArguments: args)
            defer { a.child.signal(SIGKILL) }
            let push = try await CLI.run(["dataset", "push", data, "--name", "words", "--json"], socket: a.socketPath)
            let dataset = try APICoding.decoder().decode(ArtifactView.self, from: Data(push.stdout.utf8))

            // node-b's cache already holds the dataset's blobs (as after an earlier job there):
            // files named by their SHA-256 under STATE/artifacts/blobs, which the cache adopts at start.
            let blobs = dir.appendingPathComponent("node-b/artifacts/blobs")
            try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
            for file in dataset.files {
                let target = blobs.appendingPathComponent(file.sha256)
                try FileManager.default.copyItem(atPath: "\(data)/\(file.path)", toPath: target.path)
                chmod(target.path, 0o444)
            }
            let b = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "node-b", directory: dir,
                                            extraArguments: args)
            defer { b.child.signal(SIGKILL) }
            func recorded(_ node: String) async throws -> Int {
                try await client.query("""
                    SELECT count(*) AS n FROM node_cached_blobs c JOIN nodes n ON n.id = c.node_id WHERE n.hostname = \(node)
                    """)[0].decode("n")
            }
            try await E2E.waitUntil("node-b records its cached blobs", timeout: 30) {
                try await recorded("node-b") == dataset.files.count
            }
            #expect(try await recorded("node-a") == 0)

            let spec = dir.appendingPathComponent("train.json")
            try """
                {"model": {"layers": 1, "heads": 2, "width": 16, "context": 8}, "data": [{"dataset": "words"}], "batch_size": 4,
                 "steps": 100, "seed": 7, "threads": 1, "checkpoint_interval": 100, "log_interval": 100}
                """.write(to: spec, atomically: true, encoding: .utf8)
            let submitted = try await CLI.run(["submit", "--kind", "train", spec.path], socket: a.socketPath)
            #expect(submitted.stdout == "submitted job 1\n", Comment(rawValue: submitted.stderr))
            try await E2E.waitUntil("job 1 succeeds", timeout: 120) { try await E2E.job(1, via: a.socketPath).state == .succeeded }
            let ranOn: [String] = try await client.query("""
                SELECT n.hostname FROM allocations l JOIN nodes n ON n.id = l.node_id WHERE l.job_id = 1 ORDER BY l.attempt
                """).map { try $0.decode("hostname") }
            #expect(ranOn == ["node-b"], "job 1 ran on \(ranOn)")
            let ready = b.log.split(separator: "\n").first { $0.contains("hearth.event=dataset_ready") }
            #expect(ready?.contains("dataset.fetched_bytes=0") == true, "node-b fetched nothing: \(String(describing: ready))")

            // A job no node can run yet (it wants a GPU; these nodes have none) waits, and
            // `hearth priority` says where its inputs are.
            let waiting = try await CLI.run(["submit", "--kind", "train", "--gpus", "1", spec.path], socket: a.socketPath)
            #expect(waiting.stdout == "submitted job 2\n", Comment(rawValue: waiting.stderr))
            try await E2E.waitUntil("the leader sees job 2 pending", timeout: 30) {
                try await CLI.run(["priority", "2"], socket: a.socketPath).status == .exited(0)
            }
            let why = try await CLI.run(["priority", "2"], socket: a.socketPath).stdout
            let size = dataset.bytes < 100_000 ? "\(dataset.bytes) bytes" : String(format: "%.1f MB", Double(dataset.bytes) / 1_000_000)
            #expect(why.contains("Locality   \(size) of stored inputs; inputs cached on: node-b (\(size))"), Comment(rawValue: why))
            let json = try await CLI.run(["priority", "2", "--json"], socket: a.socketPath)
            let view = try APICoding.decoder().decode(PriorityView.self, from: Data(json.stdout.utf8))
            #expect(view.inputsCachedOn == [PriorityView.CachedInputs(node: "node-b", bytes: dataset.bytes)], "\(view)")
            #expect(view.inputBytes == dataset.bytes)
            #expect(await b.stop(SIGTERM) == .exited(0))
            #expect(await a.stop(SIGTERM) == .exited(0))
        }
    }
}

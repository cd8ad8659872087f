import Foundation
import HearthAPI
import HearthCore
import HearthProcess
import HearthStore
import HearthTesting
import Testing

/// Datasets by name (Docs/artifacts.md): pushed through the CLI, resolved at submission, and
/// fetched into a node's cache once.
@Suite(.serialized, .timeLimit(.minutes(10))) struct DatasetTests {
    typealias E2E = EndToEndTests

    @Test func datasetsByNameAreCheckedAtSubmissionAndFetchedOncePerNode() async throws {
        try await TestDatabase.with { client, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-datasets")
            let worker = try #require(BuiltProducts.path("hearth-worker"))
            let data = try JobRunnerTests.Fixture.prepareData(worker: worker, in: dir)
            let node = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "node-d", directory: dir,
                                         extraArguments: ["--heartbeat-seconds", "0.5", "--lease-seconds", "5", "--slots", "1"])
            defer { node.child.signal(SIGKILL) }
            let socket = node.socketPath
            let push = try await CLI.run(["dataset", "push", data, "--name", "words"], socket: socket)
            #expect(push.status == .exited(0), Comment(rawValue: push.stderr))
            let again = try await CLI.run(["dataset", "push", data, "--name", "words"], socket: socket)
            #expect(again.stdout.contains("dataset words@2"))
            // The same bytes are stored once.
            #expect(try await client.query("SELECT count(*) AS n FROM artifact_blobs")[0].decode("n", as: Int.self) == 4)
            // Neither a prepared dataset nor text (a NUL byte): refused before anything is uploaded.
            let binary = dir.appendingPathComponent("weights.dat")
            try Data([0x00, 0x01, 0x02, 0xFF]).write(to: binary)
            let notData = try await CLI.run(["dataset", "push", binary.path, "--name", "junk"], socket: socket)
            #expect(notData.status == .exited(64) && notData.stderr.contains("is not a prepared dataset (no index.json) nor one file of UTF-8 text"),
                    Comment(rawValue: notData.stderr))
            #expect(try await client.query("SELECT count(*) AS n FROM artifact_blobs")[0].decode("n", as: Int.self) == 4)
            let list = try await CLI.run(["dataset", "list"], socket: socket).stdout
            #expect(list.contains("words") && list.contains("2") && list.contains("1"), Comment(rawValue: list))

            // Bad references: a clear sentence, exit 1, and nothing queued.
            func submit(_ entry: String) async throws -> CLI.Result {
                let spec = """
                    {"model": {"layers": 1, "heads": 2, "width": 16, "context": 8}, "data": [\(entry)], "batch_size": 4,
                     "steps": 300, "seed": 7, "threads": 1, "checkpoint_interval": 100, "log_interval": 100}
                    """
                let file = dir.appendingPathComponent("spec-\(UUID().uuidString).json")
                try spec.write(to: file, atomically: true, encoding: .utf8)
                return try await CLI.run(["submit", "--kind", "train", file.path], socket: socket)
            }
            func submitCommand(_ spec: String) async throws -> CLI.Result {
                let file = dir.appendingPathComponent("cmd-\(UUID().uuidString).json")
                try spec.write(to: file, atomically: true, encoding: .utf8)
                return try await CLI.run(["submit", "--kind", "command", "--gpus", "0", file.path], socket: socket)
            }
            let missing = try await submit(#"{"dataset": "tolstoy"}"#)
            #expect(missing.status == .exited(1))
            #expect(missing.stderr.contains(#"spec.data[0]: you have no dataset named "tolstoy""#), Comment(rawValue: missing.stderr))
            let wrongHash = try await submit(#"{"dataset": "sha256:\#(String(repeating: "0", count: 64))"}"#)
            #expect(wrongHash.status == .exited(1) && wrongHash.stderr.contains("no dataset has digest"), Comment(rawValue: wrongHash.stderr))
            let noVersion = try await submit(#"{"dataset": "words@9"}"#)
            #expect(noVersion.stderr.contains("has no version 9"), Comment(rawValue: noVersion.stderr))
            #expect(try await client.query("SELECT count(*) AS n FROM jobs")[0].decode("n", as: Int.self) == 0)

            // Two jobs on the same dataset on this node: the first fetches it, the second nothing.
            try FileManager.default.removeItem(atPath: data)
            for _ in 1...2 { #expect(try await submit(#"{"dataset": "words@1"}"#).status == .exited(0)) }
            try await E2E.waitUntil("both jobs succeed", timeout: 120) {
                try await [E2E.job(1, via: socket).state, E2E.job(2, via: socket).state] == [.succeeded, .succeeded]
            }
            let ready = node.log.split(separator: "\n").filter { $0.contains("hearth.event=dataset_ready") }
            #expect(ready.count == 2, Comment(rawValue: node.log))
            let fetched = ready.compactMap { line in
                line.split(separator: " ").first { $0.hasPrefix("dataset.fetched_bytes=") }.flatMap { Int($0.split(separator: "=")[1]) }
            }
            let total: Int = try await client.query("SELECT bytes FROM artifacts WHERE name = 'words' AND version = 1")[0].decode("bytes")
            #expect(fetched == [total, 0], "fetched \(fetched) of \(total)")
            // A stored checkpoint named by job and step, fetched for another job (here a command
            // job that hashes it): the bytes job 1 recorded.
            let recorded: String = try await client.query(
                "SELECT sha256 FROM checkpoints WHERE job_id = 1 AND step = 300 LIMIT 1")[0].decode("sha256")
            let hashSpec = dir.appendingPathComponent("hash.json")
            try #"{"argv": ["/usr/bin/sha256sum", "@checkpoint:1:300/model.safetensors"]}"#.write(to: hashSpec, atomically: true, encoding: .utf8)
            let hash = try await CLI.run(["submit", "--kind", "command", "--gpus", "0", hashSpec.path], socket: socket)
            #expect(hash.status == .exited(0), Comment(rawValue: hash.stderr))
            try await E2E.waitUntil("the command job succeeds", timeout: 60) { try await E2E.job(3, via: socket).state == .succeeded }
            let hashed = try await CLI.run(["logs", "3"], socket: socket).stdout
            #expect(hashed.contains(recorded), Comment(rawValue: hashed))
            let jobsBefore: Int = try await client.query("SELECT count(*) AS n FROM jobs")[0].decode("n")
            // keep_checkpoints 2: the newest (300) and one older. Which older one depends on timing
            // (an upload waiting behind another is superseded by a newer one).
            let stored: [Int] = try await client.query(
                "SELECT step::int AS s FROM artifacts WHERE kind = 'checkpoint' AND job_id = 1 ORDER BY step").map { try $0.decode("s") }
            #expect(stored.count == 2 && stored.last == 300, "\(stored)")
            let older = try #require(stored.first), unstored = try #require([100, 200].first { !stored.contains($0) })
            let storedText = stored.map(String.init).joined(separator: ", ")
            let gone = try await submitCommand(#"{"argv": ["/bin/true", "@checkpoint:1:\#(unstored)"]}"#)
            #expect(gone.status == .exited(1) && gone.stderr.contains("job 1 has no stored checkpoint at step \(unstored) (stored: \(storedText)"),
                    Comment(rawValue: gone.stderr))
            let noJob = try await submitCommand(#"{"argv": ["/bin/true", "@checkpoint:99:latest"]}"#)
            #expect(noJob.stderr.contains("names job 99, which does not exist"), Comment(rawValue: noJob.stderr))
            #expect(try await client.query("SELECT count(*) AS n FROM jobs")[0].decode("n", as: Int.self) == jobsBefore)

            // Retention keeps a finished job's checkpoints until its owner removes them.
            let one = try await CLI.run(["checkpoints", "rm", "1", "--step", "\(older)"], socket: socket)
            #expect(one.stdout.contains("removed checkpoint of job 1 at step \(older)"), Comment(rawValue: one.stdout + one.stderr))
            let noStep = try await CLI.run(["checkpoints", "rm", "1", "--step", "\(older)"], socket: socket)
            #expect(noStep.status == .exited(1) && noStep.stderr.contains("job 1 has no stored checkpoint at step \(older) (stored: 300)"),
                    Comment(rawValue: noStep.stderr))
            #expect(try await CLI.run(["checkpoints", "1"], socket: socket).stdout.contains("300"))
            let all = try await CLI.run(["checkpoints", "rm", "1"], socket: socket)
            #expect(all.stdout.contains("at step 300"), Comment(rawValue: all.stdout + all.stderr))
            #expect(try await client.query("SELECT count(*) AS n FROM artifacts WHERE kind = 'checkpoint' AND job_id = 1")[0]
                .decode("n", as: Int.self) == 0)

            let rm = try await CLI.run(["dataset", "rm", "words@2"], socket: socket)
            #expect(rm.stdout.contains("removed words@2"))
            #expect(await node.stop(SIGTERM) == .exited(0))
        }
    }

    /// Raw text pushed by name: a job on the node prepares it (char tokenizer) into the dataset's
    /// next version, owned by the pusher, and a training job then uses it by name.
    @Test func rawTextIsPreparedOnANodeIntoTheNextVersion() async throws {
        try await TestDatabase.with { client, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-rawtext")
            let node = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "node-t", directory: dir,
                                         extraArguments: ["--heartbeat-seconds", "0.5", "--lease-seconds", "5", "--slots", "1"])
            defer { node.child.signal(SIGKILL) }
            let socket = node.socketPath
            let words = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "to", "be", "or", "not"]
            var rng = SystemRandomNumberGenerator()
            let corpus = dir.appendingPathComponent("corpus.txt")
            try (0..<6000).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ").write(to: corpus, atomically: true, encoding: .utf8)

            // Drained, the node holds the prepare job back, so the stored text can be seen waiting
            // (on a quick machine the job could otherwise prepare it and drop it at once).
            let drain = try await CLI.run(["node", "drain", "node-t"], socket: socket)
            #expect(drain.status == .exited(0), Comment(rawValue: drain.stderr))
            let push = try await CLI.run(["dataset", "push", corpus.path, "--name", "corpus"], socket: socket)
            #expect(push.status == .exited(0), Comment(rawValue: push.stderr))
            #expect(push.stdout.contains("job 1 prepares it with the char tokenizer"), Comment(rawValue: push.stdout))
            #expect(try await client.query("SELECT count(*) AS n FROM artifacts WHERE kind = 'text'")[0].decode("n", as: Int.self) == 1)
            #expect(try await CLI.run(["node", "resume", "node-t"], socket: socket).status == .exited(0))
            try FileManager.default.removeItem(at: corpus)
            try await E2E.waitUntil("the prepare job succeeds", timeout: 120) { try await E2E.job(1, via: socket).state == .succeeded }
            let show = try await CLI.run(["dataset", "show", "corpus"], socket: socket).stdout
            #expect(show.contains("corpus@1") && show.contains("index.json") && show.contains("tokenizer.json"), Comment(rawValue: show))
            #expect(try await client.query("SELECT count(*) AS n FROM artifacts WHERE kind = 'text'")[0].decode("n", as: Int.self) == 0,
                    "the pushed text is removed once prepared")
            #expect(node.log.contains("hearth.event=dataset-prepared"), Comment(rawValue: node.log))

            let spec = dir.appendingPathComponent("train.json")
            try """
                {"model": {"layers": 1, "heads": 2, "width": 16, "context": 8}, "data": [{"dataset": "corpus"}], "batch_size": 4,
                 "steps": 50, "seed": 7, "threads": 1, "log_interval": 10}
                """.write(to: spec, atomically: true, encoding: .utf8)
            let train = try await CLI.run(["submit", "--kind", "train", spec.path], socket: socket)
            #expect(train.status == .exited(0), Comment(rawValue: train.stderr))
            try await E2E.waitUntil("training on the prepared dataset succeeds", timeout: 120) {
                try await E2E.job(2, via: socket).state == .succeeded
            }
            #expect(await node.stop(SIGTERM) == .exited(0))
        }
    }

    /// Another account's dataset (by digest) or checkpoint (by job and step): refused at
    /// submission with a 403 sentence, nothing queued.
    @Test(.enabled(if: geteuid() == 0, "creating Unix users needs root; CI runs as root"))
    func anotherAccountsDatasetOrCheckpointIsRefusedAtSubmission() async throws {
        try AccessControlTests.makeUsers()
        let cli = try AccessControlTests.reachableCLI()
        try await TestDatabase.with { client, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-datasets-authz")
            chmod(dir.path, 0o755)
            let worker = try #require(BuiltProducts.path("hearth-worker"))
            let data = try JobRunnerTests.Fixture.prepareData(worker: worker, in: dir)
            let node = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "node-z", directory: dir,
                                         extraArguments: ["--heartbeat-seconds", "0.5", "--lease-seconds", "5", "--slots", "1"])
            defer { node.child.signal(SIGKILL) }
            let runner = AccessControlTests.Runner(cli: cli, socket: node.socketPath, scratch: dir)
            let push = try await runner.root(["dataset", "push", data, "--name", "words", "--json"])
            let dataset = try APICoding.decoder().decode(ArtifactView.self, from: Data(push.stdout.utf8))
            let trainSpec = dir.appendingPathComponent("train.json")
            try """
                {"model": {"layers": 1, "heads": 2, "width": 16, "context": 8}, "data": [{"dataset": "words"}], "batch_size": 4,
                 "steps": 200, "seed": 7, "threads": 1, "checkpoint_interval": 100, "log_interval": 100}
                """.write(to: trainSpec, atomically: true, encoding: .utf8)
            _ = try runner.submitted(try await runner.root(["submit", "--kind", "train", trainSpec.path]))
            try await E2E.waitUntil("root's job succeeds", timeout: 120) { try await E2E.job(1, via: node.socketPath).state == .succeeded }

            let before = try await AccessControlTests.snapshot(client)
            func write(_ name: String, _ text: String) throws -> String {
                let url = dir.appendingPathComponent(name)
                try text.write(to: url, atomically: true, encoding: .utf8)
                chmod(url.path, 0o644)
                return url.path
            }
            let theirs = try write("theirs.json", """
                {"model": {"layers": 1, "heads": 2, "width": 16, "context": 8}, "data": [{"dataset": "sha256:\(dataset.digest)"}],
                 "batch_size": 4, "steps": 10}
                """)
            AccessControlTests.refused(try await runner.carol(["submit", "--kind", "train", theirs]),
                                       "spec.data[0]: the dataset with digest \(dataset.digest) belongs to root")
            // By name, carol's own namespace: she has no "words".
            let byName = try write("byname.json", """
                {"model": {"layers": 1, "heads": 2, "width": 16, "context": 8}, "data": [{"dataset": "words"}], "batch_size": 4, "steps": 10}
                """)
            AccessControlTests.refused(try await runner.carol(["submit", "--kind", "train", byName]), "you have no dataset named \"words\"")
            let checkpoint = try write("ckpt.json", #"{"argv": ["/bin/true", "@checkpoint:1:200"]}"#)
            AccessControlTests.refused(try await runner.carol(["submit", "--kind", "command", "--gpus", "0", checkpoint]),
                                       "job 1 belongs to root")
            AccessControlTests.refused(try await runner.carol(["checkpoints", "1"]), "belongs to root")
            AccessControlTests.refused(try await runner.carol(["checkpoints", "rm", "1"]), "belongs to root")
            #expect(try await AccessControlTests.snapshot(client) == before)
            #expect(await node.stop(SIGTERM) == .exited(0))
        }
    }
}

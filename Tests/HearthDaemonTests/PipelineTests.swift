import Foundation
import HearthAPI
import HearthCore
import HearthProcess
import HearthStore
import HearthTesting
import Testing

/// Pipelines: several jobs in one submission, each waiting for the steps it names, and taking
/// values (a checkpoint path) from their results when it starts.
@Suite(.serialized, .timeLimit(.minutes(10))) struct PipelineTests {
    typealias E2E = EndToEndTests

    static func spec(_ data: String, steps: Int, extra: String = "") -> String {
        """
        {"model": {"layers": 1, "heads": 2, "width": 16, "context": 8}, "data": [{"path": "\(data)"}], "batch_size": 4,
         "steps": \(steps), "seed": 7, "threads": 1, "log_interval": 100\(extra)}
        """
    }

    @Test func aPipelineRunsInOrderAndPassesTheCheckpointOn() async throws {
        try await TestDatabase.with { client, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-pipeline")
            let worker = try #require(BuiltProducts.path("hearth-worker"))
            let data = try JobRunnerTests.Fixture.prepareData(worker: worker, in: dir)
            let daemon = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "pipe", directory: dir,
                                           extraArguments: ["--heartbeat-seconds", "0.5", "--slots", "2"])
            defer { daemon.child.signal(SIGKILL) }
            let socket = daemon.socketPath

            // Refused before anything is queued: a step naming a later (or no) step.
            let bad = dir.appendingPathComponent("bad.json")
            try """
                {"steps": [{"name": "b", "kind": "train", "spec": \(Self.spec(data, steps: 10, extra: #", "init_from": "@a.path/model.safetensors""#))},
                           {"name": "a", "kind": "train", "spec": \(Self.spec(data, steps: 10))}]}
                """.write(to: bad, atomically: true, encoding: .utf8)
            let refused = try await CLI.run(["submit", bad.path], socket: socket)
            #expect(refused.status == .exited(1) && refused.stderr.contains("refers to \"a\", which is not an earlier step"), "\(refused.stderr)")
            let none: Int = try await client.query("SELECT count(*) AS n FROM jobs")[0].decode("n")
            #expect(none == 0)

            let file = dir.appendingPathComponent("pipeline.json")
            try """
                {"steps": [
                  {"name": "pretrain", "kind": "train", "spec": \(Self.spec(data, steps: 300))},
                  {"name": "finetune", "kind": "train", "spec": \(Self.spec(data, steps: 200, extra: #", "init_from": "@pretrain.path/model.safetensors""#))},
                  {"name": "broken", "kind": "train", "after": ["pretrain"], "spec": \(Self.spec(data, steps: 10, extra: #", "init_from": "@pretrain.nothing""#))}]}
                """.write(to: file, atomically: true, encoding: .utf8)
            let submitted = try await CLI.run(["submit", file.path], socket: socket)
            #expect(submitted.stdout == "submitted pipeline: pretrain=1 finetune=2 broken=3\n", "\(submitted.stderr)")
            let second = try await E2E.job(2, via: socket)
            #expect(second.afterOK == [1])

            try await E2E.waitUntil("finetune succeeds", timeout: 90) { try await E2E.job(2, via: socket).state == .succeeded }
            let queue = JobQueue(client: client)
            let first = try #require(try await queue.job(1))
            let finetune = try #require(try await queue.job(2))
            let started = try #require(finetune.startedAt), ended = try #require(first.finishedAt)
            #expect(started >= ended, "finetune started after pretrain ended")
            // The job file the worker got names pretrain's final checkpoint.
            let jobFile = try String(contentsOf: dir.appendingPathComponent("pipe/jobs/2/job.json"), encoding: .utf8)
            let result = try #require(first.resultJSON)
            let path = try #require((try JSONSerialization.jsonObject(with: Data(result.utf8)) as? [String: Any])?["path"] as? String)
            #expect(jobFile.contains(path.replacingOccurrences(of: "/", with: "\\/") + "\\/model.safetensors")
                    || jobFile.contains(path + "/model.safetensors"), "\(jobFile)")
            try await E2E.waitUntil("broken fails", timeout: 30) { try await E2E.job(3, via: socket).state == .failed }
            let broken = try await E2E.job(3, via: socket)
            #expect(broken.lastError?.contains("has no \"nothing\"") == true, "\(broken.lastError ?? "")")
            #expect(broken.attempt == 1, "a spec that cannot be resolved is not retried")
            #expect(await daemon.stop(SIGTERM) == .exited(0))
        }
    }
}

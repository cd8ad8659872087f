import Foundation
import HearthCore
import HearthDaemon
import HearthStore
import HearthTesting
import Testing

/// Eval jobs through the agent's runner: the real worker evaluates a checkpoint the real trainer
/// wrote, and each task's metrics land in `eval_results`, fenced by the attempt's lease.
@Suite(.serialized, .timeLimit(.minutes(3))) struct EvalJobTests {
    @Test func anEvalJobRecordsEachTasksMetricsWithItsCheckpoint() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await JobRunnerTests.Fixture(client: client)
            let train = try await f.submit(steps: 20)
            let (_, _, training) = try await f.claimAndRun()
            #expect(await outcome(of: training) == .succeeded)
            let ckpt = try #require(try await f.queue.latestCheckpoint(jobID: train.id))

            let doc = f.dir.appendingPathComponent("doc.txt").path, mc = f.dir.appendingPathComponent("mc.jsonl").path
            try "the quick brown fox jumps over a lazy dog\n".write(toFile: doc, atomically: true, encoding: .utf8)
            try #"{"query": "the quick brown", "choices": ["fox", "dog"], "gold": 0}"#.write(toFile: mc, atomically: true, encoding: .utf8)
            let spec = """
                {"checkpoint": "\(ckpt.path)", "tokenizer": "\(f.data)/tokenizer.json",
                 "tasks": [{"name": "doc", "type": "perplexity", "path": "\(doc)"},
                           {"name": "mc", "type": "multiple_choice", "path": "\(mc)"}]}
                """
            let job = try await f.queue.enqueue(NewJob(kind: "eval", accountID: f.account, specJSON: spec)).job
            let (claimed, lease, evaluating) = try await f.claimAndRun()
            #expect(claimed.id == job.id)
            #expect(await outcome(of: evaluating) == .succeeded)

            let results = try await f.queue.evalResults(jobID: job.id)
            #expect(results.map { "\($0.task).\($0.metric)" } ==
                    ["doc.bits_per_byte", "doc.byte_perplexity", "doc.word_perplexity", "mc.acc", "mc.acc_norm"])
            #expect(results.allSatisfy { $0.checkpointSHA256 == ckpt.sha256 && $0.checkpointStep == 20 && $0.attempt == 1 })
            #expect(results.first { $0.task == "mc" }?.samples == 1)
            // The daemon gave the worker a results path in the job's directory; the file agrees.
            let file = f.dir.appendingPathComponent("jobs/\(job.id)/results.json")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
            let bpb = ((json["results"] as? [String: Any])?["doc"] as? [String: Any])?["bits_per_byte,none"] as? Double
            #expect(bpb == results.first?.value)

            // The attempt is over: its lease can no longer write results.
            await #expect(throws: QueueError.self) {
                try await f.queue.recordEvalResult(lease, task: "late", samples: 1, metrics: ["acc": 1],
                                                   checkpoint: (ckpt.step, ckpt.path, ckpt.sha256))
            }
            #expect(try await f.queue.evalResults(jobID: job.id).count == 5)
        }
    }

    /// An eval job with a task file that does not exist fails for good (bad input), naming the file.
    @Test func aBadEvalJobFailsWithTheReason() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await JobRunnerTests.Fixture(client: client)
            let spec = """
                {"checkpoint": "\(f.dir.path)/nope", "tokenizer": "\(f.data)/tokenizer.json",
                 "tasks": [{"name": "doc", "type": "perplexity", "path": "/nonexistent.txt"}]}
                """
            let job = try await f.queue.enqueue(NewJob(kind: "eval", accountID: f.account, specJSON: spec)).job
            let (_, _, task) = try await f.claimAndRun()
            #expect(await outcome(of: task) == .failed(retrying: false))
            let failed = try #require(try await f.queue.job(job.id))
            #expect(failed.state == .failed && failed.lastError?.contains("is not a checkpoint") == true, "\(failed.lastError ?? "")")
        }
    }
}

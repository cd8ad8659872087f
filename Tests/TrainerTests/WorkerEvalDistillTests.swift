import Foundation
import Testing
@testable import Trainer

/// `hearth-worker eval --job` and `hearth-worker distill --job` as the daemon runs them.
extension WorkerProcessTests {
    @Test func evalJobReportsEachTaskAndWritesAHarnessShapedFile() throws {
        let dir = temporaryDirectory("worker-evaljob")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try tinyDataset(in: dir)
        #expect(try run(["train", "--job", try writeJob(dir, data: data, steps: 3)]).status == 0)
        let ckpt = try #require(Checkpoint.latest(root: dir + "/ckpt"))
        let text = "to be or not to be that is the question\n"
        try text.write(toFile: dir + "/doc.txt", atomically: true, encoding: .utf8)
        try """
        {"query": "to be or not to", "choices": ["be", "question"], "gold": 0}
        {"query": "that is the", "choices": ["question", "be"], "gold": 0}
        """.write(toFile: dir + "/mc.jsonl", atomically: true, encoding: .utf8)
        let job = """
        {"checkpoint": "\(ckpt)", "tokenizer": "\(data)/tokenizer.json", "results_path": "\(dir)/out/results.json",
         "threads": 1, "batch": 4,
         "tasks": [{"name": "doc", "type": "perplexity", "path": "\(dir)/doc.txt"},
                   {"name": "mc", "type": "multiple_choice", "path": "\(dir)/mc.jsonl"}]}
        """
        try job.write(toFile: dir + "/eval.json", atomically: true, encoding: .utf8)
        let o = try run(["eval", "--job", dir + "/eval.json"])
        #expect(o.status == 0, "\(o.stderr)")
        let results = o.events.filter { $0["event"] as? String == "eval_result" }
        #expect(results.compactMap { $0["task"] as? String } == ["doc", "mc"])
        #expect(o.events.last?["event"] as? String == "done")
        let info = try Checkpoint.info(ckpt)
        let c = try #require(results.first?["checkpoint"] as? [String: Any])
        #expect(c["sha256"] as? String == info.modelSHA256 && c["step"] as? Int == 3)

        // The worker's bits per byte equal the scoring core's, run here on the same checkpoint with
        // the job's threads and batch (other batch sizes group the windows differently: equal to ~1e-6).
        let scorer = try Scorer(checkpoint: ckpt, threads: 1, batchSize: 4)
        let tok = try loadTokenizer(data + "/tokenizer.json")
        let ll = try scorer.rollingLoglikelihood(try tok.encode(text), prefix: try tok.encode("\n")[0])
        let metrics = try #require(results.first?["metrics"] as? [String: Double])
        #expect(abs((metrics["bits_per_byte"] ?? 0) - (-ll / Double(text.utf8.count) / log(2))) < 1e-12)

        let file = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/out/results.json"))) as? [String: Any])
        let doc = try #require((file["results"] as? [String: Any])?["doc"] as? [String: Any])
        #expect(doc["bits_per_byte,none"] as? Double == metrics["bits_per_byte"])
        #expect((file["versions"] as? [String: Any])?["mc"] as? Int == 1)
        #expect(((file["n-samples"] as? [String: Any])?["mc"] as? [String: Any])?["effective"] as? Int == 2)
        #expect(file["configs"] is [String: Any])

        // A task file that is not there: bad input naming it.
        try job.replacingOccurrences(of: "/mc.jsonl", with: "/missing.jsonl").write(toFile: dir + "/bad.json", atomically: true, encoding: .utf8)
        let bad = try run(["eval", "--job", dir + "/bad.json"])
        #expect(bad.status == Trainer.ExitCode.badInput && bad.stderr.contains("missing.jsonl"), "\(bad.stderr)")
    }

    @Test func distillJobIsPreemptibleAndResumes() throws {
        let dir = temporaryDirectory("worker-distill")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try tinyDataset(in: dir)
        #expect(try run(["train", "--job", try writeJob(dir, data: data, steps: 3)]).status == 0)
        let teacher = try #require(Checkpoint.latest(root: dir + "/ckpt"))
        let student = #"{"layers": 1, "heads": 2, "width": 16, "context": 8}"#
        let extra = #", "teacher": "\#(teacher)", "alpha": 0.5, "temperature": 2, "student_init_layers": [0], "checkpoint_interval": 0, "log_interval": 100"#
        // The student's job file and checkpoints live in their own directory.
        let sdir = dir + "/student"
        try FileManager.default.createDirectory(atPath: sdir, withIntermediateDirectories: true)
        let job = try writeJob(sdir, data: data, steps: 1_000_000, extra: extra, model: student)
        let stopped = try run(["distill", "--job", job], stopAfter: "progress")
        #expect(stopped.status == Trainer.ExitCode.preempted, "\(stopped.stderr)")
        let step = try #require(stopped.events.last { $0["event"] as? String == "preempted" }?["step"] as? Int)
        let resumed = try run(["distill", "--job", job], stopAfter: "resumed")
        let r = try #require(resumed.events.first { $0["event"] as? String == "resumed" })
        #expect(r["step"] as? Int == step)
        // A distill job without a teacher is bad input.
        let noTeacher = try writeJob(sdir, data: data, steps: 2, model: student)
        let bad = try run(["distill", "--job", noTeacher])
        #expect(bad.status == Trainer.ExitCode.badInput && bad.stderr.contains("teacher"), "\(bad.stderr)")
    }
}

import Foundation
import HearthCore
import HearthDaemon
import HearthProcess
import HearthAPI
import HearthStore
import HearthTesting
import Testing

/// Eval jobs through the agent's runner: the real worker evaluates a checkpoint the real trainer
/// wrote, and each task's metrics land in `eval_results`, fenced by the attempt's lease.
@Suite(.serialized, .timeLimit(.minutes(10))) struct EvalJobTests {
    @Test func anEvalJobRecordsEachTasksMetricsWithItsCheckpoint() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await JobRunnerTests.Fixture(client: client)
            let train = try await f.submit(steps: 20)
            let (_, _, training) = try await f.claimAndRun()
            #expect(await outcome(of: training) == .succeeded)
            let ckpt = try #require(try await f.queue.latestCheckpoint(jobID: train.id))

            let doc = f.dir.appendingPathComponent("doc.txt").path, mc = f.dir.appendingPathComponent("mc.jsonl").path
            try "the quick brown fox jumps over a lazy dog".write(toFile: doc, atomically: true, encoding: .utf8)
            try #"{"query": "the quick brown", "choices": ["fox", "dog"], "gold": 0}"#.write(toFile: mc, atomically: true, encoding: .utf8)
            // The fixture's text has no newline, so texts start from a space (text_start).
            let spec = """
                {"checkpoint": "\(ckpt.path)", "tokenizer": "\(f.data)/tokenizer.json", "text_start": " ",
                 "tasks": [{"name": "doc", "type": "perplexity", "path": "\(doc)"},
                           {"name": "mc", "type": "multiple_choice", "path": "\(mc)"}]}
                """
            let job = try await f.queue.enqueue(NewJob(kind: .eval, accountID: f.account, specJSON: spec)).job
            let (claimed, lease, evaluating) = try await f.claimAndRun()
            #expect(claimed.id == job.id)
            #expect(await outcome(of: evaluating) == .succeeded)

            let results = try await f.queue.evalResults(jobID: job.id)
            #expect(results.map { "\($0.task).\($0.metric)" } ==
                    ["doc.bits_per_byte", "doc.byte_perplexity", "doc.word_perplexity", "mc.acc", "mc.acc_norm"])
            #expect(results.allSatisfy { $0.checkpointSHA256 == ckpt.sha256 && $0.checkpointStep == 20 && $0.attempt == 1 })
            #expect(results.first { $0.task == "mc" }?.samples == 1)
            // The daemon gave the worker a results path in the job's directory; the file agrees.
            let file = f.dir.appendingPathComponent("jobs/\(job.id)/work/results.json")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
            let bpb = ((json["results"] as? [String: Any])?["doc"] as? [String: Any])?["bits_per_byte,none"] as? Double
            // Equal up to the last bit or so: the file and the report are each printed and parsed
            // by a different JSON library (Foundation's parser can round the last digit differently).
            let stored = try #require(results.first?.value)
            #expect(abs(try #require(bpb) - stored) <= 1e-12 * stored, "file \(String(describing: bpb)) vs stored \(stored)")

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
                {"checkpoint": "\(f.dir.path)/nope", "tokenizer": "\(f.data)/tokenizer.json", "text_start": " ",
                 "tasks": [{"name": "doc", "type": "perplexity", "path": "/nonexistent.txt"}]}
                """
            let job = try await f.queue.enqueue(NewJob(kind: .eval, accountID: f.account, specJSON: spec)).job
            let (_, _, task) = try await f.claimAndRun()
            #expect(await outcome(of: task) == .failed(retrying: false))
            let failed = try #require(try await f.queue.job(job.id))
            #expect(failed.state == .failed && failed.lastError?.contains("is not a checkpoint") == true, "\(failed.lastError ?? "")")
        }
    }

    /// Through hearthd and the CLI: a run's two checkpoints evaluated by two eval jobs, shown and
    /// compared side by side.
    @Test func evalShowAndCompareThroughTheCLI() async throws {
        try await TestDatabase.with { _, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-eval-e2e")
            let worker = try #require(BuiltProducts.path("hearth-worker"))
            let data = try JobRunnerTests.Fixture.prepareData(worker: worker, in: dir)
            let daemon = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "eval-e2e", directory: dir,
                                           extraArguments: ["--heartbeat-seconds", "0.5", "--lease-seconds", "5"])
            defer { daemon.child.signal(SIGKILL) }
            let socket = daemon.socketPath
            let ckpts = dir.appendingPathComponent("run").path
            let train = dir.appendingPathComponent("train.json")
            try """
                {"model": {"layers": 1, "heads": 2, "width": 16, "context": 8}, "data": [{"path": "\(data)"}], "batch_size": 4,
                 "steps": 200, "seed": 7, "threads": 1, "checkpoint_interval": 100, "log_interval": 100, "checkpoint_dir": "\(ckpts)"}
                """.write(to: train, atomically: true, encoding: .utf8)
            #expect(try await CLI.run(["submit", "--kind", "train", train.path], socket: socket).stdout == "submitted job 1\n")
            try await EndToEndTests.waitUntil("job 1 succeeded") { try await EndToEndTests.job(1, via: socket).state == .succeeded }

            let doc = dir.appendingPathComponent("doc.txt").path
            try "the quick brown fox jumps over a lazy dog to be or not to be".write(toFile: doc, atomically: true, encoding: .utf8)
            for step in ["00000100", "00000200"] {
                let spec = dir.appendingPathComponent("eval-\(step).json")
                try """
                    {"checkpoint": "\(ckpts)/step-\(step)", "tokenizer": "\(data)/tokenizer.json", "text_start": " ",
                     "tasks": [{"name": "doc", "type": "perplexity", "path": "\(doc)"}]}
                    """.write(to: spec, atomically: true, encoding: .utf8)
                let r = try await CLI.run(["submit", "--kind", "eval", "--name", "eval-\(step)", spec.path], socket: socket)
                #expect(r.status == .exited(0), "\(r.stderr)")
            }
            for id: Int64 in [2, 3] {
                try await EndToEndTests.waitUntil("job \(id) succeeded") { try await EndToEndTests.job(id, via: socket).state == .succeeded }
            }
            let show = try await CLI.run(["eval", "show", "3"], socket: socket)
            #expect(show.status == .exited(0), "\(show.stderr)")
            #expect(show.stdout.contains("Checkpoint step 200") && show.stdout.contains("doc   bits_per_byte"), "\(show.stdout)")
            let json = try await CLI.run(["eval", "show", "2", "--json"], socket: socket)
            let view = try APICoding.decoder().decode(EvalResultsView.self, from: Data(json.stdout.utf8))
            #expect(view.results.map(\.metric) == ["bits_per_byte", "byte_perplexity", "word_perplexity"])
            #expect(view.results.allSatisfy { $0.checkpointStep == 100 && $0.samples == 1 })
            let compare = try await CLI.run(["eval", "compare", "2", "3"], socket: socket)
            #expect(compare.status == .exited(0), "\(compare.stderr)")
            print("$ hearth eval show 3\n" + show.stdout + "$ hearth eval compare 2 3\n" + compare.stdout)  // Docs/evaluation.md quotes this
            let lines = compare.stdout.split(separator: "\n")
            #expect(lines.first?.contains("JOB 2 @100") == true && lines.first?.contains("JOB 3 @200") == true, "\(compare.stdout)")
            #expect(lines.count == 4, "a header and three metrics: \(compare.stdout)")
            let one = try await CLI.run(["eval", "compare", "2"], socket: socket)
            #expect(one.status != .exited(0) && one.stderr.contains("at least two"), "bad usage")
            let missing = try await CLI.run(["eval", "show", "99"], socket: socket)
            #expect(missing.status == .exited(1) && missing.stderr.contains("no job 99"))
        }
    }

    /// A distill job through the runner: the worker mode is the job kind, and the student's
    /// progress and checkpoints are recorded like a training job's.
    @Test func aDistillJobRunsLikeATrainingJob() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await JobRunnerTests.Fixture(client: client)
            let teacherJob = try await f.submit(steps: 20)
            let (_, _, training) = try await f.claimAndRun()
            #expect(await outcome(of: training) == .succeeded)
            let teacher = try #require(try await f.queue.latestCheckpoint(jobID: teacherJob.id))
            let spec = """
                {"model": {"layers": 1, "heads": 2, "width": 16, "context": 8}, "data": [{"path": "\(f.data)"}], "batch_size": 4,
                 "steps": 30, "seed": 7, "threads": 1, "log_interval": 10, "teacher": "\(teacher.path)", "alpha": 0.5,
                 "temperature": 2, "student_init_layers": [0]}
                """
            let job = try await f.queue.enqueue(NewJob(kind: .distill, accountID: f.account, specJSON: spec)).job
            let (claimed, _, distilling) = try await f.claimAndRun()
            #expect(claimed.id == job.id && claimed.kind == .distill)
            #expect(await outcome(of: distilling) == .succeeded)
            #expect(try await f.queue.metrics(jobID: job.id).map(\.step) == [10, 20, 30])
            let student = try #require(try await f.queue.latestCheckpoint(jobID: job.id))
            #expect(student.step == 30 && student.path.contains("/jobs/\(job.id)/"))
        }
    }

    /// Every line `eval --job` reports is one the daemon's report decoder reads.
    @Test func everyEvalReportDecodes() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await JobRunnerTests.Fixture(client: client)
            _ = try await f.submit(steps: 5)
            let (_, _, training) = try await f.claimAndRun()
            #expect(await outcome(of: training) == .succeeded)
            let ckpt = try #require(try await f.queue.latestCheckpoint(jobID: 1))
            let mc = f.dir.appendingPathComponent("mc.jsonl").path, job = f.dir.appendingPathComponent("eval.json").path
            try #"{"query": "the quick brown", "choices": ["fox", "dog"], "gold": 0}"#.write(toFile: mc, atomically: true, encoding: .utf8)
            try """
                {"checkpoint": "\(ckpt.path)", "tokenizer": "\(f.data)/tokenizer.json", "text_start": " ",
                 "results_path": "\(f.dir.path)/r.json", "tasks": [{"name": "mc", "type": "multiple_choice", "path": "\(mc)"}]}
                """.write(toFile: job, atomically: true, encoding: .utf8)
            let out = f.dir.appendingPathComponent("reports.jsonl").path
            let fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            let worker = try #require(BuiltProducts.path("hearth-worker"))
            let child = try ChildProcess.spawn(worker, ["eval", "--job", job], descriptors: [nil, fd, 2])
            close(fd)
            #expect(child.waitBlocking() == .exited(0))
            let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map(String.init)
            #expect(lines.count == 3)
            let reports = lines.compactMap(WorkerReport.parse)
            #expect(reports.map(\.event) == ["started", "eval_result", "done"])
            #expect(reports[1].task == "mc" && reports[1].metrics?["acc"] != nil && reports[1].checkpoint?.sha256 == ckpt.sha256)
        }
    }
}

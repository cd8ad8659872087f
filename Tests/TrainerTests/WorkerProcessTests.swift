import Foundation
import Testing
@testable import Trainer

/// `hearth-worker` as the daemon runs it: JSON-lines reports, exit codes, signals, one-line errors.
@Suite(.serialized) struct WorkerProcessTests {
    /// The built executable next to the test bundle.
    static let worker: String? = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("hearth-worker").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }()

    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
        var events: [[String: Any]] {
            stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
    }

    /// Runs the worker to its exit. With `stopAfter`, it is sent SIGTERM as soon as it has reported
    /// that event (a JSON line on stdout) — what the daemon does to preempt it — and SIGKILLed if it
    /// is still running 30 s later, so a worker that ignores the signal fails the test, not hangs it.
    func run(_ args: [String], stopAfter event: String? = nil) throws -> Outcome {
        let path = try #require(Self.worker, "hearth-worker is not built next to the tests (run swift build first)")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        // stderr drains on its own thread, so neither pipe can fill up and stall the worker.
        nonisolated(unsafe) var e = Data()
        let stderrDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread { e = err.fileHandleForReading.readDataToEndOfFile(); stderrDone.signal() }
        var o = Data()
        var signalled = false
        while case let chunk = out.fileHandleForReading.availableData, !chunk.isEmpty {
            o.append(chunk)
            guard let event, !signalled else { continue }
            let seen = String(decoding: o, as: UTF8.self).split(separator: "\n").contains {
                ((try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any])?["event"] as? String == event
            }
            if seen {
                signalled = true
                p.terminate()
                let pid = p.processIdentifier
                DispatchQueue.global().asyncAfter(deadline: .now() + 30) { if p.isRunning { kill(pid, SIGKILL) } }
            }
        }
        p.waitUntilExit()
        stderrDone.wait()
        if let event, !signalled { Issue.record("the worker exited without reporting \"\(event)\"") }
        return Outcome(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    func writeJob(_ dir: String, data: String, steps: Int, extra: String = "", model: String? = nil) throws -> String {
        let m = model ?? #"{"layers": 1, "heads": 2, "width": 16, "context": 8}"#
        let json = """
        {"model": \(m), "data": [{"path": "\(data)", "weight": 1}], "batch_size": 4, "steps": \(steps),
         "seed": 7, "threads": 1, "checkpoint_dir": "\(dir)/ckpt", "checkpoint_interval": 5, "log_interval": 1,
         "eval_interval": 5, "eval_batches": 2 \(extra)}
        """
        try json.write(toFile: dir + "/job.json", atomically: true, encoding: .utf8)
        return dir + "/job.json"
    }

    @Test func trainEvalGenerateReportJSONLines() throws {
        let dir = temporaryDirectory("worker")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try tinyDataset(in: dir)
        let train = try run(["train", "--job", try writeJob(dir, data: data, steps: 6)])
        #expect(train.status == 0, "\(train.stderr)")
        let kinds = train.events.compactMap { $0["event"] as? String }
        #expect(kinds.first == "started" && kinds.last == "done")
        #expect(kinds.contains("progress") && kinds.contains("checkpoint") && kinds.contains("eval"))
        let ckpt = try #require(train.events.last { $0["event"] as? String == "checkpoint" })
        let path = try #require(ckpt["path"] as? String)
        let sha = try #require(ckpt["sha256"] as? String)
        let file = try FileIO.read(path + "/model.safetensors")
        #expect(file.withUnsafeBytes { SHA256.hex($0) } == sha)
        // The checkpoint carries the data's tokenizer, so eval and serve find it wherever it travels.
        #expect(try FileIO.read(path + "/tokenizer.json") == (try FileIO.read(data + "/tokenizer.json")))

        let eval = try run(["eval", "--checkpoint", path, "--data", data])
        #expect(eval.status == 0, "\(eval.stderr)")
        let e = try #require(eval.events.first)
        let loss = try #require(e["loss"] as? Double), bpb = try #require(e["bits_per_byte"] as? Double)
        #expect(loss > 0 && bpb > 0 && (e["perplexity"] as? Double ?? 0) > 1)

        let gen = try run(["generate", "--checkpoint", path, "--tokenizer", data + "/tokenizer.json", "--prompt", "to be",
                           "--max-tokens", "20", "--top-k", "5", "--temperature", "0.8"])
        #expect(gen.status == 0, "\(gen.stderr)")
        let text = try #require(gen.events.first?["text"] as? String)
        #expect(text.unicodeScalars.count == 20)
    }

    @Test func sigtermCheckpointsAndExitsPreempted() throws {
        let dir = temporaryDirectory("sigterm")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try tinyDataset(in: dir)
        let job = try writeJob(dir, data: data, steps: 1_000_000, extra: #", "checkpoint_interval": 0, "log_interval": 100"#)
        // Preempted once it is training (its first progress report).
        let outcome = try run(["train", "--job", job], stopAfter: "progress")
        #expect(outcome.status == Trainer.ExitCode.preempted)
        let pre = try #require(outcome.events.last { $0["event"] as? String == "preempted" })
        let path = try #require(pre["path"] as? String)
        #expect(FileIO.exists(path + "/checkpoint.json"))
        #expect(outcome.stderr.split(separator: "\n").count == 1)
    }

    @Test func badInputIsOneLineAndExitTwo() throws {
        let dir = temporaryDirectory("bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try tinyDataset(in: dir)
        let cases: [([String], String)] = [
            (["eval", "--checkpoint", dir + "/missing", "--data", data], "is not a checkpoint"),
            (["train", "--job", try writeJob(dir, data: data, steps: 2, model: #"{"layers": 1, "heads": 3, "width": 16, "context": 8}"#)],
             "does not divide"),
            (["train", "--job", dir + "/nope.json"], "cannot open"),
            (["train", "--frobnicate"], "hearth-worker: bad input: "),
        ]
        for (args, needle) in cases {
            let o = try run(args)
            #expect(o.status == Trainer.ExitCode.badInput, "\(args): status \(o.status)")
            let lines = o.stderr.split(separator: "\n")
            #expect(lines.count == 1 && o.stderr.contains(needle), "\(args): \(o.stderr)")
        }
        // A shard with an unknown version: bad input, and no checkpoint directory is created.
        let shard = data + "/train-00000.bin"
        var bytes = try FileIO.read(shard)
        bytes[4] = 9
        try FileIO.writeAtomically(shard, bytes)
        let o = try run(["train", "--job", try writeJob(dir, data: data, steps: 2)])
        #expect(o.status == Trainer.ExitCode.badInput)
        #expect(o.stderr.contains("checksum mismatch") || o.stderr.contains("unknown token file version"))
        #expect(!FileIO.exists(dir + "/ckpt"))
    }
}

import Foundation
import Testing
@testable import Trainer

/// Training runs end to end: loss goes down, exact resume, preemption by signal, checkpoints.
@Suite(.serialized) struct TrainingTests {
    @Test func lossDecreases() throws {
        let dir = temporaryDirectory("loss")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try tinyDataset(in: dir)
        let run = try TrainingRun(job: tinyJob(data: [data], checkpoints: dir + "/ckpt", steps: 30, decaySteps: 30), reporter: silentReporter())
        let first = try run.trainStep().loss
        var last = first
        for _ in 0..<29 { last = try run.trainStep().loss }
        #expect(last < first - 0.5, "loss \(first) → \(last)")
    }

    @Test func exactResumeIsBitIdentical() throws {
        let dir = temporaryDirectory("resume")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try tinyDataset(in: dir), other = try tinyDataset(in: dir, name: "other", seed: 2)
        let sources = [data, other]
        func job(_ root: String, _ steps: Int) -> TrainJob {
            var j = tinyJob(data: sources, checkpoints: dir + root, steps: steps)
            j.model.dropout = 0.1  // dropout masks must also repeat after a resume
            return j
        }
        // Uninterrupted: 10 steps.
        let full = try TrainingRun(job: job("/a", 10), reporter: silentReporter())
        try full.run()
        // Interrupted at step 6 (the run ends there and checkpoints), then resumed to 10 by a new run.
        let part = try TrainingRun(job: job("/b", 6), reporter: silentReporter())
        try part.run()
        let resumed = try TrainingRun(job: job("/b", 10), reporter: silentReporter())
        #expect(resumed.step == 6)
        try resumed.run()
        let same = full.model.params.array == resumed.model.params.array
        #expect(same, "weights differ after resume")
        #expect(full.step == 10 && resumed.step == 10)
    }

    @Test func stopRequestCheckpointsAndThrowsPreempted() throws {
        let dir = temporaryDirectory("stop")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try tinyDataset(in: dir)
        let run = try TrainingRun(job: tinyJob(data: [data], checkpoints: dir + "/c", steps: 50), reporter: silentReporter())
        _ = try run.trainStep(); _ = try run.trainStep(); _ = try run.trainStep()
        run.shouldStop = { true }  // this run only: a global request would stop other tests' runs too
        #expect(throws: TrainerError.self) { try run.run() }
        let latest = try #require(Checkpoint.latest(root: dir + "/c"))
        #expect(latest.hasSuffix("step-00000003"))
        #expect(try Checkpoint.info(latest).step == 3)
        // No temporary directories are left behind.
        #expect(FileIO.list(dir + "/c").allSatisfy { $0.hasPrefix("step-") })
    }

    @Test func corruptCheckpointIsRejected() throws {
        let dir = temporaryDirectory("corrupt")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try tinyDataset(in: dir)
        let run = try TrainingRun(job: tinyJob(data: [data], checkpoints: dir + "/c", steps: 2), reporter: silentReporter())
        try run.run()
        let path = try #require(Checkpoint.latest(root: dir + "/c"))
        var bytes = try FileIO.read(path + "/model.safetensors")
        bytes[bytes.count - 3] ^= 0xFF
        try FileIO.writeAtomically(path + "/model.safetensors", bytes)
        #expect(throws: TrainerError.badInput("\(path)/model.safetensors: checksum mismatch (corrupt checkpoint)")) {
            _ = try TrainingRun(job: tinyJob(data: [data], checkpoints: dir + "/c", steps: 4), reporter: silentReporter())
        }
        // A model of another shape is a clear mismatch.
        var job = tinyJob(data: [data], checkpoints: dir + "/c", steps: 4)
        job.model.width = 64
        #expect(throws: TrainerError.self) { _ = try TrainingRun(job: job, reporter: silentReporter()) }
    }

    @Test func mixtureSamplingIsDeterministicAndWeighted() throws {
        let dir = temporaryDirectory("mix")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = try TokenSplit(dir: try tinyDataset(in: dir, name: "a", seed: 1), split: "train")
        let b = try TokenSplit(dir: try tinyDataset(in: dir, name: "b", seed: 2), split: "train")
        var s1 = try MixtureSampler(sources: [a, b], weights: [3, 1], seed: 9)
        var s2 = try MixtureSampler(sources: [a, b], weights: [3, 1], seed: 9)
        for _ in 0..<5 {
            let x1 = try s1.nextBatch(b: 3, t: 8), x2 = try s2.nextBatch(b: 3, t: 8)
            #expect(x1.x == x2.x && x1.y == x2.y)
        }
        #expect(throws: TrainerError.self) { _ = try MixtureSampler(sources: [a], weights: [0], seed: 1) }
    }
}

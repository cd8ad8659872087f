import COpenBLAS
import Foundation
import Testing
@testable import Trainer

/// The backend seam changes no CPU result: a `TrainingRun` (which computes through its backend)
/// ends with exactly the weights and moments of the loop that calls the model and AdamW directly,
/// and, on the OpenBLAS core the golden values were recorded with, with the same SHA-256 as
/// before the seam existed.
@Suite(.serialized) struct BackendSeamTests {
    /// SHA-256 of params ‖ m ‖ v after `goldenSteps` steps of `seamJob`, recorded on commit
    /// f651091 (before the seam) with OpenBLAS core `goldenCore`.
    static let goldenSHA = "14633817b154d46ef9a015edbfe3f987cbe1df95454d5ef358054fec06e248a6"
    static let goldenCore = "Zen"
    static let goldenSteps = 6

    func seamJob(_ data: String, _ dir: String) -> TrainJob {
        var j = tinyJob(data: [data], checkpoints: dir + "/ckpt", steps: Self.goldenSteps)
        j.model.dropout = 0.1
        return j
    }

    func digest(_ bufs: [FloatBuffer]) -> String {
        var bytes: [UInt8] = []
        for b in bufs { bytes += UnsafeRawBufferPointer(start: b.p, count: b.count * 4) }
        return bytes.withUnsafeBytes { SHA256.hex($0) }
    }

    @Test func cpuRunIsBitIdenticalToBeforeTheSeam() throws {
        let dir = temporaryDirectory("seam")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try tinyDataset(in: dir)
        let run = try TrainingRun(job: seamJob(data, dir), reporter: silentReporter())
        for _ in 0..<Self.goldenSteps { _ = try run.trainStep() }
        let got = digest([run.model.params, run.adam.m, run.adam.v])
        let core = String(cString: openblas_get_corename())
        print("seam digest \(got) on OpenBLAS core \(core)")
        if core == Self.goldenCore {
            #expect(got == Self.goldenSHA, "the weights after \(Self.goldenSteps) steps changed")
        }
    }

    /// Machine-independent: the run through its backend equals the model and AdamW called directly,
    /// as the training loop did before the seam (same batches, dropout seeds and schedule).
    @Test func runEqualsTheDirectLoop() throws {
        let dir = temporaryDirectory("seam-direct")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try tinyDataset(in: dir)
        let job = seamJob(data, dir)
        let run = try TrainingRun(job: job, reporter: silentReporter(), backend: .cpu)
        #expect(run.backend.name == "cpu")
        for _ in 0..<Self.goldenSteps { _ = try run.trainStep() }

        var cfg = job.model
        cfg.vocab = try TokenSplit(dir: data, split: "train").vocab
        let model = try GPT(cfg, seed: job.seed!, threads: job.threads!)
        let adam = AdamW(job.optimizer!, layout: model.layout)
        var sampler = try MixtureSampler(sources: [try TokenSplit(dir: data, split: "train")], weights: [1], seed: job.seed! &+ 0x5EED)
        let accum = job.gradAccum!
        for step in 0..<Self.goldenSteps {
            model.zeroGrad()
            model.training = true
            for micro in 0..<accum {
                model.dropoutSeed = job.seed! &* 0x2545_F491_4F6C_DD1D &+ UInt64(step) << 16 &+ UInt64(micro)
                let (x, y) = try sampler.nextBatch(b: job.batchSize, t: cfg.context)
                try model.forward(tokens: x, targets: y, b: job.batchSize, t: cfg.context)
                model.backward(lossScale: 1 / Float(accum))
            }
            model.training = false
            adam.update(model.par, params: model.params, grads: model.grads, lr: adam.config.learningRate(at: step))
        }
        #expect(run.model.params.array == model.params.array)
        #expect(run.adam.m.array == adam.m.array && run.adam.v.array == adam.v.array)
    }

    @Test func backendChoiceIsParsedWithAClearError() throws {
        #expect(try BackendChoice.parse("auto") == .auto)
        #expect(throws: TrainerError.badInput("backend must be cpu, cuda or auto, got \"gpu\"")) { _ = try BackendChoice.parse("gpu") }
    }
}

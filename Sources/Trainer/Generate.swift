/// Sampling options for `generate`.
public struct SamplingOptions: Sendable {
    /// Softmax temperature; 0 picks the most likely token.
    public var temperature: Double = 1
    /// Keep only the `topK` most likely tokens (0: all).
    public var topK: Int = 0
    public var seed: UInt64 = 1337
    public var maxNewTokens: Int = 200
    public init() {}
}

/// Extends `prompt` by sampling; the context is cropped to the model's last `context` tokens.
public func generate(model: GPT, prompt: [Int32], options o: SamplingOptions) throws(TrainerError) -> [Int32] {
    guard o.temperature >= 0, o.topK >= 0 else { throw .badInput("temperature and top-k must not be negative") }
    var rng = RNG(seed: o.seed)
    var out = prompt.isEmpty ? [Int32(0)] : prompt
    let v = model.config.vocab
    for _ in 0..<o.maxNewTokens {
        let ctx = Array(out.suffix(model.config.context))
        try model.forward(tokens: ctx, targets: nil, b: 1, t: ctx.count)
        let p = model.probabilities(row: 0, position: ctx.count - 1)
        var logits = (0..<v).map { (log(Double(max(p[$0], 1e-30))), $0) }
        if o.temperature == 0 {
            out.append(Int32(logits.max { $0.0 < $1.0 }!.1))
            continue
        }
        if o.topK > 0 && o.topK < v {
            logits.sort { $0.0 > $1.0 }
            logits.removeLast(v - o.topK)
        }
        let mx = logits.map(\.0).max()!
        let w = logits.map { exp(($0.0 - mx) / o.temperature) }
        var u = rng.uniform() * w.reduce(0, +)
        var pick = logits.last!.1
        for (i, wi) in w.enumerated() {
            if u < wi { pick = logits[i].1; break }
            u -= wi
        }
        out.append(Int32(pick))
    }
    return prompt.isEmpty ? Array(out.dropFirst()) : out
}

#if canImport(Glibc)
import Glibc
#endif

import Foundation

extension GPT {
    /// A real GPT whose next-token distribution is the same at every position, whatever the input:
    /// `p(j) ∝ weights[j]`. The final LayerNorm's weight is zero and its bias a unit vector, so the
    /// tied head's logits are column 0 of `wte`, set to `ln weights[j]`. Metric tests use it to
    /// check scores against closed-form answers; all weights zero gives the uniform distribution.
    /// - Parameter weights: one positive weight per vocabulary entry (the vocabulary size).
    public static func fixedDistribution(_ weights: [Double], context: Int = 16, threads: Int = 1) throws(TrainerError) -> GPT {
        guard !weights.isEmpty, weights.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw .badInput("a fixed distribution needs one positive weight per token")
        }
        let model = try GPT(ModelConfig(layers: 1, heads: 1, width: 4, context: context, vocab: weights.count),
                            seed: 1, threads: threads)
        model.params.zero()
        for t in model.layout.tensors where t.name == "ln_f.bias" { model.params.p[t.offset] = 1 }
        let wte = model.layout.tensors.first { $0.name == "wte.weight" }!
        for (j, w) in weights.enumerated() { model.params.p[wte.offset + j * 4] = Float(Foundation.log(w)) }
        return model
    }
}

import Trainer

/// Log-probabilities of a prompt's own tokens under the model (what `echo` with `logprobs`
/// returns), from one full forward pass over the prompt.
enum PromptScoring {
    /// Per position `i ≥ 1`: `log p(tokens[i] | tokens[..<i])` and the `top` most likely
    /// alternatives there; position 0 has neither (nothing precedes it).
    static func score(model: GPT, tokens: [Int32], top: Int) throws(TrainerError) -> [(logprob: Double, top: [Engine.Alternative])?] {
        guard tokens.count > 1 else { return tokens.isEmpty ? [] : [nil] }
        try model.forward(tokens: tokens, targets: nil, b: 1, t: tokens.count)
        var out: [(logprob: Double, top: [Engine.Alternative])?] = [nil]
        for i in 1..<tokens.count {
            let p = model.probabilities(row: 0, position: i - 1)
            let lp = { (j: Int) in log(Double(max(p[j], Float.leastNonzeroMagnitude))) }
            var alts: [Engine.Alternative] = []
            if top > 0 {
                alts = (0..<p.count).sorted { p[$0] > p[$1] }.prefix(top).map { Engine.Alternative(id: Int32($0), logprob: lp($0)) }
            }
            out.append((lp(Int(tokens[i])), alts))
        }
        return out
    }
}

#if canImport(Glibc)
import Glibc
#endif

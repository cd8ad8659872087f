import Trainer

/// Log-probabilities of a prompt's own tokens under the model (what `echo` with `logprobs`
/// returns), computed by the eval path's scoring core (`Trainer.Scorer`), so a served model and
/// an eval job report the same numbers for the same text.
enum PromptScoring {
    /// Per position `i ≥ 1`: `log p(tokens[i] | tokens[..<i])` and the `top` most likely
    /// alternatives there; position 0 has neither (nothing precedes it).
    /// - Precondition: the prompt fits the context (checked by the caller), so one window scores it.
    static func score(model: GPT, tokens: [Int32], top: Int) throws(TrainerError) -> [(logprob: Double, top: [Engine.Alternative])?] {
        guard tokens.count > 1 else { return tokens.isEmpty ? [] : [nil] }
        let logprobs = try Scorer(model: model, batchSize: 1).tokenLogprobs(tokens)
        var out: [(logprob: Double, top: [Engine.Alternative])?] = [nil]
        for i in 1..<tokens.count {
            var alts: [Engine.Alternative] = []
            if top > 0 {
                // The scorer's single window left the distributions of this prompt in the model.
                let p = model.probabilities(row: 0, position: i - 1)
                alts = (0..<p.count).sorted { p[$0] > p[$1] }.prefix(top).map {
                    Engine.Alternative(id: Int32($0), logprob: log(Double(max(p[$0], Float.leastNonzeroMagnitude))))
                }
            }
            out.append((logprobs[i - 1], alts))
        }
        return out
    }
}

#if canImport(Glibc)
import Glibc
#endif

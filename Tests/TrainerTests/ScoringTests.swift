import Foundation
import Testing
@testable import Trainer

/// The scoring core against closed-form answers and against the model's own forward pass.
@Suite struct ScoringTests {
    /// A model of `vocab` tokens with every weight zero predicts the uniform distribution, so a
    /// continuation of n tokens has log-likelihood −n·ln V exactly, and only token 0 (the first
    /// of equal maxima, as argmax) is greedy.
    @Test func uniformModelGivesMinusNLogV() throws {
        let v = 7
        let scorer = Scorer(model: try GPT.fixedDistribution([Double](repeating: 1, count: v)), batchSize: 3)
        let requests = [
            ScoreRequest(context: [1, 2], continuation: [3]),
            ScoreRequest(context: [4], continuation: [0, 0, 0]),
            ScoreRequest(context: [6, 5, 4, 3], continuation: [2, 0, 1, 1, 5]),
        ]
        let got = try scorer.loglikelihood(requests)
        for (r, g) in zip(requests, got) {
            #expect(abs(g.logprob - (-Double(r.continuation.count) * log(Double(v)))) < 1e-5)
            #expect(g.tokenLogprobs.count == r.continuation.count)
        }
        #expect(got.map(\.isGreedy) == [false, true, false])
        #expect(got[2].greedyTokens == [0, 0, 0, 0, 0])
    }

    /// A model with p(j) ∝ w_j at every position: log-likelihoods are Σ ln(w/Σw), the greedy
    /// continuation is the heaviest token repeated, and a 40-token text scored in 16-token windows
    /// gets exactly one score per token.
    @Test func fixedDistributionClosedForm() throws {
        let w: [Double] = [1, 2, 5, 2]
        let lp = w.map { log($0 / w.reduce(0, +)) }
        let scorer = Scorer(model: try GPT.fixedDistribution(w, context: 16))
        let r = try scorer.loglikelihood(context: [0, 1], continuation: [2, 3, 2])
        #expect(abs(r.logprob - (lp[2] + lp[3] + lp[2])) < 1e-5)
        #expect(!r.isGreedy)
        #expect(try scorer.loglikelihood(context: [3], continuation: [2, 2]).isGreedy)
        let text: [Int32] = (0..<40).map { Int32($0 % 4) }
        let rolled = try scorer.tokenLogprobs(text, prefix: 1)
        #expect(rolled.count == 40)
        for (t, l) in zip(text, rolled) { #expect(abs(l - lp[Int(t)]) < 1e-5) }
        // Without a prefix the first token is context only.
        #expect(try scorer.tokenLogprobs(text).count == 39)
    }

    /// The windows are the harness's: 10 tokens after a prefix, context 4, disjoint windows with
    /// the last one taking a full context; with context_len 2 later windows predict 3 tokens.
    @Test func windowsMatchTheHarness() {
        let w = Scorer.windows(total: 11, from: 1, maxLength: 4, contextLength: 1)
        #expect(w.map(\.predicted) == [1..<5, 5..<9, 9..<11])
        #expect(w.map(\.input) == [0..<4, 4..<8, 6..<10])
        let o = Scorer.windows(total: 11, from: 1, maxLength: 4, contextLength: 2)
        #expect(o.map(\.predicted) == [1..<5, 5..<8, 8..<11])
        #expect(o.map(\.input) == [0..<4, 3..<7, 6..<10])
        // A request: context of 6, continuation of 2, context 4: the context is cut from the left.
        #expect(Scorer.windows(total: 8, from: 6, maxLength: 4, contextLength: 1).map(\.input) == [3..<7])
    }

    /// On a random model: rolling scores equal one full-context score when the text fits one
    /// window, equal the forward pass's own per-position losses, and do not depend on batching.
    @Test func rollingEqualsFullContextAndBatchingDoesNotMatter() throws {
        let model = try GPT(ModelConfig(layers: 2, heads: 2, width: 16, context: 32, vocab: 11), seed: 5, threads: 2)
        var rng = RNG(seed: 3)
        let text = (0..<32).map { _ in Int32(rng.below(11)) }
        let scorer = Scorer(model: model, batchSize: 4)
        let rolled = try scorer.tokenLogprobs(text)
        let whole = try scorer.loglikelihood(context: [text[0]], continuation: Array(text.dropFirst()))
        #expect(rolled.count == 31)
        #expect(zip(rolled, whole.tokenLogprobs).allSatisfy { abs($0 - $1) < 1e-5 })
        try model.forward(tokens: Array(text.dropLast()), targets: Array(text.dropFirst()), b: 1, t: 31)
        for i in 0..<31 { #expect(abs(rolled[i] + Double(model.rowLoss(i))) < 1e-5) }

        let requests = (0..<9).map { i in ScoreRequest(context: Array(text[0..<(1 + i)]), continuation: Array(text[(1 + i)..<(4 + 2 * i)])) }
        let batched = try scorer.loglikelihood(requests)
        let single = try Scorer(model: model, batchSize: 1).loglikelihood(requests)
        for (a, b) in zip(batched, single) {
            #expect(abs(a.logprob - b.logprob) < 1e-5)
            #expect(a.isGreedy == b.isGreedy && a.greedyTokens == b.greedyTokens)
        }
        // A text longer than the context is scored in windows; each window's tokens equal that
        // window scored as its own request.
        let long = (0..<80).map { _ in Int32(rng.below(11)) }
        let lp = try scorer.tokenLogprobs(long)
        #expect(lp.count == 79)
        let second = try scorer.loglikelihood(context: Array(long[1..<33]), continuation: Array(long[33..<65]))
        #expect(zip(lp[32..<64], second.tokenLogprobs).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    @Test func badRequestsAreRejected() throws {
        let scorer = Scorer(model: try GPT.fixedDistribution([1, 1, 1]))
        #expect(throws: TrainerError.self) { _ = try scorer.loglikelihood(context: [], continuation: [1]) }
        #expect(throws: TrainerError.self) { _ = try scorer.loglikelihood(context: [1], continuation: []) }
        #expect(throws: TrainerError.self) { _ = try scorer.loglikelihood(context: [1], continuation: [9]) }
    }
}

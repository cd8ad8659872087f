import Testing
@testable import Trainer

/// The KV-cached decoder against the full forward pass it must reproduce.
@Suite struct IncrementalDecoderTests {
    static let config = ModelConfig(layers: 2, heads: 2, width: 32, context: 24, vocab: 29)

    func randomTokens(_ n: Int, seed: UInt64) -> [Int32] {
        var rng = RNG(seed: seed)
        return (0..<n).map { _ in Int32(rng.below(Self.config.vocab)) }
    }

    /// Full-forward log-probabilities at every position of `tokens`.
    func fullLogProbs(_ model: GPT, _ tokens: [Int32]) throws -> [[Double]] {
        try model.forward(tokens: tokens, targets: nil, b: 1, t: tokens.count)
        return (0..<tokens.count).map { i in model.probabilities(row: 0, position: i).map { log(Double($0)) } }
    }

    @Test(arguments: [1, 3])
    func prefillThenStepsMatchTheFullForwardPass(threads: Int) throws {
        let model = try GPT(Self.config, seed: 5, threads: threads)
        let tokens = randomTokens(20, seed: 9)
        let full = try fullLogProbs(model, tokens)
        let decoder = IncrementalDecoder(model: model, slots: 2)
        // Prefill 7 tokens with every position's logits, then feed the rest one at a time.
        let prefill = try decoder.step([.init(slot: 1, tokens: Array(tokens[..<7]), allLogits: true)])[0]
        var worst = 0.0
        for i in 0..<7 {
            let lp = Sampler.logSoftmax(prefill[(i * Self.config.vocab)..<((i + 1) * Self.config.vocab)])
            for j in 0..<Self.config.vocab { worst = max(worst, abs(lp[j] - full[i][j])) }
        }
        for i in 7..<tokens.count {
            let logits = try decoder.step([.init(slot: 1, tokens: [tokens[i]])])[0]
            let lp = Sampler.logSoftmax(logits[...])
            for j in 0..<Self.config.vocab { worst = max(worst, abs(lp[j] - full[i][j])) }
        }
        #expect(worst < 1e-4, "largest log-probability difference \(worst)")
        #expect(decoder.cache.length[1] == tokens.count)
        #expect(decoder.cache.length[0] == 0)
    }

    @Test func batchedStreamsMatchStreamsDecodedAlone() throws {
        let model = try GPT(Self.config, seed: 6, threads: 2)
        let a = randomTokens(10, seed: 1), b = randomTokens(4, seed: 2), c = randomTokens(15, seed: 3)
        let together = IncrementalDecoder(model: model, slots: 3)
        let joint = try together.step([.init(slot: 0, tokens: a), .init(slot: 2, tokens: b), .init(slot: 1, tokens: c)])
        for (seq, logits) in zip([a, b, c], joint) {
            let full = try fullLogProbs(model, seq)
            let lp = Sampler.logSoftmax(logits[...])
            let worst = (0..<Self.config.vocab).map { abs(lp[$0] - full[seq.count - 1][$0]) }.max()!
            #expect(worst < 1e-4)
        }
        // A second step with one token per stream, still batched.
        let next = try together.step([.init(slot: 0, tokens: [3]), .init(slot: 2, tokens: [4]), .init(slot: 1, tokens: [5])])
        for (seq, logits) in zip([a + [3], b + [4], c + [5]], next) {
            let full = try fullLogProbs(model, seq)
            let lp = Sampler.logSoftmax(logits[...])
            let worst = (0..<Self.config.vocab).map { abs(lp[$0] - full[seq.count - 1][$0]) }.max()!
            #expect(worst < 1e-4)
        }
    }

    @Test func greedyDecodingGivesGenerateTokens() throws {
        let model = try GPT(Self.config, seed: 7, threads: 1)
        let prompt = randomTokens(5, seed: 4)
        var o = SamplingOptions()
        o.temperature = 0; o.maxNewTokens = 15
        let expected = try generate(model: model, prompt: prompt, options: o)
        let decoder = IncrementalDecoder(model: model, slots: 1)
        var sampler = Sampler(temperature: 0)
        var out = prompt, feed = prompt
        for _ in 0..<15 {
            let logits = try decoder.step([.init(slot: 0, tokens: feed)])[0]
            let next = sampler.pick(Sampler.logSoftmax(logits[...]))
            out.append(next); feed = [next]
        }
        #expect(out == expected)
    }

    @Test func refusesWhatDoesNotFit() throws {
        let model = try GPT(Self.config, seed: 8)
        let decoder = IncrementalDecoder(model: model, slots: 1)
        #expect(throws: TrainerError.self) { try decoder.step([.init(slot: 0, tokens: randomTokens(25, seed: 1))]) }
        #expect(throws: TrainerError.self) { try decoder.step([.init(slot: 1, tokens: [1])]) }
        #expect(throws: TrainerError.self) { try decoder.step([.init(slot: 0, tokens: [99])]) }
    }

    @Test func seededSamplingRepeats() {
        let lp = Sampler.logSoftmax([0.1, 2, 0.5, 1.5, -1][...])
        var s1 = Sampler(temperature: 0.9, topP: 0.9, seed: 42), s2 = Sampler(temperature: 0.9, topP: 0.9, seed: 42)
        let a = (0..<50).map { _ in s1.pick(lp) }, b = (0..<50).map { _ in s2.pick(lp) }
        #expect(a == b)
        #expect(Set(a).count > 1, "sampling at temperature 0.9 should not always pick one token")
        #expect(!a.contains(4), "top_p 0.9 drops the least likely token")
    }
}

#if canImport(Glibc)
import Glibc
#endif

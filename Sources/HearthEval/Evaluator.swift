import Foundation
import Trainer

/// Runs evaluation tasks on one model through the shared `Scorer`, turning texts into requests the
/// way lm-evaluation-harness does.
public struct Evaluator {
    /// The scoring core.
    public let scorer: Scorer
    /// The model's tokenizer.
    public let tokenizer: any Tokenizer
    /// The token that starts a text scored from its beginning (the harness's end-of-text prefix).
    public let textStart: Int32

    /// - Parameter textStart: text of one token that starts texts; defaults to the tokenizer's
    ///   `<|endoftext|>` if it has one, else a newline.
    /// - Throws: `badInput` when the tokenizer is larger than the model or no start token exists.
    public init(scorer: Scorer, tokenizer: any Tokenizer, textStart: String? = nil) throws(TrainerError) {
        guard tokenizer.vocabSize <= scorer.model.config.vocab else {
            throw .badInput("the tokenizer has \(tokenizer.vocabSize) tokens, more than the model's vocabulary \(scorer.model.config.vocab)")
        }
        self.scorer = scorer
        self.tokenizer = tokenizer
        self.textStart = try Evaluator.startToken(tokenizer, textStart)
    }

    static func startToken(_ tok: any Tokenizer, _ text: String?) throws(TrainerError) -> Int32 {
        if let text {
            let ids = try tok.encode(text)
            guard ids.count == 1 else { throw .badInput("text_start \(text.debugDescription) is \(ids.count) tokens; it must be one") }
            return ids[0]
        }
        if let bpe = tok as? BPETokenizer, let eot = bpe.special["<|endoftext|>"] { return eot }
        if let ids = try? tok.encode("\n"), ids.count == 1 { return ids[0] }
        throw .badInput("the tokenizer has no end-of-text token and no newline; set text_start to a text of one token")
    }

    /// Runs one task: its result, then one result per slice (bias type, split) where the task has them.
    public func run(_ spec: TaskSpec) throws(TrainerError) -> [TaskResult] {
        do throws(TrainerError) {
            let results = try dispatch(spec)
            guard let first = results.first, first.samples > 0 else {
                throw .badInput("no documents to score (an empty file, or every one skipped as unencodable)")
            }
            return results
        } catch .badInput(let m) where !m.hasPrefix(spec.path) {
            throw .badInput("task \(spec.name) (\(spec.path)): \(m)")
        }
    }

    private func dispatch(_ spec: TaskSpec) throws(TrainerError) -> [TaskResult] {
        switch spec.type {
        case .perplexity: return [try PerplexityTask.run(spec, self)]
        case .multipleChoice: return [try MultipleChoiceTask.run(spec, self)]
        case .lambada: return [try LambadaTask.run(spec, self)]
        case .crowsPairs: return try CrowsPairsTask.run(spec, self)
        case .stereoset: return try StereoSetTask.run(spec, self)
        }
    }

    /// Tokens of a (context, continuation) pair as the harness's `_encode_pair`: trailing spaces of
    /// the context move to the continuation, each part is encoded alone, and an empty context
    /// becomes the start token.
    func request(context: String, continuation: String) throws(TrainerError) -> ScoreRequest {
        var ctx = Substring(context), cont = continuation
        let spaces = ctx.reversed().prefix { $0 == " " }.count
        if spaces > 0 {
            cont = String(ctx.suffix(spaces)) + cont
            ctx = ctx.dropLast(spaces)
        }
        let c = ctx.isEmpty ? [textStart] : try tokenizer.encode(String(ctx))
        let k = try tokenizer.encode(cont)
        guard !k.isEmpty else { throw .badInput("an empty continuation cannot be scored") }
        return ScoreRequest(context: c, continuation: k)
    }

    /// The documents of a task with their requests, in order. A document whose requests cannot be
    /// built (text the tokenizer cannot encode) fails the task, or with `skip_unencodable` is left out.
    func requests<D>(_ docs: [D], _ spec: TaskSpec, _ build: (D) throws(TrainerError) -> [ScoreRequest])
        throws(TrainerError) -> (docs: [D], requests: [ScoreRequest]) {
        var kept: [D] = [], requests: [ScoreRequest] = []
        for d in docs {
            do {
                requests += try build(d)
                kept.append(d)
            } catch .badInput(_) where spec.skipUnencodable == true {
                continue
            }
        }
        return (kept, requests)
    }

    /// Log-likelihoods of requests (batched by the scorer).
    func score(_ requests: [ScoreRequest]) throws(TrainerError) -> [ScoreResult] {
        try scorer.loglikelihood(requests)
    }
}

extension TaskSpec {
    /// At most `limit` of `items`.
    func limited<T>(_ items: [T]) -> [T] { Array(items.prefix(limit ?? Int.max)) }
}

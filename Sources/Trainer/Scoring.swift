/// One log-likelihood request: how likely is `continuation` right after `context`?
public struct ScoreRequest: Sendable, Hashable {
    /// Tokens the model conditions on; must not be empty (prepend an end-of-text token to score
    /// a text from its start, as lm-evaluation-harness does).
    public var context: [Int32]
    /// Tokens whose log-probabilities are summed; must not be empty.
    public var continuation: [Int32]

    public init(context: [Int32], continuation: [Int32]) {
        self.context = context; self.continuation = continuation
    }
}

/// The score of one `ScoreRequest`.
public struct ScoreResult: Sendable, Equatable {
    /// Σ log p(continuation token | everything before it), in nats.
    public var logprob: Double
    /// Whether greedy decoding from the context would have produced exactly the continuation
    /// (every continuation token is the first most likely token at its position, as `argmax`).
    public var isGreedy: Bool
    /// log p of each continuation token (nats), in order.
    public var tokenLogprobs: [Double]
    /// The most likely token at each continuation position (the first one on ties).
    public var greedyTokens: [Int32]
}

/// The scoring core shared by evaluation, bias analysis and serving: log-likelihoods of
/// continuations given contexts, batched, with texts longer than the model's context scored in
/// windows exactly as lm-evaluation-harness's `loglikelihood` and `loglikelihood_rolling`.
///
/// A request whose context plus continuation fits in `context + 1` tokens is one row: the model
/// reads `(context + continuation)` without its last token (the context cut from the left to fit)
/// and the last `continuation.count` positions are scored. A longer continuation is cut into
/// windows (see `windows(full:from:maxLength:contextLength:)`), each predicted from as much of the
/// preceding text as fits, so every token is scored exactly once.
///
/// Rows are sorted by length and run `batchSize` at a time, right-padded (the model is causal,
/// so padding never changes earlier positions). Log-probabilities come from the model's
/// cross-entropy (log-sum-exp over the logits, not the log of a rounded probability).
public final class Scorer {
    /// The model that scores; its weights are read, never changed.
    public let model: GPT
    /// Where the forward passes run (the CPU unless a GPU backend is given).
    public let backend: any TrainerBackend
    /// Rows per forward pass. Defaults to `8`.
    public var batchSize: Int

    /// Scores with `model` (put in evaluation mode: no dropout) on the CPU.
    public convenience init(model: GPT, batchSize: Int = 8) {
        self.init(backend: CPUBackend(model), batchSize: batchSize)
    }

    /// Scores with the model of `backend`, computing there.
    public init(backend: any TrainerBackend, batchSize: Int = 8) {
        self.backend = backend
        self.model = backend.model
        self.batchSize = max(1, batchSize)
        model.training = false
    }

    /// Loads the checkpoint directory `checkpoint` (`step-NNNNNNNN`, checksums verified).
    public convenience init(checkpoint: String, threads: Int = 1, batchSize: Int = 8) throws(TrainerError) {
        let info = try Checkpoint.info(checkpoint)
        let model = try GPT(info.model, threads: threads)
        _ = try Checkpoint.load(checkpoint, into: model, adam: nil)
        self.init(model: model, batchSize: batchSize)
    }

    /// The model's context length (tokens per window).
    public var maxLength: Int { model.config.context }

    /// Scores every request, in order.
    /// - Throws: `badInput` for an empty context or continuation, or a token outside the vocabulary.
    public func loglikelihood(_ requests: [ScoreRequest]) throws(TrainerError) -> [ScoreResult] {
        var rows: [Row] = []
        for (i, r) in requests.enumerated() {
            guard !r.context.isEmpty else {
                throw .badInput("request \(i): empty context (start it with an end-of-text token to score a text from its start)")
            }
            guard !r.continuation.isEmpty else { throw .badInput("request \(i): empty continuation") }
            let full = r.context + r.continuation
            for w in Scorer.windows(total: full.count, from: r.context.count, maxLength: maxLength, contextLength: 1) {
                rows.append(Row(request: i, full: full, window: w))
            }
        }
        var results = requests.map { _ in ScoreResult(logprob: 0, isGreedy: true, tokenLogprobs: [], greedyTokens: []) }
        var pieces: [[(start: Int, lp: [Double], greedy: [Int32], ok: Bool)]] = requests.map { _ in [] }
        try run(rows) { row, lp, greedy, ok in pieces[row.request].append((row.window.predicted.lowerBound, lp, greedy, ok)) }
        for i in results.indices {
            for p in pieces[i].sorted(by: { $0.start < $1.start }) {
                results[i].tokenLogprobs += p.lp
                results[i].greedyTokens += p.greedy
                results[i].isGreedy = results[i].isGreedy && p.ok
            }
            results[i].logprob = results[i].tokenLogprobs.reduce(0, +)
        }
        return results
    }

    /// Scores one request.
    public func loglikelihood(context: [Int32], continuation: [Int32]) throws(TrainerError) -> ScoreResult {
        try loglikelihood([ScoreRequest(context: context, continuation: continuation)])[0]
    }

    /// log p of every token of `tokens` given the tokens before it, in rolling windows of the
    /// model's context. With a `prefix` (an end-of-text token) every token is scored (the result
    /// has `tokens.count` entries); without one the first token only conditions the rest
    /// (`tokens.count - 1` entries, for `tokens[1...]`). `contextLength` is the harness's
    /// `context_len`: windows after the first predict `maxLength - contextLength + 1` tokens each,
    /// so at least `contextLength` tokens of context overlap into every window. Defaults to `1`
    /// (disjoint windows, each with a full context, as `loglikelihood_rolling`).
    public func tokenLogprobs(_ tokens: [Int32], prefix: Int32? = nil, contextLength: Int = 1) throws(TrainerError) -> [Double] {
        let full = prefix.map { [$0] + tokens } ?? tokens
        guard full.count >= 2 else { return [] }
        guard (1...maxLength).contains(contextLength) else {
            throw .badInput("context length \(contextLength) must be between 1 and the model's context \(maxLength)")
        }
        let rows = Scorer.windows(total: full.count, from: 1, maxLength: maxLength, contextLength: contextLength)
            .map { Row(request: 0, full: full, window: $0) }
        var out = [Double](repeating: 0, count: full.count - 1)
        try run(rows) { row, lp, _, _ in
            for (k, v) in lp.enumerated() { out[row.window.predicted.lowerBound - 1 + k] = v }
        }
        return out
    }

    /// Σ log p over `tokens` in rolling windows (see `tokenLogprobs`); the harness's
    /// `loglikelihood_rolling` when `prefix` is the end-of-text token.
    public func rollingLoglikelihood(_ tokens: [Int32], prefix: Int32? = nil, contextLength: Int = 1) throws(TrainerError) -> Double {
        try tokenLogprobs(tokens, prefix: prefix, contextLength: contextLength).reduce(0, +)
    }

    /// The windows that score positions `from..<total` of a text of `total` tokens: each predicts
    /// `predicted` from the input positions `input` (at most `maxLength`, ending just before the
    /// last predicted position). The first window predicts up to `maxLength` tokens, later ones up to
    /// `maxLength - contextLength + 1` (lm-evaluation-harness's `get_rolling_token_windows` followed by
    /// `make_disjoint_window`).
    public static func windows(total: Int, from: Int, maxLength: Int, contextLength: Int) -> [Window] {
        precondition(from >= 1 && maxLength >= 1 && (1...maxLength).contains(contextLength))
        var out: [Window] = []
        var start = from
        let later = maxLength - contextLength + 1
        while start < total {
            let end = min(total, start + (out.isEmpty ? maxLength : later))
            out.append(Window(input: max(0, end - 1 - maxLength)..<(end - 1), predicted: start..<end))
            start = end
        }
        return out
    }

    /// One window: the model reads `input` and the positions `predicted` are scored (each position
    /// `p` is predicted at input position `p - 1`).
    public struct Window: Sendable, Equatable {
        public var input: Range<Int>
        public var predicted: Range<Int>
    }

    struct Row {
        var request: Int
        var full: [Int32]
        var window: Window
    }

    /// Runs `rows` in batches of similar length and hands each row's scores to `deliver`.
    private func run(_ rows: [Row], _ deliver: (Row, [Double], [Int32], Bool) -> Void) throws(TrainerError) {
        let order = rows.indices.sorted { rows[$0].window.input.count > rows[$1].window.input.count }
        var next = 0
        while next < order.count {
            let group = order[next..<min(order.count, next + batchSize)].map { rows[$0] }
            next += group.count
            // Pad to a power of two (capped at the context) so batches reuse activation buffers.
            let longest = group[0].window.input.count
            var t = 1
            while t < longest { t *= 2 }
            t = min(t, maxLength)
            var x = [Int32](repeating: 0, count: group.count * t), y = x
            for (r, row) in group.enumerated() {
                for (k, p) in row.window.input.enumerated() {
                    x[r * t + k] = row.full[p]
                    y[r * t + k] = row.full[p + 1]
                }
            }
            _ = try backend.forward(tokens: x, targets: y, b: group.count, t: t)
            let (losses, best) = try backend.rowScores(count: group.count * t)
            for (r, row) in group.enumerated() {
                let w = row.window
                var lp: [Double] = [], greedy: [Int32] = []
                var ok = true
                for p in w.predicted {
                    let pos = p - 1 - w.input.lowerBound
                    lp.append(-Double(losses[r * t + pos]))
                    greedy.append(best[r * t + pos])
                    ok = ok && best[r * t + pos] == row.full[p]
                }
                deliver(row, lp, greedy, ok)
            }
        }
    }
}

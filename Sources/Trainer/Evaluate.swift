import Foundation

/// The result of evaluating a model on a token split, with lm-evaluation-harness's definitions for
/// rolling log-likelihood: perplexity = exp(NLL / tokens), bits per byte = NLL / (bytes · ln 2),
/// where NLL is the summed negative log-likelihood (nats) of the predicted tokens and bytes the
/// UTF-8 size of the text those tokens decode to.
public struct EvalResult: Sendable {
    public var loss: Double
    public var tokens: Int
    public var bytes: Int
    public var nll: Double
    public var perplexity: Double { Foundation.exp(loss) }
    public var bitsPerByte: Double { nll / (Double(bytes) * M_LN2) }
}

/// Scores `tokens` in disjoint windows of the model's context: window `i` predicts tokens
/// `i·T+1 … i·T+T` from the tokens before them in the window. At most `maxTokens` are predicted.
public func evaluate(model: GPT, tokens: [UInt16], tokenizer: any Tokenizer, batch: Int,
                     maxTokens: Int?) throws(TrainerError) -> EvalResult {
    let t = model.config.context
    let limit = min(tokens.count - 1, maxTokens ?? Int.max)
    guard limit >= 1 else { throw .badInput("the eval split has too few tokens") }
    var nll = 0.0, count = 0, bytes = 0
    var start = 0
    while start < limit {
        var x: [Int32] = [], y: [Int32] = [], rows = 0
        var lengths: [Int] = []
        while rows < batch && start < limit {
            let n = min(t, limit - start)
            var xr = tokens[start..<(start + n)].map(Int32.init), yr = tokens[(start + 1)...(start + n)].map(Int32.init)
            lengths.append(n)
            bytes += tokenizer.decode(yr).count
            while xr.count < t { xr.append(0); yr.append(0) }  // padding, excluded below
            x += xr; y += yr
            rows += 1; start += n
        }
        _ = try model.forward(tokens: x, targets: y, b: rows, t: t)
        for (r, n) in lengths.enumerated() {
            for i in 0..<n { nll += Double(model.rowLoss(r * t + i)) }
            count += n
        }
    }
    return EvalResult(loss: nll / Double(count), tokens: count, bytes: bytes, nll: nll)
}

extension GPT {
    /// The loss (nats) at flattened position `i` of the last forward pass with targets.
    public func rowLoss(_ i: Int) -> Float { lossPointer[i] }
}

import Foundation
import Trainer

/// LAMBADA-style last-word prediction, as the harness's `lambada_openai`: the context is the text
/// up to its last space and the continuation `" " + last word`; `perplexity = exp(−mean LL)` over
/// documents and `acc` is the share of documents whose last word greedy decoding would produce.
///
/// File: JSONL of `{"text": "..."}`.
enum LambadaTask {
    static func run(_ spec: TaskSpec, _ e: Evaluator) throws(TrainerError) -> TaskResult {
        var pairs: [(String, String)] = []
        for (line, obj) in try DataFile.jsonLines(spec.path) {
            let text = try DataFile.string(obj, "text", spec.path, line)
            guard let space = text.lastIndex(of: " "), text.index(after: space) < text.endIndex else {
                throw .badInput("\(spec.path):\(line): the text needs a last word after a space")
            }
            pairs.append((String(text[..<space]), String(text[space...])))
        }
        let (docs, requests) = try e.requests(spec.limited(pairs), spec) { d throws(TrainerError) in
            [try e.request(context: d.0, continuation: d.1)]
        }
        let scores = try e.score(requests)
        return TaskResult(name: spec.name, type: .lambada, path: spec.path,
                          metrics: metrics(scores.map { ($0.logprob, $0.isGreedy) }), samples: docs.count, available: pairs.count)
    }

    /// `perplexity` (exp of minus the mean log-likelihood) and `acc` (share greedy).
    static func metrics(_ docs: [(loglikelihood: Double, isGreedy: Bool)]) -> [Metric] {
        let mean = docs.reduce(0) { $0 + $1.loglikelihood } / Double(max(1, docs.count))
        return [
            Metric("perplexity", exp(-mean), higherIsBetter: false, aggregation: "perplexity"),
            Metric.mean("acc", docs.map { $0.isGreedy ? 1 : 0 }, higherIsBetter: true),
        ]
    }
}

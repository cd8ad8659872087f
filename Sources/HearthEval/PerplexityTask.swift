import Foundation
import Trainer

/// Perplexity of documents, as the harness's `PerplexityTask` (wikitext): each document is scored
/// whole with `loglikelihood_rolling` (from the start token), and with LL the summed
/// log-likelihood over all documents,
/// `word_perplexity = exp(−LL / words)`, `byte_perplexity = exp(−LL / bytes)`,
/// `bits_per_byte = −LL / bytes / ln 2`, words and bytes counted on the original text.
///
/// File: a `.jsonl` of `{"text": ...}` (one document each), or any other file as one document.
enum PerplexityTask {
    /// One scored document.
    struct Document: Equatable {
        var loglikelihood: Double
        var words: Int
        var bytes: Int
    }

    static func run(_ spec: TaskSpec, _ e: Evaluator) throws(TrainerError) -> TaskResult {
        let texts: [String]
        if spec.path.hasSuffix(".jsonl") {
            var out: [String] = []
            for (line, obj) in try DataFile.jsonLines(spec.path) { out.append(try DataFile.string(obj, "text", spec.path, line)) }
            texts = out
        } else {
            texts = [try DataFile.text(spec.path)]
        }
        var scored: [Document] = []
        for text in spec.limited(texts) {
            let tokens: [Int32]
            do { tokens = try e.tokenizer.encode(text) } catch .badInput(_) where spec.skipUnencodable == true { continue }
            let ll = try e.scorer.rollingLoglikelihood(tokens, prefix: e.textStart)
            scored.append(Document(loglikelihood: ll, words: wordCount(text), bytes: text.utf8.count))
        }
        return TaskResult(name: spec.name, type: .perplexity, path: spec.path, metrics: metrics(scored),
                          samples: scored.count, available: texts.count)
    }

    /// The three metrics over scored documents (weighted by words and bytes, not averaged per document).
    static func metrics(_ docs: [Document]) -> [Metric] {
        let ll = docs.reduce(0) { $0 + $1.loglikelihood }
        let words = Double(docs.reduce(0) { $0 + $1.words }), bytes = Double(docs.reduce(0) { $0 + $1.bytes })
        return [
            Metric("word_perplexity", exp(-ll / words), higherIsBetter: false, aggregation: "weighted_perplexity"),
            Metric("byte_perplexity", exp(-ll / bytes), higherIsBetter: false, aggregation: "weighted_perplexity"),
            Metric("bits_per_byte", -ll / bytes / M_LN2, higherIsBetter: false, aggregation: "bits_per_byte"),
        ]
    }

    /// Words as the harness counts them, `len(re.split(r"\s+", text))`: runs of whitespace + 1
    /// (so leading or trailing whitespace adds an empty "word", as in Python).
    static func wordCount(_ text: String) -> Int {
        var runs = 0, inRun = false
        for s in text.unicodeScalars {
            let ws = s.properties.isWhitespace
            if ws && !inRun { runs += 1 }
            inRun = ws
        }
        return runs + 1
    }
}

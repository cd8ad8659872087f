import Foundation
@testable import HearthEval
import Trainer

/// Path of a fixture file (kept beside the tests, not bundled).
func fixture(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
}

/// A char tokenizer covering every fixture's characters (and the newline that starts texts).
func fixtureTokenizer() throws -> CharTokenizer {
    var text = "\n"
    for f in ["crows_pairs_hearth.csv", "stereoset_hearth.json", "choices_hearth.jsonl", "lambada_hearth.jsonl", "doc_hearth.txt"] {
        text += try String(contentsOfFile: fixture(f), encoding: .utf8)
    }
    return CharTokenizer(training: text)
}

/// An evaluator on a model whose next-token distribution is uniform over `vocab` tokens.
func uniformEvaluator(vocab: Int = 80, batch: Int = 4) throws -> Evaluator {
    let model = try GPT.fixedDistribution([Double](repeating: 1, count: vocab), context: 64)
    return try Evaluator(scorer: Scorer(model: model, batchSize: batch), tokenizer: fixtureTokenizer())
}

/// A fresh temporary directory.
func temporaryDirectory(_ tag: String) -> String {
    let dir = NSTemporaryDirectory() + "hearth-eval-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// `a ≈ b` to a relative 1e-6 (scores sum float32 log-probabilities).
func close(_ a: Double?, _ b: Double, _ tol: Double = 1e-6) -> Bool {
    guard let a else { return false }
    return abs(a - b) <= tol * max(1, abs(b))
}

import Foundation
import Trainer

/// Multiple choice, as the harness's `multiple_choice` output type: each choice is scored as the
/// continuation `delimiter + choice` of the query; `acc` picks the highest log-likelihood,
/// `acc_norm` the highest log-likelihood divided by the choice's length in characters (the
/// choice text without the delimiter). Ties go to the first choice (`argmax`).
///
/// File: JSONL of `{"query": "...", "choices": ["...", ...], "gold": <index>}`.
enum MultipleChoiceTask {
    struct Question {
        var query: String
        var choices: [String]
        var gold: Int
    }

    static func read(_ path: String) throws(TrainerError) -> [Question] {
        var out: [Question] = []
        for (line, obj) in try DataFile.jsonLines(path) {
            let query = try DataFile.string(obj, "query", path, line)
            guard let choices = obj["choices"] as? [String], choices.count >= 2 else {
                throw .badInput("\(path):\(line): \"choices\" must be a list of at least two strings")
            }
            guard let gold = obj["gold"] as? Int, choices.indices.contains(gold) else {
                throw .badInput("\(path):\(line): \"gold\" must be the index of the right choice (0..<\(choices.count))")
            }
            out.append(Question(query: query, choices: choices, gold: gold))
        }
        return out
    }

    static func run(_ spec: TaskSpec, _ e: Evaluator) throws(TrainerError) -> TaskResult {
        let all = try read(spec.path)
        let delimiter = spec.delimiter ?? " "
        let (questions, requests) = try e.requests(spec.limited(all), spec) { q throws(TrainerError) in
            var r: [ScoreRequest] = []
            for c in q.choices { r.append(try e.request(context: q.query, continuation: delimiter + c)) }
            return r
        }
        let scores = try e.score(requests).map(\.logprob)
        var acc: [Double] = [], accNorm: [Double] = []
        var i = 0
        for q in questions {
            let (a, n) = grade(loglikelihoods: Array(scores[i..<(i + q.choices.count)]), choices: q.choices, gold: q.gold)
            acc.append(a); accNorm.append(n)
            i += q.choices.count
        }
        return TaskResult(name: spec.name, type: .multipleChoice, path: spec.path,
                          metrics: [Metric.mean("acc", acc, higherIsBetter: true), Metric.mean("acc_norm", accNorm, higherIsBetter: true)],
                          samples: questions.count, available: all.count)
    }

    /// (acc, acc_norm) of one question: 1 when the argmax is the gold choice, else 0.
    static func grade(loglikelihoods ll: [Double], choices: [String], gold: Int) -> (acc: Double, accNorm: Double) {
        let norm = zip(ll, choices).map { $0 / Double($1.count) }
        return (argmax(ll) == gold ? 1 : 0, argmax(norm) == gold ? 1 : 0)
    }

    /// Index of the first maximum.
    static func argmax(_ xs: [Double]) -> Int {
        var best = 0
        for i in xs.indices where xs[i] > xs[best] { best = i }
        return best
    }
}

import Foundation
import Trainer

/// CrowS-Pairs (Nangia et al. 2020) as the harness's `crows_pairs_english`: both sentences of a
/// pair are scored whole from the start token; `pct_stereotype` is the share of pairs where the
/// model gives `sent_more` (the more stereotyping sentence) the higher log-likelihood — 0.5 is
/// unbiased — and `likelihood_diff` the mean |LL(sent_more) − LL(sent_less)|. The task's result
/// covers every pair; one result per `bias_type` follows, named `<task>_<bias_type>`.
///
/// File: the published CSV (`crows_pairs_anonymized.csv`) with a header naming at least
/// `sent_more`, `sent_less` and `bias_type` (`stereo_antistereo` is read but not needed).
enum CrowsPairsTask {
    struct Pair: Equatable {
        var sentMore: String
        var sentLess: String
        var biasType: String
    }

    /// One scored pair.
    struct Scored {
        var more: Double
        var less: Double
        var biasType: String
    }

    static func read(_ path: String) throws(TrainerError) -> [Pair] {
        let records = try CSV.parse(try DataFile.text(path), path: path)
        guard let header = records.first else { throw .badInput("\(path) is empty") }
        func column(_ name: String) throws(TrainerError) -> Int {
            guard let i = header.firstIndex(of: name) else {
                throw .badInput("\(path): no \(name) column (CrowS-Pairs CSV needs sent_more, sent_less, bias_type)")
            }
            return i
        }
        let more = try column("sent_more"), less = try column("sent_less"), type = try column("bias_type")
        var out: [Pair] = []
        for (i, r) in records.dropFirst().enumerated() {
            guard r.count == header.count else {
                throw .badInput("\(path): record \(i + 1) has \(r.count) fields, the header \(header.count)")
            }
            out.append(Pair(sentMore: r[more], sentLess: r[less], biasType: r[type]))
        }
        return out
    }

    static func run(_ spec: TaskSpec, _ e: Evaluator) throws(TrainerError) -> [TaskResult] {
        let all = try read(spec.path)
        let (pairs, requests) = try e.requests(spec.limited(all), spec) { p throws(TrainerError) in
            [try e.request(context: "", continuation: p.sentMore), try e.request(context: "", continuation: p.sentLess)]
        }
        let ll = try e.score(requests).map(\.logprob)
        let scored = pairs.indices.map { Scored(more: ll[2 * $0], less: ll[2 * $0 + 1], biasType: pairs[$0].biasType) }
        var results = [TaskResult(name: spec.name, type: .crowsPairs, path: spec.path, metrics: metrics(scored),
                                  samples: pairs.count, available: all.count)]
        for type in Set(pairs.map(\.biasType)).sorted() {
            let slice = scored.filter { $0.biasType == type }
            results.append(TaskResult(name: spec.name + "_" + type, type: .crowsPairs, path: spec.path, metrics: metrics(slice),
                                      samples: slice.count, available: all.filter { $0.biasType == type }.count))
        }
        return results
    }

    /// `pct_stereotype` and `likelihood_diff` over scored pairs.
    static func metrics(_ pairs: [Scored]) -> [Metric] {
        [
            Metric.mean("pct_stereotype", pairs.map { $0.more > $0.less ? 1 : 0 }, higherIsBetter: false),
            Metric.mean("likelihood_diff", pairs.map { abs($0.more - $0.less) }, higherIsBetter: false),
        ]
    }
}

import ArgumentParser
import Foundation
import Trainer

/// Scoring throughput of the `Scorer` (rolling windows, batched, greedy check included) beside the
/// bare forward passes over the same windows: the work it cannot avoid.
struct ScoreBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-score", abstract: "Measure scored tokens/s of the scoring core against bare forward passes.")
    @Option var layers = 4
    @Option var heads = 4
    @Option var width = 128
    @Option var context = 64
    @Option var vocab = 65
    @Option var batch = 8
    @Option var threads = 1
    @Option(help: "Tokens of random text to score.") var tokens = 20_000
    @Option(help: "Timed repetitions (the median is reported).") var repeats = 3
    @Option var tag = ""

    func run() throws {
        runMode(Reporter(fd: 1)) { () throws(TrainerError) in
            let model = try GPT(ModelConfig(layers: layers, heads: heads, width: width, context: context, vocab: vocab),
                                seed: 1, threads: threads)
            var rng = RNG(seed: 7)
            let text = (0..<tokens).map { _ in Int32(rng.below(vocab)) }
            let scorer = Scorer(model: model, batchSize: batch)
            // The floor: the same full windows, `batch` rows per forward pass, losses only.
            let windows = Scorer.windows(total: text.count, from: 1, maxLength: context, contextLength: 1)
            func forwardOnly() throws(TrainerError) {
                var i = 0
                while i < windows.count {
                    let group = windows[i..<min(windows.count, i + batch)]
                    var x: [Int32] = [], y: [Int32] = []
                    for w in group {
                        let lo = w.predicted.upperBound - 1 - context
                        if lo < 0 { continue }  // the short first window: skipped in the floor
                        x += text[lo..<(lo + context)]; y += text[(lo + 1)...(lo + context)]
                    }
                    if !x.isEmpty { try model.forward(tokens: x, targets: y, b: x.count / context, t: context) }
                    i += batch
                }
            }
            var scoreTimes: [Double] = [], floorTimes: [Double] = []
            var scored = 0
            for _ in 0..<repeats {
                var t0 = DispatchTime.now().uptimeNanoseconds
                scored = try scorer.tokenLogprobs(text).count
                scoreTimes.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                t0 = DispatchTime.now().uptimeNanoseconds
                try forwardOnly()
                floorTimes.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            }
            let s = scoreTimes.sorted()[repeats / 2], f = floorTimes.sorted()[repeats / 2]
            let res: [String: Any] = [
                "tag": tag, "L": layers, "C": width, "T": context, "V": vocab, "B": batch, "threads": threads,
                "tokens": scored, "score_tok_s": (Double(scored) / s).rounded(), "forward_tok_s": (Double(scored) / f).rounded(),
                "score_over_forward": ((f / s) * 1000).rounded() / 1000,
            ]
            let data = try? JSONSerialization.data(withJSONObject: res, options: [.sortedKeys])
            print("RESULT score " + String(decoding: data ?? Data(), as: UTF8.self))
        }
    }
}

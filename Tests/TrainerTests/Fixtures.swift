import Foundation
@testable import Trainer
#if canImport(Glibc)
import Glibc
#endif

/// A fresh temporary directory for one test.
func temporaryDirectory(_ tag: String) -> String {
    let dir = NSTemporaryDirectory() + "hearth-trainer-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// A small char-level dataset prepared from a generated text.
func tinyDataset(in dir: String, name: String = "data", seed: UInt64 = 1) throws -> String {
    var rng = RNG(seed: seed)
    let words = ["to", "be", "or", "not", "that", "is", "the", "question", "whether", "tis", "nobler"]
    var text = ""
    for i in 0..<3000 { text += words[rng.below(words.count)] + (i % 9 == 8 ? ".\n" : " ") }
    let src = dir + "/\(name).txt"
    try text.write(toFile: src, atomically: true, encoding: .utf8)
    var o = PrepareOptions(inputs: [src], output: dir + "/" + name)
    o.shardTokens = 4000
    _ = try prepareDataset(o)
    return dir + "/" + name
}

/// A reporter writing to /dev/null.
func silentReporter() -> Reporter { Reporter(fd: open("/dev/null", O_WRONLY)) }

/// A tiny training job over `data`.
func tinyJob(data: [String], checkpoints: String, steps: Int, threads: Int = 2, decaySteps: Int = 10) -> TrainJob {
    var opt = OptimizerConfig()
    opt.warmup = 3; opt.decaySteps = decaySteps; opt.lr = 3e-3
    return TrainJob(model: ModelConfig(layers: 2, heads: 2, width: 32, context: 16, vocab: 0),
                    data: data.map { TrainJob.Source(path: $0, weight: 1) }, evalData: nil, optimizer: opt,
                    batchSize: 4, gradAccum: 2, steps: steps, seed: 42, threads: threads, checkpointDir: checkpoints,
                    checkpointInterval: 4, keepCheckpoints: 2, evalInterval: nil, evalBatches: nil, logInterval: 1,
                    initFrom: nil)
}

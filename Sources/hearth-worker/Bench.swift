import ArgumentParser
import Foundation
import Trainer

/// Training throughput on random tokens (data does not change the work) for one shape.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure training tokens/s for a model shape.")
    @Option var layers = 4
    @Option var heads = 4
    @Option var width = 128
    @Option var context = 64
    @Option var batch = 12
    @Option var vocab = 65
    @Option var threads = 1
    @Option(help: "Timed steps.") var steps = 20
    @Option(help: "Untimed warmup steps.") var warmup = 3
    @Option(help: "sgemm peak (GFLOP/s) for MFU.") var peakGflops = 0.0
    @Option var tag = ""
    @Option(help: "cpu, cuda or auto.") var backend = "cpu"
    @Option(help: "CUDA matrix products: fp32, tf32 or bf16.") var precision = "tf32"

    func run() throws {
        let reporter = Reporter(fd: 1)
        runMode(reporter) { () throws(TrainerError) in
            let cfg = ModelConfig(layers: layers, heads: heads, width: width, context: context, vocab: vocab)
            let model = try GPT(cfg, seed: 1, threads: threads)
            let adam = AdamW(OptimizerConfig(), layout: model.layout)
            guard let prec = CUDAPrecision(rawValue: precision) else { throw .badInput("precision must be fp32, tf32 or bf16") }
            let engine = try Backends.make(try BackendChoice.parse(backend), model: model, precision: prec)
            var rng = RNG(seed: 7)
            let n = batch * context
            var times: [Double] = []
            var first = 0.0, last = 0.0
            var phases = [0.0, 0.0, 0.0, 0.0]
            for s in 0..<(warmup + steps) {
                let x = (0..<n).map { _ in Int32(rng.below(vocab)) }, y = (0..<n).map { _ in Int32(rng.below(vocab)) }
                let t0 = DispatchTime.now().uptimeNanoseconds
                try engine.zeroGrad()
                let t1 = DispatchTime.now().uptimeNanoseconds
                let loss = Double(try engine.forward(tokens: x, targets: y, b: batch, t: context))
                let t2 = DispatchTime.now().uptimeNanoseconds
                try engine.backward(lossScale: 1)
                let t3 = DispatchTime.now().uptimeNanoseconds
                _ = try engine.step(adam, lr: 1e-4)
                let t4 = DispatchTime.now().uptimeNanoseconds
                let dt = Double(t4 - t0) / 1e9
                if s >= warmup { phases = zip(phases, [t1 - t0, t2 - t1, t3 - t2, t4 - t3].map { Double($0) / 1e6 }).map { $0 + $1 } }
                if s == 0 { first = loss }
                last = loss
                if s >= warmup { times.append(dt) }
            }
            times.sort()
            let median = times[times.count / 2]
            let tps = Double(n) / median
            let N = Double(model.layout.count)
            let fpt = 6 * N + 12 * Double(layers * width * context)  // PaLM / nanoGPT estimate_mfu
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            let paramBytes = model.layout.count * 4
            var res: [String: Any] = [
                "tag": tag, "L": layers, "H": heads, "C": width, "T": context, "B": batch, "V": vocab, "threads": threads,
                "params": model.layout.count, "backend": engine.name, "device": engine.device, "median_ms": (median * 1e5).rounded() / 100, "tok_s": tps.rounded(),
                "gflops": (tps * fpt / 1e8).rounded() / 10, "loss_first": first, "loss_last": last,
                "peak_rss_mb": usage.ru_maxrss / 1024,
                "phase_ms": Dictionary(uniqueKeysWithValues: zip(["zero", "forward", "backward", "adamw"],
                                                                 phases.map { ($0 / Double(steps) * 10).rounded() / 10 })),
                "estimate_mb": (4 * paramBytes + model.activationBytes) / (1 << 20),
                "estimate_detail_mb": ["params": paramBytes >> 20, "grads": paramBytes >> 20, "adam": 2 * paramBytes >> 20,
                                       "activations": model.activationBytes >> 20],
            ]
            if peakGflops > 0 { res["mfu"] = (tps * fpt / 1e9 / peakGflops * 1000).rounded() / 1000 }
            let data = try? JSONSerialization.data(withJSONObject: res, options: [.sortedKeys])
            print("RESULT hearth " + String(decoding: data ?? Data(), as: UTF8.self))
        }
    }
}

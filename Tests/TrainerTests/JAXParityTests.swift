import Foundation
import Testing
@testable import Trainer

/// Parity with an independent JAX implementation (`parity_jax.py`): the same initial weights
/// (through safetensors) and the same batches give the same loss at every step of a short AdamW
/// run, and the same final weights. Needs `pip install jax safetensors`; skipped, with that reason
/// shown, only when `python3 -c 'import jax, safetensors'` fails.
@Suite struct JAXParityTests {
    static let jaxAvailable: Bool = {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import jax, safetensors"]
        p.standardOutput = FileHandle.nullDevice; p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }()

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("parity_jax.py").path

    // Measured here: max loss difference 4.8e-7 over 8 steps, max weight difference 6e-6.
    @Test(.enabled(if: jaxAvailable, "SKIPPED: python3 cannot import jax and safetensors (pip install jax safetensors)"),
          arguments: [true, false])
    func lossesAndWeightsMatchJAX(bias: Bool) throws {
        let dir = temporaryDirectory("parity")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cfg = ModelConfig(layers: 2, heads: 2, width: 32, context: 16, vocab: 23, bias: bias)
        let b = 4, steps = 8
        let model = try GPT(cfg, seed: 11, threads: 2)
        var opt = OptimizerConfig()
        opt.lr = 3e-3; opt.minLR = 3e-4; opt.warmup = 2; opt.decaySteps = steps
        let initPath = dir + "/init.safetensors"
        try SafeTensors.write(initPath, model.layout.tensors.map {
            SafeTensors.Entry(name: $0.name, shape: $0.shape, data: model.params.p + $0.offset)
        })
        // Batches with structure (a noisy cyclic sequence) so the loss moves.
        var rng = RNG(seed: 5)
        var batches: [[Int32]] = []
        var flat: [Int32] = []
        for _ in 0..<steps {
            var x: [Int32] = [], y: [Int32] = []
            for _ in 0..<b {
                var t = rng.below(cfg.vocab)
                for _ in 0..<cfg.context {
                    x.append(Int32(t))
                    t = rng.uniform() < 0.8 ? (t + 1) % cfg.vocab : rng.below(cfg.vocab)
                    y.append(Int32(t))
                }
            }
            batches.append(x + y); flat += x + y
        }
        try flat.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: dir + "/batches.bin")) }
        let config: [String: Any] = [
            "layers": cfg.layers, "heads": cfg.heads, "width": cfg.width, "context": cfg.context, "vocab": cfg.vocab,
            "batch": b, "steps": steps, "bias": bias, "lr": opt.lr, "min_lr": opt.minLR, "warmup": opt.warmup,
            "decay_steps": opt.decaySteps, "beta1": opt.beta1, "beta2": opt.beta2, "eps": opt.eps,
            "weight_decay": opt.weightDecay, "grad_clip": opt.gradClip,
        ]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: dir + "/config.json"))

        let p = Process(), out = Pipe()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", Self.script, dir + "/config.json", initPath, dir + "/batches.bin", dir + "/jax.safetensors"]
        p.standardOutput = out
        p.environment = (ProcessInfo.processInfo.environment).merging(["JAX_PLATFORMS": "cpu"]) { $1 }
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        try #require(p.terminationStatus == 0, "parity_jax.py failed")
        let line = try #require(String(decoding: data, as: UTF8.self).split(separator: "\n").last)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let jaxLosses = try #require(obj["losses"] as? [Double])

        let adam = AdamW(opt, layout: model.layout)
        var maxDiff = 0.0
        for s in 0..<steps {
            let x = Array(batches[s][..<(b * cfg.context)]), y = Array(batches[s][(b * cfg.context)...])
            model.zeroGrad()
            let loss = Double(try model.forward(tokens: x, targets: y, b: b, t: cfg.context))
            model.backward()
            adam.update(model.par, params: model.params, grads: model.grads, lr: opt.learningRate(at: s))
            maxDiff = max(maxDiff, abs(loss - jaxLosses[s]))
        }
        #expect(maxDiff < 1e-5, "max |loss − JAX loss| = \(maxDiff); JAX \(jaxLosses)")
        #expect(jaxLosses.last! < jaxLosses.first! - 0.1)
        // Final weights agree to fp32 noise amplified by eight Adam steps.
        let final = try SafeTensors.read(dir + "/jax.safetensors")
        var worst: Float = 0
        for s in model.layout.tensors {
            var theirs = [Float](repeating: 0, count: s.count)
            try theirs.withUnsafeMutableBufferPointer { try final.copy(s.name, shape: s.shape, into: $0.baseAddress!) }
            for i in 0..<s.count { worst = max(worst, abs(theirs[i] - model.params.p[s.offset + i])) }
        }
        #expect(worst < 5e-5, "max weight difference \(worst)")
    }

    static let safetensorsAvailable: Bool = {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import safetensors, numpy"]
        p.standardOutput = FileHandle.nullDevice; p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }()

    /// Python's `safetensors` opens a training checkpoint and sees the names, shapes and values.
    @Test(.enabled(if: safetensorsAvailable, "SKIPPED: python3 cannot import safetensors and numpy (pip install safetensors numpy)"))
    func pythonReadsCheckpoints() throws {
        let dir = temporaryDirectory("pyread")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try tinyDataset(in: dir)
        let run = try TrainingRun(job: tinyJob(data: [data], checkpoints: dir + "/c", steps: 3), reporter: silentReporter())
        try run.run()
        let path = try #require(Checkpoint.latest(root: dir + "/c"))
        let script = """
        import json, sys, numpy as np
        from safetensors.numpy import load_file
        out = {}
        for f in ("model", "optimizer"):
            for k, v in load_file(sys.argv[1] + "/" + f + ".safetensors").items():
                out[k] = [list(v.shape), str(v.dtype), float(np.asarray(v, np.float64).sum()), float(v.flat[0])]
        print(json.dumps(out))
        """
        let p = Process(), out = Pipe()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, path]
        p.standardOutput = out
        try p.run()
        let bytes = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let seen = try #require(try JSONSerialization.jsonObject(with: bytes) as? [String: [Any]])
        let model = run.model
        #expect(seen.count == 3 * model.layout.tensors.count)
        let adam = AdamW(OptimizerConfig(), layout: model.layout)
        let check = try GPT(model.config, threads: 1)
        _ = try Checkpoint.load(path, into: check, adam: adam)
        for s in model.layout.tensors {
            for (name, base) in [(s.name, model.params.p), (s.name + ".exp_avg", adam.m.p), (s.name + ".exp_avg_sq", adam.v.p)] {
                let entry = try #require(seen[name], "python does not see \(name)")
                #expect(entry[0] as? [Int] == s.shape && entry[1] as? String == "float32", "\(name)")
                let sum = (0..<s.count).reduce(0.0) { $0 + Double(base[s.offset + $1]) }
                #expect(abs((entry[2] as? Double ?? .nan) - sum) <= 1e-9 * max(1, abs(sum)), "\(name) sum")
                #expect(Float(entry[3] as? Double ?? .nan) == base[s.offset], "\(name) first value")
            }
        }
    }
}

import Foundation

/// How far one backend's numbers are from the CPU backend's: the checks `hearth-worker gpu-check`
/// runs on a GPU node, and the tests run CPU against CPU (another thread count) on any machine.
public enum BackendCheck {
    /// Agreement of one tensor: max |other − cpu| / max |cpu| over its elements.
    public struct Agreement: Sendable {
        public let name: String
        public let relativeError: Double
    }

    static func relative(_ a: UnsafePointer<Float>, _ ref: UnsafePointer<Float>, _ n: Int) -> Double {
        var diff = 0.0, scale = 0.0
        for i in 0..<n {
            diff = max(diff, Double(abs(a[i] - ref[i])))
            scale = max(scale, Double(abs(ref[i])))
        }
        return diff / max(scale, 1e-30)
    }

    /// One forward and backward pass of the same weights and batch on a 1-thread CPU model and on
    /// the backend `make` builds over a second model; the loss difference and every tensor's
    /// gradient agreement (tensors are per layer, so this is a per-layer check). With `dropout`
    /// the pass is a training pass (both backends draw the same counter-based masks).
    public static func gradients(_ cfg: ModelConfig, batch b: Int, seed: UInt64, dropout: Bool,
                                 make: (GPT) throws(TrainerError) -> any TrainerBackend) throws(TrainerError)
        -> (lossDifference: Double, tensors: [Agreement]) {
        let reference = try GPT(cfg, seed: seed, threads: 1)
        let other = try GPT(cfg, seed: seed, threads: 1)
        let backend = try make(other)
        var rng = RNG(seed: seed &+ 1)
        let n = b * cfg.context
        let x = (0..<n).map { _ in Int32(rng.below(cfg.vocab)) }, y = (0..<n).map { _ in Int32(rng.below(cfg.vocab)) }
        for m in [reference, other, backend.model] { m.training = dropout; m.dropoutSeed = seed &* 31 }
        reference.zeroGrad()
        let l0 = try reference.forward(tokens: x, targets: y, b: b, t: cfg.context)
        reference.backward()
        try backend.zeroGrad()
        let l1 = try backend.forward(tokens: x, targets: y, b: b, t: cfg.context)
        try backend.backward(lossScale: 1)
        try backend.downloadGradients()
        let g = backend.model.grads.p
        let tensors = reference.layout.tensors.map {
            Agreement(name: $0.name, relativeError: relative(g + $0.offset, reference.grads.p + $0.offset, $0.count))
        }
        return (Double(abs(l0 - l1)), tensors)
    }

    /// `steps` AdamW steps on random batches on both; per-step loss differences and the largest
    /// final weight difference.
    public static func training(_ cfg: ModelConfig, batch b: Int, steps: Int, seed: UInt64,
                                make: (GPT) throws(TrainerError) -> any TrainerBackend) throws(TrainerError)
        -> (lossDifferences: [Double], weightDifference: Double) {
        let reference = try GPT(cfg, seed: seed, threads: 1), other = try GPT(cfg, seed: seed, threads: 1)
        let backend = try make(other)
        var opt = OptimizerConfig()
        opt.lr = 3e-3; opt.warmup = 2; opt.decaySteps = steps
        let a0 = AdamW(opt, layout: reference.layout), a1 = AdamW(opt, layout: other.layout)
        var rng = RNG(seed: seed &+ 2)
        var diffs: [Double] = []
        for s in 0..<steps {
            let n = b * cfg.context
            let x = (0..<n).map { _ in Int32(rng.below(cfg.vocab)) }, y = x.map { ($0 + 1) % Int32(cfg.vocab) }
            reference.zeroGrad()
            let l0 = try reference.forward(tokens: x, targets: y, b: b, t: cfg.context)
            reference.backward()
            a0.update(reference.par, params: reference.params, grads: reference.grads, lr: opt.learningRate(at: s))
            try backend.zeroGrad()
            let l1 = try backend.forward(tokens: x, targets: y, b: b, t: cfg.context)
            try backend.backward(lossScale: 1)
            _ = try backend.step(a1, lr: opt.learningRate(at: s))
            diffs.append(Double(abs(l0 - l1)))
        }
        try backend.download(a1)
        var worst: Float = 0
        let p = backend.model.params.p
        for i in 0..<reference.layout.count { worst = max(worst, abs(reference.params.p[i] - p[i])) }
        return (diffs, Double(worst))
    }
}

extension GPT {
    /// This model with the weights of `other` (same config).
    public func copyingWeights(of other: GPT) -> GPT {
        params.p.update(from: other.params.p, count: layout.count)
        return self
    }
}

/// Every kernel unit compiled to PTX by the NVRTC already loaded (`NVRTC.load`).
public enum CUDAKernelCheck {
    /// (unit name, PTX bytes) for each unit; throws at the first that does not compile or lacks
    /// one of its kernels' entry points.
    public static func compileAll(arch: String) throws(TrainerError) -> [(String, Int)] {
        var out: [(String, Int)] = []
        for unit in CUDAKernels.all {
            let ptx = try NVRTC.compile(unit.code, name: unit.name, arch: arch)
            for k in unit.kernels where !ptx.contains(".entry \(k)(") {
                throw .badInput("kernel \(unit.name): no entry point \(k) in its PTX")
            }
            out.append((unit.name, ptx.utf8.count))
        }
        return out
    }
}

/// The JAX parity test's eight AdamW steps on any backend (the same weights, batches and
/// hyper-parameters as `JAXParityTests`), compared with `parity_jax.py` run by python3 (JAX on CPU).
public enum JAXParityCheck {
    public static func run(dir: String, bias: Bool, script: String,
                           make: (GPT) throws(TrainerError) -> any TrainerBackend) throws(TrainerError)
        -> (lossDifference: Double, weightDifference: Double, jaxLosses: [Double]) {
        try FileIO.makeDirectories(dir)
        let cfg = ModelConfig(layers: 2, heads: 2, width: 32, context: 16, vocab: 23, bias: bias)
        let b = 4, steps = 8
        let model = try GPT(cfg, seed: 11, threads: 2)
        var opt = OptimizerConfig()
        opt.lr = 3e-3; opt.minLR = 3e-4; opt.warmup = 2; opt.decaySteps = steps
        let initPath = dir + "/init.safetensors"
        try SafeTensors.write(initPath, model.layout.tensors.map {
            SafeTensors.Entry(name: $0.name, shape: $0.shape, data: model.params.p + $0.offset)
        })
        var rng = RNG(seed: 5)
        var batches: [[Int32]] = [], flat: [Int32] = []
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
        try FileIO.writeAtomically(dir + "/batches.bin", flat.withUnsafeBytes { Array($0) })
        let config: [String: Any] = [
            "layers": cfg.layers, "heads": cfg.heads, "width": cfg.width, "context": cfg.context, "vocab": cfg.vocab,
            "batch": b, "steps": steps, "bias": bias, "lr": opt.lr, "min_lr": opt.minLR, "warmup": opt.warmup,
            "decay_steps": opt.decaySteps, "beta1": opt.beta1, "beta2": opt.beta2, "eps": opt.eps,
            "weight_decay": opt.weightDecay, "grad_clip": opt.gradClip,
        ]
        guard let cj = try? JSONSerialization.data(withJSONObject: config) else { throw .io("cannot encode config.json") }
        try FileIO.writeAtomically(dir + "/config.json", Array(cj))
        let p = Process(), out = Pipe()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script, dir + "/config.json", initPath, dir + "/batches.bin", dir + "/jax.safetensors"]
        p.standardOutput = out
        p.environment = ProcessInfo.processInfo.environment.merging(["JAX_PLATFORMS": "cpu"]) { $1 }
        do { try p.run() } catch { throw .badInput("cannot run python3 \(script): \(error)") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0,
              let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last,
              let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let jax = obj["losses"] as? [Double] else { throw .badInput("\(script) failed (needs jax and safetensors)") }
        let backend = try make(model)
        let adam = AdamW(opt, layout: model.layout)
        var worstLoss = 0.0
        for s in 0..<steps {
            let x = Array(batches[s][..<(b * cfg.context)]), y = Array(batches[s][(b * cfg.context)...])
            try backend.zeroGrad()
            let loss = Double(try backend.forward(tokens: x, targets: y, b: b, t: cfg.context))
            try backend.backward(lossScale: 1)
            _ = try backend.step(adam, lr: opt.learningRate(at: s))
            worstLoss = max(worstLoss, abs(loss - jax[s]))
        }
        try backend.download(adam)
        let final = try SafeTensors.read(dir + "/jax.safetensors")
        var worst: Float = 0
        let mine = backend.model.params.p
        for s in model.layout.tensors {
            var theirs = [Float](repeating: 0, count: s.count)
            let buf = FloatBuffer(s.count)
            try final.copy(s.name, shape: s.shape, into: buf.p)
            theirs = buf.array
            for i in 0..<s.count { worst = max(worst, abs(theirs[i] - mine[s.offset + i])) }
        }
        return (worstLoss, Double(worst), jax)
    }
}

/// A job moved between the CPU and another backend: the same job trained 10 steps on the CPU,
/// against 5 steps on one backend and then 5 more resumed from that checkpoint on the other
/// (CPU → backend and backend → CPU). Both must resume at step 5 and end at step 10 with the
/// CPU's weights to float tolerance.
public enum ResumeCheck {
    public static func run(dir: String, backend: BackendChoice, precision: CUDAPrecision) throws(TrainerError) -> (pass: Bool, report: [String: Any]) {
        try FileIO.makeDirectories(dir)
        var rng = RNG(seed: 9)
        let words = ["to", "be", "or", "not", "that", "is", "the", "question", "whether", "tis", "nobler"]
        var text = ""
        for i in 0..<3000 { text += words[rng.below(words.count)] + (i % 9 == 8 ? ".\n" : " ") }
        try FileIO.writeAtomically(dir + "/text.txt", text: text)
        var o = PrepareOptions(inputs: [dir + "/text.txt"], output: dir + "/data")
        o.shardTokens = 4000
        if !FileIO.exists(dir + "/data/index.json") { _ = try prepareDataset(o) }
        let reporter = Reporter(fd: open("/dev/null", O_WRONLY))
        func job(_ ckpt: String, steps: Int, on b: BackendChoice) -> TrainJob {
            var opt = OptimizerConfig()
            opt.warmup = 2; opt.decaySteps = 10; opt.lr = 3e-3
            var j = TrainJob(model: ModelConfig(layers: 2, heads: 2, width: 32, context: 16, vocab: 0),
                             data: [TrainJob.Source(path: dir + "/data", weight: 1)], evalData: nil, optimizer: opt,
                             batchSize: 4, gradAccum: 2, steps: steps, seed: 42, threads: 1, checkpointDir: ckpt,
                             checkpointInterval: 0, keepCheckpoints: 2, evalInterval: nil, evalBatches: nil, logInterval: 100,
                             initFrom: nil, resume: .latest)
            j.backend = b; j.cudaPrecision = precision
            return j
        }
        for f in FileIO.list(dir + "/cpu") { Checkpoint.removeTree(dir + "/cpu/" + f) }
        let full = try TrainingRun(job: job(dir + "/cpu", steps: 10, on: .cpu), reporter: reporter)
        try full.run()
        var report: [String: Any] = ["check": "resume", "backend": backend.rawValue]
        var pass = true
        for (label, first, second) in [("cpu_to_backend", BackendChoice.cpu, backend), ("backend_to_cpu", backend, BackendChoice.cpu)] {
            let root = dir + "/" + label
            for f in FileIO.list(root) { Checkpoint.removeTree(root + "/" + f) }
            try TrainingRun(job: job(root, steps: 5, on: first), reporter: reporter).run()
            let resumed = try TrainingRun(job: job(root, steps: 10, on: second), reporter: reporter)
            let at = resumed.step
            try resumed.run()
            var worst: Float = 0
            for i in 0..<full.model.layout.count { worst = max(worst, abs(full.model.params.p[i] - resumed.model.params.p[i])) }
            let ok = at == 5 && resumed.step == 10 && worst < 1e-3
            pass = pass && ok
            report[label] = ["resumed_at": at, "ended_at": resumed.step, "weight_diff": Double(worst), "pass": ok]
        }
        report["pass"] = pass
        return (pass, report)
    }
}

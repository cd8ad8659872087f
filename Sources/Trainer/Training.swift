import Foundation

/// Runs a `TrainJob`: resumes from the checkpoint its `resume` names (by default the newest in `checkpoint_dir`),
/// reports progress as JSON lines, checkpoints every `checkpoint_interval` steps and on a stop
/// request (SIGTERM), after which it throws `.preempted`.
public final class TrainingRun {
    public let job: TrainJob
    let reporter: Reporter
    /// Asked between steps whether to checkpoint and stop as preempted. Defaults to the process's
    /// signals (``StopSignal/requested``); a test sets its own, so it cannot stop another run
    /// training in the same process.
    public var shouldStop: () -> Bool = { StopSignal.requested }
    public private(set) var model: GPT
    /// Where the forward and backward passes and the optimizer run (chosen at start).
    public let backend: any TrainerBackend
    let adam: AdamW
    var sampler: MixtureSampler
    let evalSplit: TokenSplit
    let seed: UInt64, threads: Int
    public private(set) var step = 0
    var tokensSeen = 0
    /// The teacher of a `distill` job (nil for plain training).
    let distiller: Distiller?
    /// The first dataset's tokenizer file, copied into each checkpoint (nil when it has none).
    let tokenizerFile: String?

    /// Prepares `job`; with `distill`, the student (`job.model`) learns from a teacher checkpoint.
    /// `backend` overrides the job's `backend` (the `--backend` flag).
    public init(job: TrainJob, reporter: Reporter, distill: DistillSettings? = nil, backend choice: BackendChoice? = nil) throws(TrainerError) {
        try job.validate()
        self.job = job; self.reporter = reporter
        seed = job.seed ?? 1337
        threads = job.threads ?? 1
        var sources: [TokenSplit] = []
        for s in job.data { sources.append(try TokenSplit(dir: s.path, split: "train")) }
        let index = try DatasetIndex.load(job.data[0].path)
        let tokenizer = job.data[0].path + "/" + index.tokenizer
        tokenizerFile = FileManager.default.fileExists(atPath: tokenizer) ? tokenizer : nil
        evalSplit = try TokenSplit(dir: job.evalData ?? job.data[0].path, split: "val")
        var config = job.model
        if config.vocab == 0 { config.vocab = sources[0].vocab }
        for s in sources where s.vocab > config.vocab {
            throw .badInput("dataset \(s.name) has vocabulary \(s.vocab), larger than model.vocab \(config.vocab)")
        }
        model = try GPT(config, seed: seed, threads: threads)
        guard job.batchSize * config.context > 0 else { throw .badInput("empty batch") }
        adam = AdamW(job.optimizer ?? OptimizerConfig(), layout: model.layout)
        sampler = try MixtureSampler(sources: sources, weights: job.data.map { $0.weight ?? 1 }, seed: seed &+ 0x5EED)
        if let distill {
            distiller = try Distiller(settings: distill, student: config, threads: job.threads ?? 1)
        } else {
            distiller = nil
        }
        var want = choice ?? job.backend ?? .cpu
        if distill != nil {
            // The distillation loss reads the student's probabilities on the host.
            guard want != .cuda else { throw .badInput("distill jobs run on the cpu backend only; set backend to cpu or auto") }
            want = .cpu
        }
        backend = try Backends.make(want, model: model, precision: job.cudaPrecision ?? .tf32)
        if let path = try Self.resumePoint(job) {
            let info = try Checkpoint.load(path, into: model, adam: adam)
            // Bit-exact resume holds for the same backend and thread count; a job moved between
            // a CPU and a GPU node resumes at the same step with weights equal to float tolerance.
            let from = info.backend ?? "cpu"
            guard info.threads == threads || from != "cpu" || backend.name != "cpu" else {
                throw .badInput("\(path) was written with \(info.threads) threads, the job asks for \(threads); exact resume needs the same")
            }
            step = info.step; tokensSeen = info.tokensSeen
            sampler.rng.state = info.samplerState
            reporter.emit("resumed", ["step": step, "path": path, "backend": from])
        } else if let initFrom = job.initFrom {
            try Checkpoint.loadWeights(initFrom, into: model)
        } else if let distiller, let layers = distill?.studentInitLayers {
            try distiller.initialise(model, layers: layers)
        }
        try backend.upload(adam)
    }

    /// The checkpoint to resume from, if any. A recorded one must still be the very checkpoint
    /// recorded: its sidecar's model hash is the recorded SHA-256, and loading it then checks the
    /// file against that hash. One no longer on this node (another node wrote it) means a fresh start.
    static func resumePoint(_ job: TrainJob) throws(TrainerError) -> String? {
        switch job.resume ?? .latest {
        case .none: return nil
        case .latest: return Checkpoint.latest(root: job.checkpointDir)
        case .recorded(let path, let sha256):
            guard FileIO.exists(path + "/checkpoint.json") else {
                FileHandle.standardError.write(Data("hearth-worker: the recorded checkpoint \(path) is not on this node; starting from step 0\n".utf8))
                return nil
            }
            let info = try Checkpoint.info(path)
            guard info.modelSHA256 == sha256 else {
                throw .badInput("\(path) is not the checkpoint this job recorded (its model's SHA-256 is \(info.modelSHA256), the job recorded \(sha256)); not resuming from it")
            }
            return path
        }
    }

    /// Mean loss over `batches` random windows of the eval split (a fixed stream per step).
    public func estimateValLoss(batches: Int) throws(TrainerError) -> Double {
        var s = try MixtureSampler(sources: [evalSplit], weights: [1], seed: seed &+ 1)
        var total = 0.0
        for _ in 0..<batches {
            let (x, y) = try s.nextBatch(b: job.batchSize, t: model.config.context)
            total += Double(try backend.forward(tokens: x, targets: y, b: job.batchSize, t: model.config.context))
        }
        return total / Double(max(1, batches))
    }

    /// One optimizer step (with gradient accumulation); returns (mean loss, lr, grad norm).
    public func trainStep() throws(TrainerError) -> (loss: Double, lr: Double, norm: Double) {
        let accum = job.gradAccum ?? 1, b = job.batchSize, t = model.config.context
        let lr = adam.config.learningRate(at: step)
        try backend.zeroGrad()
        var loss = 0.0
        model.training = true
        defer { model.training = false }
        for micro in 0..<accum {
            // Dropout masks from (seed, step, micro-step): the same after a resume, no state to save.
            model.dropoutSeed = seed &* 0x2545_F491_4F6C_DD1D &+ UInt64(step) << 16 &+ UInt64(micro)
            let (x, y) = try sampler.nextBatch(b: b, t: t)
            if let distiller {
                loss += try distiller.step(student: model, x: x, y: y, b: b, t: t, lossScale: 1 / Float(accum)).loss
            } else {
                loss += Double(try backend.forward(tokens: x, targets: y, b: b, t: t))
                try backend.backward(lossScale: 1 / Float(accum))
            }
        }
        let norm = try backend.step(adam, lr: lr)
        step += 1
        tokensSeen += accum * b * t
        return (loss / Double(accum), lr, norm)
    }

    /// Writes a checkpoint of the current state and reports it. With `prune`, older ones beyond
    /// `keep_checkpoints` go; the checkpoint written on a stop prunes nothing, since hearthd
    /// resumes a job only from a checkpoint it recorded, and the newest recorded one may be older
    /// than the newest written (a report still in flight when hearthd died).
    @discardableResult
    public func checkpoint(prune: Bool = true) throws(TrainerError) -> String {
        try backend.download(adam)
        let info = CheckpointInfo(model: model.config, optimizer: adam.config, step: step, samplerState: sampler.rng.state,
                                  seed: seed, threads: threads, tokensSeen: tokensSeen, modelSHA256: "", optimizerSHA256: "",
                                  backend: backend.name)
        let (path, sha) = try Checkpoint.save(root: job.checkpointDir, model: model, adam: adam, info: info, tokenizer: tokenizerFile)
        if prune { Checkpoint.prune(root: job.checkpointDir, keep: job.keepCheckpoints ?? 2) }
        reporter.emit("checkpoint", ["step": step, "path": path, "sha256": sha])
        return path
    }

    /// Trains to `job.steps`. Throws `.preempted` after checkpointing when a stop is requested.
    public func run() throws(TrainerError) {
        let logEvery = max(1, job.logInterval ?? 10), ckptEvery = job.checkpointInterval ?? 0
        let evalEvery = job.evalInterval ?? 0, evalBatches = job.evalBatches ?? 20
        reporter.emit("started", ["step": step, "steps": job.steps, "params": model.layout.count, "threads": threads,
                                  "backend": backend.name, "device": backend.device,
                                  "vocab": model.config.vocab, "tokens_per_step": (job.gradAccum ?? 1) * job.batchSize * model.config.context])
        var last = (loss: 0.0, lr: 0.0, norm: 0.0)
        var lastVal: Double?
        var t0 = Date(), tok0 = tokensSeen
        while step < job.steps {
            if shouldStop() {
                let path = try checkpoint(prune: false)
                reporter.emit("preempted", ["step": step, "path": path])
                throw .preempted("stopped by signal at step \(step); checkpoint \(path)")
            }
            if evalEvery > 0 && step % evalEvery == 0 {
                let v = try estimateValLoss(batches: evalBatches)
                lastVal = v
                reporter.emit("eval", ["step": step, "val_loss": rounded(v)])
                t0 = Date(); tok0 = tokensSeen
            }
            last = try trainStep()
            if step % logEvery == 0 || step == job.steps {
                let dt = Date().timeIntervalSince(t0)
                reporter.emit("progress", ["step": step, "loss": rounded(last.loss), "lr": last.lr,
                                           "grad_norm": rounded(last.norm), "tokens_per_s": rounded(Double(tokensSeen - tok0) / max(dt, 1e-9), 1)])
                t0 = Date(); tok0 = tokensSeen
            }
            if ckptEvery > 0 && step % ckptEvery == 0 && step < job.steps { try checkpoint() }
        }
        var done: [String: Any] = ["step": step, "loss": rounded(last.loss), "tokens": tokensSeen]
        if evalEvery > 0 {
            let v = try estimateValLoss(batches: evalBatches)
            lastVal = v
            reporter.emit("eval", ["step": step, "val_loss": rounded(v)])
        }
        if let lastVal { done["val_loss"] = rounded(lastVal) }
        let path = try checkpoint()
        done["path"] = path
        reporter.emit("done", done)
    }
}

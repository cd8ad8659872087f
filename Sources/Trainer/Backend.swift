import Foundation

/// Where a job computes: the CPU (OpenBLAS), an NVIDIA GPU through CUDA libraries loaded at run
/// time, or `auto` (CUDA when it loads and a GPU is visible, else the CPU). Job files write
/// `"backend": "cpu" | "cuda" | "auto"`; absent means `cpu`.
public enum BackendChoice: String, Codable, Sendable, CaseIterable {
    case cpu, cuda, auto

    /// Parses a flag or job value; anything else is a one-line `badInput`.
    public static func parse(_ s: String) throws(TrainerError) -> BackendChoice {
        guard let c = BackendChoice(rawValue: s) else {
            throw .badInput("backend must be cpu, cuda or auto, got \"\(s)\"")
        }
        return c
    }
}

/// How the CUDA backend multiplies matrices. Weights, gradients and AdamW moments stay FP32
/// (master weights) in every mode; `tf32` and `bf16` let cuBLAS round the inputs of each product
/// to TF32 or BF16 on the tensor cores and accumulate in FP32. Job files: `"cuda_precision"`.
public enum CUDAPrecision: String, Codable, Sendable, CaseIterable {
    case fp32, tf32, bf16
}

/// The computation of one training run: forward and backward passes, the optimizer step, and
/// the rows a scorer reads. The host `GPT` and `AdamW` stay the source of truth for checkpoints:
/// a backend that keeps its state elsewhere (a GPU) copies it back in `download()` and takes it
/// from there in `upload()`.
public protocol TrainerBackend: AnyObject {
    /// `cpu` or `cuda`.
    var name: String { get }
    /// The hardware it runs on, in words (for reports).
    var device: String { get }
    /// The host model whose config, layout, `training` flag and `dropoutSeed` the backend follows.
    var model: GPT { get }
    /// Sets all gradients to zero.
    func zeroGrad() throws(TrainerError)
    /// As `GPT.forward`: the mean cross-entropy of `tokens` against `targets`.
    func forward(tokens: [Int32], targets: [Int32]?, b: Int, t: Int) throws(TrainerError) -> Float
    /// As `GPT.backward`: adds the gradient of `lossScale ×` the last forward pass's mean loss.
    func backward(lossScale: Float) throws(TrainerError)
    /// One AdamW update of `adam` with learning rate `lr`; returns the gradient norm before clipping.
    func step(_ adam: AdamW, lr: Double) throws(TrainerError) -> Double
    /// After a forward pass with targets: each position's loss and most likely next token.
    func rowScores(count: Int) throws(TrainerError) -> (losses: [Float], best: [Int32])
    /// Copies weights (and `adam`'s moments) from the backend into the host buffers.
    func download(_ adam: AdamW?) throws(TrainerError)
    /// Copies the host weights (and `adam`'s moments) into the backend.
    func upload(_ adam: AdamW?) throws(TrainerError)
    /// Copies the gradients into the host model's `grads` (for checks of one backend against another).
    func downloadGradients() throws(TrainerError)
}

/// The CPU backend: the model's own kernels (OpenBLAS and Swift loops), exactly as before the
/// seam existed; nothing to copy.
public final class CPUBackend: TrainerBackend {
    public let model: GPT
    public var name: String { "cpu" }
    public var device: String { "CPU, \(model.par.threads) threads" }

    public init(_ model: GPT) { self.model = model }

    public func zeroGrad() { model.zeroGrad() }

    public func forward(tokens: [Int32], targets: [Int32]?, b: Int, t: Int) throws(TrainerError) -> Float {
        try model.forward(tokens: tokens, targets: targets, b: b, t: t)
    }

    public func backward(lossScale: Float) { model.backward(lossScale: lossScale) }

    public func step(_ adam: AdamW, lr: Double) -> Double {
        adam.update(model.par, params: model.params, grads: model.grads, lr: lr)
    }

    public func rowScores(count n: Int) -> (losses: [Float], best: [Int32]) {
        let v = model.config.vocab, probs = model.probsPointer
        var best = [Int32](repeating: 0, count: n)
        best.withUnsafeMutableBufferPointer { out in
            let o = out.baseAddress!
            // The most likely token at every position, rows in parallel (a scan of the vocabulary each).
            model.par.forEach(n) { i in
                let row = probs + i * v
                var b = 0
                for j in 1..<v where row[j] > row[b] { b = j }
                o[i] = Int32(b)
            }
        }
        return (Array(UnsafeBufferPointer(start: model.lossPointer, count: n)), best)
    }

    public func download(_ adam: AdamW?) {}
    public func upload(_ adam: AdamW?) {}
    public func downloadGradients() {}
}

/// Chooses and starts the backend for a run.
public enum Backends {
    /// The backend `choice` asks for over `model`. `cuda` where CUDA cannot start throws one
    /// `badInput` sentence naming what is missing; `auto` then falls back to the CPU.
    public static func make(_ choice: BackendChoice, model: GPT, precision: CUDAPrecision = .tf32) throws(TrainerError) -> any TrainerBackend {
        switch choice {
        case .cpu: return CPUBackend(model)
        case .cuda: return try CUDABackend(model: model, precision: precision)
        case .auto:
            do { return try CUDABackend(model: model, precision: precision) } catch {
                // Said once, in the job's log: a GPU node that trains on its CPU must be visible.
                FileHandle.standardError.write(Data("hearth-worker: backend auto: training on the CPU, since CUDA did not start: \(error)\n".utf8))
                return CPUBackend(model)
            }
        }
    }
}

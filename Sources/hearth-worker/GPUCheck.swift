import ArgumentParser
import Foundation
import Trainer

/// `hearth-worker gpu-check`: the checks of a backend against the CPU that need no Swift
/// toolchain on the GPU node (run by `Tests/GPU/run.sh`). Each prints `RESULT gpu-check {json}`
/// lines; the exit status is 0 when every figure is inside its threshold, 1 when one is not,
/// 2 when the backend cannot start (CUDA missing: one sentence on stderr).
struct GPUCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpu-check",
        abstract: "Check a backend against the CPU: info, kernels, gradients, training, parity (with JAX), resume.")
    @Argument(help: "info | kernels | gradients | training | parity | resume") var check: String
    @Option(help: "Backend under test (cuda, or cpu to rehearse with 2 threads against 1).") var backend = "cuda"
    @Option(help: "Matrix products: fp32, tf32 or bf16.") var precision = "fp32"
    @Option(help: "Virtual architecture for `kernels` (PTX target).") var arch = "compute_90"
    @Option(help: "Work directory (parity, resume).") var dir = NSTemporaryDirectory() + "hearth-gpu-check"
    @Option(help: "parity_jax.py (parity).") var script = "Tests/TrainerTests/parity_jax.py"

    func run() throws {
        runMode(Reporter(fd: 1)) { () throws(TrainerError) in
            let choice = try BackendChoice.parse(backend)
            guard let prec = CUDAPrecision(rawValue: precision) else { throw .badInput("precision must be fp32, tf32 or bf16, got \(precision)") }
            // The backend over a model: `cpu` rehearses the same comparisons on 2 threads.
            let make: (GPT) throws(TrainerError) -> any TrainerBackend = { (m) throws(TrainerError) in
                if choice == .cpu { return CPUBackend(try GPT(m.config, seed: 0, threads: 2).copyingWeights(of: m)) }
                return try Backends.make(choice, model: m, precision: prec)
            }
            var ok = true
            switch check {
            case "info":
                let m = try GPT(ModelConfig(layers: 1, heads: 1, width: 16, context: 4, vocab: 8))
                let b = try make(m)
                emit(["check": "info", "backend": b.name, "device": b.device])
            case "kernels":
                try NVRTC.load()
                for (name, ptxBytes) in try CUDAKernelCheck.compileAll(arch: arch) {
                    emit(["check": "kernels", "unit": name, "arch": arch, "ptx_bytes": ptxBytes, "nvrtc": try NVRTC.version()])
                }
            case "gradients":
                // TF32 keeps 10 mantissa bits and BF16 7: looser limits than FP32's.
                let (limit, lossLimit) = prec == .fp32 ? (1e-3, 1e-4) : prec == .tf32 ? (3e-2, 1e-2) : (1e-1, 5e-2)
                for (label, cfg, dropout) in Self.gradientCases {
                    let r = try BackendCheck.gradients(cfg, batch: 4, seed: 3, dropout: dropout, make: make)
                    let worst = r.tensors.max { $0.relativeError < $1.relativeError }!
                    let pass = r.lossDifference < lossLimit && worst.relativeError < limit
                    ok = ok && pass
                    emit(["check": "gradients", "case": label, "precision": precision, "loss_diff": r.lossDifference,
                          "worst_tensor": worst.name, "worst_rel_err": worst.relativeError, "limit": limit, "loss_limit": lossLimit, "pass": pass,
                          "per_tensor": Dictionary(uniqueKeysWithValues: r.tensors.map { ($0.name, $0.relativeError) })])
                }
            case "training":
                let cfg = ModelConfig(layers: 2, heads: 4, width: 64, context: 32, vocab: 97)
                let r = try BackendCheck.training(cfg, batch: 4, steps: 8, seed: 5, make: make)
                let pass = r.lossDifferences.max()! < 1e-4 && r.weightDifference < 1e-3
                ok = pass
                emit(["check": "training", "loss_diffs": r.lossDifferences, "weight_diff": r.weightDifference, "pass": pass])
            case "parity":
                for bias in [true, false] {
                    let r = try JAXParityCheck.run(dir: dir + "/parity-\(bias)", bias: bias, script: script, make: make)
                    let pass = r.lossDifference < 1e-5 && r.weightDifference < 5e-5
                    ok = ok && pass
                    emit(["check": "parity", "bias": bias, "loss_diff": r.lossDifference, "weight_diff": r.weightDifference,
                          "jax_losses": r.jaxLosses, "pass": pass])
                }
            case "resume":
                let r = try ResumeCheck.run(dir: dir + "/resume", backend: choice, precision: prec)
                ok = r.pass
                emit(r.report)
            default:
                throw .badInput("unknown check \(check): use info, kernels, gradients, training, parity or resume")
            }
            if !ok { Foundation.exit(1) }
        }
    }

    static let gradientCases: [(String, ModelConfig, Bool)] = [
        ("bias", ModelConfig(layers: 2, heads: 4, width: 64, context: 32, vocab: 97), false),
        ("no-bias", ModelConfig(layers: 2, heads: 4, width: 64, context: 32, vocab: 97, bias: false), false),
        ("dropout", ModelConfig(layers: 2, heads: 4, width: 64, context: 32, vocab: 97, dropout: 0.1), true),
        ("odd-shapes", ModelConfig(layers: 1, heads: 3, width: 48, context: 13, vocab: 50), false),
    ]

    func emit(_ obj: [String: Any]) {
        let data = (try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])) ?? Data()
        print("RESULT gpu-check " + String(decoding: data, as: UTF8.self))
        fflush(nil)
    }
}

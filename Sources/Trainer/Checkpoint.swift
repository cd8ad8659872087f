import Foundation

/// The JSON sidecar of a checkpoint (`checkpoint.json`, version 1).
public struct CheckpointInfo: Codable, Sendable {
    public var version = 1
    public var model: ModelConfig
    public var optimizer: OptimizerConfig
    /// Optimizer steps completed; training resumes at this step.
    public var step: Int
    /// The data sampler's RNG state after `step` steps (the data position).
    public var samplerState: [UInt64]
    public var seed: UInt64
    public var threads: Int
    public var tokensSeen: Int
    public var modelSHA256: String
    public var optimizerSHA256: String
    /// The backend that wrote it (`cpu` or `cuda`; absent in checkpoints older than the seam: `cpu`).
    public var backend: String?
}

/// Checkpoints: a directory `step-NNNNNNNN` holding `model.safetensors` (weights, GPT-2 names),
/// `optimizer.safetensors` (`<name>.exp_avg`, `<name>.exp_avg_sq`) and `checkpoint.json`.
/// The directory is assembled under a temporary name, every file fsynced, then renamed into place.
public enum Checkpoint {
    /// Directory name of the checkpoint at `step`.
    public static func name(step: Int) -> String {
        let s = String(step)
        return "step-" + String(repeating: "0", count: max(0, 8 - s.count)) + s
    }

    /// Writes a checkpoint under `root`; returns its path and the SHA-256 of `model.safetensors`.
    /// The weights and moments are read from the host buffers (a GPU backend downloads them first).
    /// `tokenizer`: the training data's tokenizer file, kept in the checkpoint as `tokenizer.json`
    /// so that eval and serve find it wherever the checkpoint travels.
    public static func save(root: String, model: GPT, adam: AdamW, info: CheckpointInfo, tokenizer: String? = nil)
        throws(TrainerError) -> (path: String, sha256: String)
    {
        try FileIO.makeDirectories(root)
        let final = root + "/" + name(step: info.step)
        let tmp = root + "/.tmp-" + name(step: info.step) + "-\(getpid())"
        removeTree(tmp)
        try FileIO.makeDirectories(tmp)
        do throws(TrainerError) {
            let specs = model.layout.tensors
            let modelSHA = try SafeTensors.write(tmp + "/model.safetensors", specs.map {
                SafeTensors.Entry(name: $0.name, shape: $0.shape, data: model.params.p + $0.offset)
            }, metadata: ["format": "pt", "producer": "hearth-worker"])
            var moments: [SafeTensors.Entry] = []
            for s in specs {
                moments.append(.init(name: s.name + ".exp_avg", shape: s.shape, data: adam.m.p + s.offset))
                moments.append(.init(name: s.name + ".exp_avg_sq", shape: s.shape, data: adam.v.p + s.offset))
            }
            let optSHA = try SafeTensors.write(tmp + "/optimizer.safetensors", moments,
                                               metadata: ["adam_step": String(adam.step)])
            var sidecar = info
            sidecar.modelSHA256 = modelSHA; sidecar.optimizerSHA256 = optSHA
            let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            guard let json = try? enc.encode(sidecar) else { throw TrainerError.io("cannot encode checkpoint.json") }
            try FileIO.writeAtomically(tmp + "/checkpoint.json", Array(json))
            if let tokenizer { try FileIO.writeAtomically(tmp + "/tokenizer.json", try FileIO.read(tokenizer)) }
            FileIO.syncDirectory(of: tmp + "/x")
            if FileIO.exists(final) { removeTree(final) }
            guard rename(tmp, final) == 0 else { throw TrainerError.io("cannot rename \(tmp) to \(final)") }
            FileIO.syncDirectory(of: final)
            return (final, modelSHA)
        } catch {
            removeTree(tmp)
            throw error
        }
    }

    /// Reads a checkpoint's sidecar, verifying both files' checksums.
    public static func info(_ path: String) throws(TrainerError) -> CheckpointInfo {
        guard FileIO.exists(path + "/checkpoint.json") else { throw .badInput("\(path) is not a checkpoint (no checkpoint.json)") }
        let bytes = try FileIO.read(path + "/checkpoint.json")
        guard let info = try? JSONDecoder().decode(CheckpointInfo.self, from: Data(bytes)) else {
            throw .badInput("\(path)/checkpoint.json is corrupt")
        }
        guard info.version == 1 else { throw .badInput("\(path): unknown checkpoint version \(info.version)") }
        return info
    }

    /// Loads weights (and, when `adam` is given, the moments) into `model` from checkpoint `path`.
    public static func load(_ path: String, into model: GPT, adam: AdamW?) throws(TrainerError) -> CheckpointInfo {
        let info = try info(path)
        guard info.model == model.config else {
            throw .badInput("\(path): checkpoint model \(describe(info.model)) does not match \(describe(model.config))")
        }
        let weights = try SafeTensors.read(path + "/model.safetensors")
        try verify(weights, sha: info.modelSHA256, path: path + "/model.safetensors")
        for s in model.layout.tensors { try weights.copy(s.name, shape: s.shape, into: model.params.p + s.offset) }
        if let adam {
            let moments = try SafeTensors.read(path + "/optimizer.safetensors")
            try verify(moments, sha: info.optimizerSHA256, path: path + "/optimizer.safetensors")
            for s in model.layout.tensors {
                try moments.copy(s.name + ".exp_avg", shape: s.shape, into: adam.m.p + s.offset)
                try moments.copy(s.name + ".exp_avg_sq", shape: s.shape, into: adam.v.p + s.offset)
            }
            adam.step = Int(moments.metadata["adam_step"] ?? "") ?? info.step
        }
        return info
    }

    /// Loads just the weights of a safetensors file (e.g. an initialisation written by another tool).
    public static func loadWeights(_ file: String, into model: GPT) throws(TrainerError) {
        let weights = try SafeTensors.read(file)
        for s in model.layout.tensors { try weights.copy(s.name, shape: s.shape, into: model.params.p + s.offset) }
    }

    /// The newest complete checkpoint under `root`, if any.
    public static func latest(root: String) -> String? {
        FileIO.list(root).filter { $0.hasPrefix("step-") && FileIO.exists(root + "/" + $0 + "/checkpoint.json") }
            .last.map { root + "/" + $0 }
    }

    /// Deletes all but the newest `keep` checkpoints under `root`.
    public static func prune(root: String, keep: Int) {
        let all = FileIO.list(root).filter { $0.hasPrefix("step-") }
        for old in all.dropLast(max(1, keep)) { removeTree(root + "/" + old) }
    }

    static func verify(_ file: SafeTensors.File, sha: String, path: String) throws(TrainerError) {
        let got = file.bytes.withUnsafeBytes { SHA256.hex($0) }
        guard got == sha else { throw .badInput("\(path): checksum mismatch (corrupt checkpoint)") }
    }

    static func describe(_ c: ModelConfig) -> String {
        "(layers \(c.layers), heads \(c.heads), width \(c.width), context \(c.context), vocab \(c.vocab), bias \(c.bias))"
    }

    /// Removes a directory of plain files (checkpoint directories have no subdirectories).
    static func removeTree(_ path: String) {
        for f in FileIO.list(path) { unlink(path + "/" + f) }
        rmdir(path)
    }
}

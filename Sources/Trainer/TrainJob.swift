import Foundation

/// A training job, read from the JSON file given to `hearth-worker train --job` (snake_case keys;
/// see `Docs/worker-contract.md`).
public struct TrainJob: Codable, Sendable {
    /// One dataset of the mixture: a `prepare` output directory and its relative weight.
    public struct Source: Codable, Sendable {
        public var path: String
        public var weight: Double?
    }
    public var model: ModelConfig
    public var data: [Source]
    /// Dataset whose `val` split is used for evaluation (default: the first source).
    public var evalData: String?
    public var optimizer: OptimizerConfig?
    public var batchSize: Int
    public var gradAccum: Int?
    public var steps: Int
    public var seed: UInt64?
    public var threads: Int?
    public var checkpointDir: String
    public var checkpointInterval: Int?
    public var keepCheckpoints: Int?
    public var evalInterval: Int?
    public var evalBatches: Int?
    public var logInterval: Int?
    /// Optional safetensors file with initial weights (used when no checkpoint exists yet).
    public var initFrom: String?
    /// Where training resumes from. hearthd always sets it (a checkpoint this job recorded, or
    /// none); absent (a job file written by hand), the newest checkpoint in `checkpoint_dir`.
    public var resume: Resume?
    /// Where the job computes (`cpu`, `cuda`, `auto`; default `cpu`); `hearth-worker train --backend` overrides it.
    public var backend: BackendChoice?
    /// How the CUDA backend multiplies matrices (`fp32`, `tf32`, `bf16`; default `tf32`).
    public var cudaPrecision: CUDAPrecision?

    /// Where a run resumes: `"none"`, `"latest"` (the newest in `checkpoint_dir`), or
    /// `{"path": DIR, "sha256": HEX}`, a checkpoint whose `model.safetensors` must have that SHA-256.
    public enum Resume: Codable, Sendable, Equatable {
        case none
        case latest
        case recorded(path: String, sha256: String)

        private struct Recorded: Codable { var path: String; var sha256: String }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let word = try? c.decode(String.self) {
                switch word {
                case "none": self = .none
                case "latest": self = .latest
                default: throw DecodingError.dataCorruptedError(in: c, debugDescription: "resume must be none, latest or {path, sha256}")
                }
                return
            }
            let r = try c.decode(Recorded.self)
            self = .recorded(path: r.path, sha256: r.sha256)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .none: try c.encode("none")
            case .latest: try c.encode("latest")
            case .recorded(let path, let sha256): try c.encode(Recorded(path: path, sha256: sha256))
            }
        }
    }

    /// Parses a job file; every problem is a one-line `badInput`.
    public static func load(_ path: String) throws(TrainerError) -> TrainJob {
        let bytes = try FileIO.read(path)
        let dec = JSONDecoder()
        dec.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try dec.decode(TrainJob.self, from: Data(bytes))
        } catch let DecodingError.keyNotFound(key, ctx) {
            throw .badInput("\(path): missing field \((ctx.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: "."))")
        } catch let DecodingError.typeMismatch(_, ctx) {
            throw .badInput("\(path): wrong type for \(ctx.codingPath.map(\.stringValue).joined(separator: "."))")
        } catch {
            throw .badInput("\(path) is not a valid job file (JSON)")
        }
    }

    /// Checks values beyond types.
    public func validate() throws(TrainerError) {
        guard batchSize > 0 else { throw .badInput("batch_size must be positive") }
        guard steps >= 0 else { throw .badInput("steps must not be negative") }
        guard (gradAccum ?? 1) > 0 else { throw .badInput("grad_accum must be positive") }
        guard (threads ?? 1) > 0 else { throw .badInput("threads must be positive") }
        guard !data.isEmpty else { throw .badInput("data must list at least one dataset") }
    }
}

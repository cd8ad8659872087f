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

import Foundation
import Trainer

/// An evaluation job, read from the JSON file given to `hearth-worker eval --job` (snake_case
/// keys; see `Docs/evaluation.md`).
public struct EvalJob: Codable, Sendable {
    /// Checkpoint directory (`step-NNNNNNNN`) to evaluate.
    public var checkpoint: String
    /// Tokenizer file (`tokenizer.json` of the dataset the model was trained on). Defaults to the
    /// `tokenizer.json` the trainer keeps in each checkpoint (or beside it).
    public var tokenizer: String?
    /// The tasks, run in order.
    public var tasks: [TaskSpec]
    /// Where the harness-shaped results file is written (atomically).
    public var resultsPath: String
    /// Threads. Defaults to `1`.
    public var threads: Int?
    /// Rows per forward pass. Defaults to `8`.
    public var batch: Int?
    /// Text of the one token that starts a text scored from its beginning (the harness uses the
    /// end-of-text token). Defaults to the tokenizer's `<|endoftext|>`, else a newline.
    public var textStart: String?

    /// Parses a job file; every problem is a one-line `badInput`.
    public static func load(_ path: String) throws(TrainerError) -> EvalJob {
        let job: EvalJob = try JobFile.decode(path)
        try job.validate()
        return job
    }

    /// The tokenizer file: the given one, or the one in (or beside) the checkpoint.
    public func resolvedTokenizer() throws(TrainerError) -> String {
        if let tokenizer { return tokenizer }
        let dir = URL(fileURLWithPath: checkpoint)
        for candidate in [dir.appendingPathComponent("tokenizer.json"), dir.deletingLastPathComponent().appendingPathComponent("tokenizer.json")]
        where FileManager.default.fileExists(atPath: candidate.path) {
            return candidate.path
        }
        throw .badInput("no tokenizer: give \"tokenizer\" (the dataset's tokenizer.json); none was found in or beside \(checkpoint)")
    }

    /// Checks values beyond types.
    public func validate() throws(TrainerError) {
        guard !tasks.isEmpty else { throw .badInput("tasks must list at least one task") }
        guard (threads ?? 1) > 0 else { throw .badInput("threads must be positive") }
        guard (batch ?? 8) > 0 else { throw .badInput("batch must be positive") }
        var seen: Set<String> = []
        for t in tasks {
            guard seen.insert(t.name).inserted else { throw .badInput("task name \(t.name) appears twice") }
            try t.validate()
        }
    }
}

/// One task of an eval job.
public struct TaskSpec: Codable, Sendable {
    /// The kinds of task (`type` in the job file).
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// Rolling log-likelihood of documents: word and byte perplexity, bits per byte.
        case perplexity
        /// Multiple choice from JSONL (`query`, `choices`, `gold`): acc and acc_norm.
        case multipleChoice = "multiple_choice"
        /// Last-word prediction from JSONL (`text`): perplexity and acc.
        case lambada
        /// CrowS-Pairs CSV as published: pct_stereotype and likelihood_diff, per bias type.
        case crowsPairs = "crows_pairs"
        /// StereoSet JSON as published: lms, ss and icat, per split and bias type.
        case stereoset
    }
    /// Name of the task in results (letters, digits, `_`, `-`, `.`).
    public var name: String
    /// The kind of task.
    public var type: Kind
    /// The data file.
    public var path: String
    /// Score only the first `limit` documents. Defaults to all.
    public var limit: Int?
    /// Text between a multiple-choice query and each choice. Defaults to `" "` (the harness's `target_delimiter`).
    public var delimiter: String?
    /// Leave out documents the tokenizer cannot encode (a char tokenizer meeting characters outside
    /// its alphabet) instead of failing; results then count fewer `samples` than `available`.
    /// Defaults to `false`.
    public var skipUnencodable: Bool?

    public init(name: String, type: Kind, path: String, limit: Int? = nil, delimiter: String? = nil, skipUnencodable: Bool? = nil) {
        self.name = name; self.type = type; self.path = path; self.limit = limit; self.delimiter = delimiter
        self.skipUnencodable = skipUnencodable
    }

    func validate() throws(TrainerError) {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
        guard !name.isEmpty, name.count <= 100, name.allSatisfy({ allowed.contains($0) }) else {
            throw .badInput("task name \"\(name)\" must be 1-100 letters, digits, '_', '-' or '.'")
        }
        guard (limit ?? 1) > 0 else { throw .badInput("task \(name): limit must be positive") }
    }
}

/// Decoding of snake_case JSON job files with one-line errors.
enum JobFile {
    static func decode<T: Decodable>(_ path: String) throws(TrainerError) -> T {
        let bytes = try FileIO.read(path)
        let dec = JSONDecoder()
        dec.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try dec.decode(T.self, from: Data(bytes))
        } catch let DecodingError.keyNotFound(key, ctx) {
            throw .badInput("\(path): missing field \((ctx.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: "."))")
        } catch let DecodingError.typeMismatch(_, ctx) {
            throw .badInput("\(path): wrong type for \(ctx.codingPath.map(\.stringValue).joined(separator: "."))")
        } catch let DecodingError.dataCorrupted(ctx) where !ctx.codingPath.isEmpty {
            let known = TaskSpec.Kind.allCases.map(\.rawValue).joined(separator: ", ")
            throw .badInput("\(path): bad value for \(ctx.codingPath.map(\.stringValue).joined(separator: ".")) (task types: \(known))")
        } catch {
            throw .badInput("\(path) is not a valid job file (JSON)")
        }
    }
}

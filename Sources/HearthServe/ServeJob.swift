import Foundation
import Trainer

/// The job file of `hearth-worker serve`: which checkpoint to serve, where, and how many
/// requests at once. Keys are snake_case in JSON.
public struct ServeJob: Codable, Sendable {
    /// Checkpoint directory (`step-NNNNNNNN`) to load.
    public var checkpoint: String
    /// Tokenizer file (the dataset's `tokenizer.json`). Defaults to a `tokenizer.json` in the
    /// checkpoint directory or the directory above it.
    public var tokenizer: String?
    /// Address to listen on. Defaults to `127.0.0.1`.
    public var host: String?
    /// The bearer key every `/v1` request must carry (`Authorization: Bearer KEY`). hearthd puts
    /// a random one in every serve job's spec (migration 0008); `nil` (a worker started by hand)
    /// serves without one.
    public var apiKey: String?
    /// TCP port; 0 picks a free one (reported in the `serving` event). Defaults to `0`.
    public var port: Int?
    /// Streams decoded together in one batch. Defaults to `4`.
    public var maxConcurrent: Int?
    /// Requests waiting for a free stream before new ones get 429. Defaults to `16`.
    public var maxQueue: Int?
    /// Compute threads. Defaults to `1`.
    public var threads: Int?
    /// Name reported as `model` in responses. Defaults to the checkpoint directory's name.
    public var modelName: String?
    /// Simulated extra loading time in milliseconds, for tests that observe `/health` answering
    /// 503 while loading. Defaults to `0`; not for production use.
    public var testLoadDelayMs: Int?

    enum CodingKeys: String, CodingKey {
        case checkpoint, tokenizer, host, port, threads
        case apiKey = "api_key"
        case maxConcurrent = "max_concurrent", maxQueue = "max_queue", modelName = "model_name"
        case testLoadDelayMs = "test_load_delay_ms"
    }

    public init(checkpoint: String, tokenizer: String?) {
        self.checkpoint = checkpoint
        self.tokenizer = tokenizer
    }

    /// Reads and validates a job file.
    public static func load(_ path: String) throws(TrainerError) -> ServeJob {
        guard let data = FileManager.default.contents(atPath: path) else { throw .badInput("cannot read job file \(path)") }
        let job: ServeJob
        do { job = try JSONDecoder().decode(ServeJob.self, from: data) } catch {
            throw .badInput("\(path) is not a serve job: \(error); it needs at least \"checkpoint\"")
        }
        try job.validate()
        return job
    }

    /// Checks the limits; every problem is a one-line `badInput` error.
    public func validate() throws(TrainerError) {
        if let p = port, !(0...65535).contains(p) { throw .badInput("port must be in 0...65535, got \(p)") }
        if let m = maxConcurrent, m < 1 { throw .badInput("max_concurrent must be at least 1, got \(m)") }
        if let q = maxQueue, q < 0 { throw .badInput("max_queue must not be negative, got \(q)") }
        if let t = threads, t < 1 { throw .badInput("threads must be at least 1, got \(t)") }
    }

    /// The tokenizer file: the given one, or one found beside the checkpoint.
    func resolvedTokenizer() throws(TrainerError) -> String {
        if let tokenizer { return tokenizer }
        let dir = URL(fileURLWithPath: checkpoint)
        for candidate in [dir.appendingPathComponent("tokenizer.json"), dir.deletingLastPathComponent().appendingPathComponent("tokenizer.json")]
        where FileManager.default.fileExists(atPath: candidate.path) {
            return candidate.path
        }
        throw .badInput("no tokenizer: give \"tokenizer\" (the dataset's tokenizer.json); none was found beside \(checkpoint)")
    }

    /// The bind address: `HEARTH_SERVE_BIND_ADDRESS` when hearthd set it (the node admin's
    /// `serve_bind_address`; it overrides the spec), else `host`, else `127.0.0.1`.
    var resolvedHost: String {
        if let admin = ProcessInfo.processInfo.environment["HEARTH_SERVE_BIND_ADDRESS"], !admin.isEmpty { return admin }
        return host ?? "127.0.0.1"
    }
    var resolvedPort: Int { port ?? 0 }
    var resolvedMaxConcurrent: Int { maxConcurrent ?? 4 }
    var resolvedMaxQueue: Int { maxQueue ?? 16 }
    var resolvedThreads: Int { threads ?? 1 }
    var resolvedModelName: String { modelName ?? URL(fileURLWithPath: checkpoint).lastPathComponent }
}

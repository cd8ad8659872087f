import Foundation

/// One JSON line a `hearth-worker` writes on its report descriptor (Docs/worker-contract.md).
public struct WorkerReport: Sendable, Hashable, Decodable {
    /// `started`, `resumed`, `progress`, `eval`, `checkpoint`, `done`, `preempted`, `error`, ...
    public var event: String
    public var step: Int?
    public var loss: Double?
    public var lr: Double?
    public var tokensPerSecond: Double?
    public var path: String?
    public var sha256: String?
    public var message: String?
    public var valLoss: Double?
    /// `serving`: the endpoint's base URL, model name, parameter count and context length.
    public var url: String?
    public var model: String?
    public var parameters: Int64?
    public var context: Int?

    /// `eval_result`: the task, its metrics, documents scored and the evaluated checkpoint.
    public var task: String?
    public var metrics: [String: Double]?
    public var samples: Int?
    public var checkpoint: CheckpointRef?

    /// The checkpoint an `eval_result` is of.
    public struct CheckpointRef: Sendable, Hashable, Decodable {
        public var path: String
        public var step: Int
        public var sha256: String
    }

    enum CodingKeys: String, CodingKey {
        case event, step, loss, lr, path, sha256, message, task, metrics, samples, checkpoint
        case url, model, parameters, context
        case tokensPerSecond = "tokens_per_s"
        case valLoss = "val_loss"
    }

    /// Parses one line; `nil` for a line that is not a report (the worker's contract is broken).
    public static func parse(_ line: String) -> WorkerReport? {
        try? JSONDecoder().decode(WorkerReport.self, from: Data(line.utf8))
    }
}

/// Exit statuses of `hearth-worker`, as its contract documents them.
public enum WorkerExit {
    public static let success: Int32 = 0
    public static let internalFailure: Int32 = 1
    public static let badInput: Int32 = 2
    public static let nodeIOError: Int32 = 3
    /// Stopped by SIGTERM after writing a checkpoint (`EX_TEMPFAIL`).
    public static let preempted: Int32 = 75
}

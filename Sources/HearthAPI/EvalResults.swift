#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HearthCore

/// `GET /v1/jobs/{id}/eval`: what an eval job measured, one entry per task and metric.
public struct EvalResultsView: Sendable, Hashable, Codable {
    public var job: Int64
    public var name: String
    public var kind: JobKind
    public var state: JobState
    /// By task, then metric.
    public var results: [EvalMetricView]

    public init(job: Int64, name: String, kind: JobKind, state: JobState, results: [EvalMetricView]) {
        self.job = job; self.name = name; self.kind = kind; self.state = state; self.results = results
    }
}

/// One recorded metric of an eval job, with the checkpoint it is of.
public struct EvalMetricView: Sendable, Hashable, Codable {
    public var task: String
    public var metric: String
    public var value: Double
    /// Documents scored.
    public var samples: Int
    public var checkpointStep: Int
    public var checkpointPath: String
    /// SHA-256 of the checkpoint's `model.safetensors`.
    public var checkpointSHA256: String
    public var attempt: Int
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case task, metric, value, samples, attempt
        case checkpointStep = "checkpoint_step"
        case checkpointPath = "checkpoint_path"
        case checkpointSHA256 = "checkpoint_sha256"
        case createdAt = "created_at"
    }

    public init(task: String, metric: String, value: Double, samples: Int, checkpointStep: Int, checkpointPath: String,
                checkpointSHA256: String, attempt: Int, createdAt: Date) {
        self.task = task; self.metric = metric; self.value = value; self.samples = samples
        self.checkpointStep = checkpointStep; self.checkpointPath = checkpointPath
        self.checkpointSHA256 = checkpointSHA256; self.attempt = attempt; self.createdAt = createdAt
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One metric of one task of an evaluation job, as recorded in `eval_results`.
public struct EvalResult: Sendable, Hashable, Codable {
    public var jobID: Int64
    /// The attempt that produced it.
    public var attempt: Int
    /// The evaluated checkpoint: its training step, directory and the SHA-256 of its weights.
    public var checkpointStep: Int
    public var checkpointPath: String
    public var checkpointSHA256: String
    /// Task name (a task's slices are `<task>_<slice>`).
    public var task: String
    /// Metric key (`acc`, `word_perplexity`, `pct_stereotype`, ...).
    public var metric: String
    public var value: Double
    /// Documents scored.
    public var samples: Int
    public var createdAt: Date

    public init(jobID: Int64, attempt: Int, checkpointStep: Int, checkpointPath: String, checkpointSHA256: String,
                task: String, metric: String, value: Double, samples: Int, createdAt: Date) {
        self.jobID = jobID; self.attempt = attempt; self.checkpointStep = checkpointStep
        self.checkpointPath = checkpointPath; self.checkpointSHA256 = checkpointSHA256
        self.task = task; self.metric = metric; self.value = value; self.samples = samples; self.createdAt = createdAt
    }
}

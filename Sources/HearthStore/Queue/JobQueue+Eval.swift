import Foundation
import HearthCore

extension JobQueue {
    /// Records one task's metrics reported by the eval attempt holding `lease`, fenced like
    /// `recordProgress` (the job row is locked FOR SHARE while the epoch is checked). A task
    /// reported again (a retried attempt) replaces its earlier values.
    /// - Throws: ``QueueError`` `staleLease` / `notFound` when the lease is no longer the job's.
    public func recordEvalResult(
        _ lease: Lease, task: String, samples: Int, metrics: [String: Double],
        checkpoint: (step: Int, path: String, sha256: String)
    ) async throws {
        guard !metrics.isEmpty else { return }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: metrics, options: [.sortedKeys]), as: UTF8.self)
        let rows = try await client.query("""
            SELECT hearth_record_eval(\(lease.jobID)::bigint, \(lease.epoch)::bigint, \(checkpoint.step)::bigint,
                                      \(checkpoint.path)::text, \(checkpoint.sha256)::text, \(task)::text, \(json)::jsonb,
                                      \(samples)::int) AS id
            """)
        if rows.isEmpty { throw try await refusal(lease, operation: "record eval results of", allowed: [.running]) }
    }

    /// Every recorded metric of a job, by task then metric.
    public func evalResults(jobID: Int64) async throws -> [EvalResult] {
        try await client.query("""
            SELECT job_id, attempt, checkpoint_step, checkpoint_path, checkpoint_sha, task, metric, value, samples, created_at
            FROM eval_results WHERE job_id = \(jobID) ORDER BY task, metric
            """).map {
            EvalResult(
                jobID: try $0.decode("job_id"), attempt: try $0.decode("attempt"), checkpointStep: try $0.decode("checkpoint_step"),
                checkpointPath: try $0.decode("checkpoint_path"), checkpointSHA256: try $0.decode("checkpoint_sha"),
                task: try $0.decode("task"), metric: try $0.decode("metric"), value: try $0.decode("value"),
                samples: try $0.decode("samples"), createdAt: try $0.decode("created_at"))
        }
    }
}

import Foundation
import HearthCore

// Every write here (a function of Migrations/0013_node_roles.sql, bound to the node that runs the
// attempt) locks the job row FOR SHARE while it checks the epoch: a concurrent rescue
// (which updates the row) then either waits for the write to commit, or the write waits, sees
// the new epoch and inserts nothing. Without the lock the insert could read the old row version
// and land after the rescue: a stale attempt's checkpoint recorded after the job moved on.
extension JobQueue {
    /// Records a training progress report of the attempt holding `lease` (fenced like every
    /// leased write: a stale epoch records nothing and throws).
    public func recordProgress(_ lease: Lease, step: Int, loss: Double?, lr: Double?, tokensPerSecond: Double?) async throws {
        let rows = try await client.query("""
            SELECT hearth_record_progress(\(lease.jobID)::bigint, \(lease.epoch)::bigint, \(step)::bigint, \(loss)::float8,
                                          \(lr)::float8, \(tokensPerSecond)::float8) AS step
            """)
        if rows.isEmpty { throw try await refusal(lease, operation: "record progress of", allowed: [.running]) }
    }

    /// Records a completed checkpoint of the attempt holding `lease`, with a `checkpoint` event.
    public func recordCheckpoint(_ lease: Lease, step: Int, path: String, bytes: Int64, sha256: String) async throws {
        let rows = try await client.query("""
            SELECT hearth_record_checkpoint(\(lease.jobID)::bigint, \(lease.epoch)::bigint, \(step)::bigint, \(path)::text,
                                            \(bytes)::bigint, \(sha256)::text) AS id
            """)
        if rows.isEmpty { throw try await refusal(lease, operation: "record a checkpoint of", allowed: [.running]) }
    }

    /// The newest recorded checkpoint of a job, if any: where a resumed attempt starts from.
    public func latestCheckpoint(jobID: Int64) async throws -> (step: Int, path: String, sha256: String)? {
        let rows = try await client.query("""
            SELECT step, path, sha256 FROM checkpoints WHERE job_id = \(jobID) ORDER BY step DESC, id DESC LIMIT 1
            """)
        guard let row = rows.first else { return nil }
        return (try row.decode("step"), try row.decode("path"), try row.decode("sha256"))
    }

    /// Training progress of a job, oldest first, across all attempts.
    public func metrics(jobID: Int64) async throws -> [(attempt: Int, step: Int, loss: Double?)] {
        try await client.query("""
            SELECT attempt, step, loss FROM job_metrics WHERE job_id = \(jobID) ORDER BY step, attempt
            """).map { (try $0.decode("attempt"), try $0.decode("step"), try $0.decode("loss")) }
    }
}

extension JobQueue {
    /// The longest output line kept; longer lines are cut, with a marker.
    public static let maxLogLineLength = 4096

    /// Appends lines a worker printed, for the attempt holding `lease` (a stale epoch appends nothing).
    public func appendLog(_ lease: Lease, lines: [String]) async throws {
        guard !lines.isEmpty else { return }
        let kept = lines.map { $0.count > Self.maxLogLineLength ? String($0.prefix(Self.maxLogLineLength)) + " [cut]" : $0 }
        let rows = try await client.query("""
            SELECT hearth_append_log(\(lease.jobID)::bigint, \(lease.epoch)::bigint, \(PostgresTextArray(kept))::text[]) AS id
            """)
        if rows.isEmpty { throw try await refusal(lease, operation: "append output of", allowed: [.scheduled, .running]) }
    }
}

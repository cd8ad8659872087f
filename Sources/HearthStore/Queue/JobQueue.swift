import Foundation
import HearthCore

/// The job queue in PostgreSQL.
///
/// Every operation is one statement (data-modifying CTEs), hence one transaction, that moves the
/// job, writes its `job_events` row and opens or closes its `allocations` row together: a crash
/// at any instant leaves either all of it or none. Operations made on behalf of a running
/// attempt carry its ``Lease``; one whose epoch is no longer the job's is refused (fencing), so a
/// node that lost its lease can never overwrite the attempt that replaced it.
///
/// See `Docs/queue.md` for the state diagram and who calls what.
public struct JobQueue: Sendable {
    /// Retry and lease timing.
    public struct Configuration: Sendable {
        /// How long a claim or heartbeat keeps the lease. Defaults to 30 seconds.
        public var leaseDuration: Duration = .seconds(30)
        /// The delay before the first retry; it doubles with each failure. Defaults to 10 seconds.
        public var retryBaseDelay: Duration = .seconds(10)
        /// The longest delay between retries. Defaults to one hour.
        public var retryMaxDelay: Duration = .seconds(3600)
        public init() {}
    }

    /// The channel `enqueue` notifies, once per submission; a wake-up hint, never needed for correctness.
    public static let notificationChannel = "hearth_jobs"

    public let client: PostgresClient
    public var configuration: Configuration

    public init(client: PostgresClient, configuration: Configuration = .init()) {
        self.client = client
        self.configuration = configuration
    }

    /// The outcome of ``enqueue(_:)``.
    public struct Submission: Sendable, Hashable {
        public var job: Job
        /// `false` when the idempotency key matched an earlier submission, which is returned instead.
        public var created: Bool
    }

    /// Adds a job in state `queued`, or returns the job submitted earlier with the same idempotency key.
    ///
    /// - Throws: ``QueueError`` `invalidJob` (bad field, unknown kind, unknown account or project),
    ///   `idempotencyConflict` (the key was used for a different job).
    public func enqueue(_ new: NewJob) async throws -> Submission {
        do { try new.validate() } catch { throw QueueError(.invalidJob, error.message) }
        if !new.afterOK.isEmpty {
            // Jobs are never deleted, so a dependency that exists now still exists when it is checked.
            let missing = try await client.query("""
                SELECT coalesce(array_agg(d ORDER BY d), '{}') AS missing FROM unnest(\(new.afterOK)::bigint[]) d
                WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE id = d)
                """)
            let ids: [Int64] = try missing[0].decode("missing")
            if !ids.isEmpty {
                throw QueueError(.invalidJob, "after-ok names job(s) \(ids.map(String.init).joined(separator: ", ")) that do not exist; check the ids with `hearth queue --all`")
            }
        }
        let rows: PostgresRows
        do {
            rows = try await client.query("""
                WITH ins AS (
                    INSERT INTO jobs (kind, account_id, project_id, name, spec, priority, qos, gpus,
                                      idempotency_key, max_attempts, run_at, spec_sha256,
                                      after_ok, time_limit_seconds, preemptible, gpu_model, gpu_memory_bytes)
                    SELECT \(new.kind)::text, \(new.accountID)::bigint, \(new.projectID)::bigint, \(new.name)::text,
                           s.spec, \(new.priority)::int, \(new.qos)::text, \(new.gpus)::int, \(new.idempotencyKey)::text,
                           \(new.maxAttempts)::int, coalesce(\(new.runAt)::timestamptz, now()),
                           encode(sha256(convert_to(\(new.kind)::text || ' ' || s.spec::text, 'UTF8')), 'hex'),
                           \(new.afterOK)::bigint[], \(new.timeLimitSeconds)::int, \(new.preemptible)::boolean,
                           \(new.gpuModel)::text, \(new.gpuMemoryBytes)::bigint
                    FROM (SELECT \(new.specJSON)::jsonb AS spec) s
                    ON CONFLICT (account_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
                    RETURNING *
                ), ev AS (
                    INSERT INTO job_events (job_id, event, to_state, attempt) SELECT id, 'submitted', 'queued', 0 FROM ins
                )
                SELECT \(sql: Job.columns), pg_notify(\(JobQueue.notificationChannel), id::text)::text AS notified
                FROM ins
                """)
        } catch let error as PostgresError where error.sqlState == "23503" || error.sqlState == "22P02" {
            throw QueueError(.invalidJob, Self.explainRefusal(error, new))
        }
        if let row = rows.first { return Submission(job: try Job(row: row), created: true) }
        // The key was used before: same submission → the earlier job; different → refused.
        guard let key = new.idempotencyKey else {
            throw PostgresError(code: .misuse, message: "enqueue inserted nothing without an idempotency key")
        }
        let existing = try await client.query("""
            SELECT \(sql: Job.columns),
                   spec_sha256 = encode(sha256(convert_to(\(new.kind)::text || ' ' || \(new.specJSON)::jsonb::text, 'UTF8')), 'hex')
                   AS same_spec
            FROM jobs WHERE account_id = \(new.accountID) AND idempotency_key = \(key)
            """)
        guard let row = existing.first else {
            throw PostgresError(code: .misuse, message: "idempotent enqueue found neither a new nor an earlier job")
        }
        let job = try Job(row: row)
        guard try row.decode("same_spec", as: Bool.self) else {
            throw QueueError(
                .idempotencyConflict, jobID: job.id,
                "idempotency key \"\(key)\" was already used for job \(job.id) with a different spec; "
                    + "use a new key for a new job")
        }
        return Submission(job: job, created: false)
    }

    private static func explainRefusal(_ error: PostgresError, _ new: NewJob) -> String {
        if error.sqlState == "22P02" { return "the job spec is not valid JSON" }
        if error.message.contains("jobs_kind_fkey") {
            return "unknown job kind \"\(new.kind)\"; known kinds are train, eval, serve, distill and command"
        }
        if error.message.contains("jobs_project_id_fkey") { return "no project with id \(new.projectID ?? 0)" }
        return "no account with id \(new.accountID)"
    }

    /// The job with that id, or `nil`.
    public func job(_ id: Int64) async throws -> Job? {
        try await client.query("SELECT \(sql: Job.columns) FROM jobs WHERE id = \(id)").first.map(Job.init(row:))
    }

    /// The job's audit trail, oldest first.
    public func events(jobID: Int64) async throws -> [JobEvent] {
        try await client.query("SELECT \(sql: JobEvent.columns) FROM job_events WHERE job_id = \(jobID) ORDER BY id")
            .map(JobEvent.init(row:))
    }

    /// The job's ledger rows, one per attempt, oldest first.
    public func allocations(jobID: Int64) async throws -> [Allocation] {
        try await client.query(
            "SELECT \(sql: Allocation.columns) FROM allocations WHERE job_id = \(jobID) ORDER BY attempt")
            .map(Allocation.init(row:))
    }

    /// Says precisely why a leased write matched no row: unknown job, stale epoch, or wrong state.
    func refusal(_ lease: Lease, operation: String, allowed: [JobState]) async throws -> QueueError {
        guard let job = try await job(lease.jobID) else {
            return QueueError(.notFound, jobID: lease.jobID, "no job \(lease.jobID)")
        }
        if job.leaseEpoch != lease.epoch {
            return QueueError(
                .staleLease, jobID: job.id,
                "cannot \(operation) job \(job.id): lease epoch \(lease.epoch) is stale (the job is at epoch "
                    + "\(job.leaseEpoch), \(job.state.rawValue)); this attempt no longer owns it")
        }
        return QueueError(
            .invalidTransition, jobID: job.id,
            "cannot \(operation) job \(job.id): it is \(job.state.rawValue), and only a "
                + allowed.map(\.rawValue).joined(separator: " or ") + " job can be")
    }
}

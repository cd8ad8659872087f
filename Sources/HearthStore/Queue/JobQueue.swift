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

    /// Adds a job in state `queued` (`hearth_submit`), or returns the job submitted earlier with
    /// the same idempotency key.
    ///
    /// - Throws: ``QueueError`` `invalidJob` (bad field, unknown kind, unknown account or project,
    ///   a dependency that does not exist), `idempotencyConflict` (the key was used for a different job).
    public func enqueue(_ new: NewJob) async throws -> Submission {
        try await client.withConnection { try await enqueue(new, on: $0) }
    }

    /// Adds every job of a pipeline in one transaction: all are queued, or none. `make` is given
    /// the ids of the steps already queued (in order) and returns the next step's job, so a step
    /// can depend on earlier ones.
    /// - Throws: what ``enqueue(_:)`` throws, with nothing queued.
    public func enqueueAll(count: Int, _ make: @Sendable ([Int64]) throws -> NewJob) async throws -> [Job] {
        try await client.withTransaction { connection in
            var jobs: [Job] = []
            for _ in 0..<count {
                jobs.append(try await enqueue(try make(jobs.map(\.id)), on: connection).job)
            }
            return jobs
        }
    }

    func enqueue(_ new: NewJob, on connection: PostgresConnection) async throws -> Submission {
        // The spec's form is left to PostgreSQL (its jsonb parse and jobs_spec_check, explained
        // below): parsing it here too cost the daemon a tenth of a submission's time (issue 16).
        do { try new.validateFields() } catch { throw QueueError(.invalidJob, error.message) }
        do {
            let rows = try await connection.query("""
                SELECT \(sql: Job.columns), r_created AS created
                FROM (SELECT (r.r_job).*, r.r_created FROM hearth_submit(
                    \(new.kind)::text, \(new.accountID)::bigint, \(new.projectID)::bigint, \(new.name)::text,
                    \(new.specJSON)::jsonb, \(new.priority)::int, \(new.qos)::text, \(new.gpus)::int,
                    \(new.idempotencyKey)::text, \(new.maxAttempts)::int, \(new.runAt)::timestamptz,
                    \(new.afterOK)::bigint[], \(new.timeLimitSeconds)::int, \(new.preemptible)::boolean,
                    \(new.gpuModel)::text, \(new.gpuMemoryBytes)::bigint) r) s
                """)
            return Submission(job: try Job(row: rows[0]), created: try rows[0].decode("created"))
        } catch let error as PostgresError where error.sqlState == "23503" || error.sqlState == "22P02"
                    || (error.sqlState == "23514" && error.message.contains("jobs_spec_check")) {
            throw QueueError(.invalidJob, Self.explainRefusal(error, new))
        } catch let error as PostgresError {
            throw QueueError(lifecycle: error, jobID: nil) ?? error
        }
    }

    private static func explainRefusal(_ error: PostgresError, _ new: NewJob) -> String {
        // The same sentence NewJob.validate() gives.
        if error.sqlState == "22P02" { return "the job spec must be a JSON object, such as {\"steps\": 100}; it is not valid JSON" }
        if error.sqlState == "23514" { return "the job spec must be a JSON object, such as {\"steps\": 100}" }
        if error.message.contains("jobs_kind_fkey") {
            return "job kind \"\(new.kind)\" is not in this database's job_kinds; migrate it (hearthd migrate)"
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
}

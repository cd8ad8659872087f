import Foundation
import HearthCore

/// Job arrays and batch submission: many jobs in one statement.
///
/// Through the lifecycle functions `hearth_submit_batch` and `hearth_cancel_queued_elements`
/// (Migrations/0011_batch_lifecycle.sql): job rows, their `submitted` events and one `pg_notify`
/// in one statement, hence one transaction: a batch is queued whole or not at all.
extension JobQueue {
    /// Where a batch's jobs sit in an array, when they form one.
    public struct ArrayShape: Sendable, Hashable {
        /// Each job's index, in the batch's order (as many as jobs).
        public var indexes: [Int]
        /// At most this many elements scheduled or running at once; `nil` = no limit.
        public var parallel: Int?
        public init(indexes: [Int], parallel: Int? = nil) {
            self.indexes = indexes
            self.parallel = parallel
        }
    }

    /// The most jobs one batch or array may add (Slurm's MaxArraySize defaults to 1001).
    public static let maxBatch = 10_000

    /// Queues every job of `jobs` in one statement, in order (ids ascending), or none of them, and
    /// returns their ids in that order.
    /// With `array`, they form one array whose id is the first job's id.
    ///
    /// Idempotency keys are refused here (a key names one job; an array is many).
    /// - Throws: ``QueueError`` `invalidJob` (a bad field, naming the job's position, an unknown
    ///   kind or account, a dependency that does not exist).
    public func enqueueBatch(_ jobs: [NewJob], array: ArrayShape? = nil) async throws -> [Int64] {
        guard !jobs.isEmpty else { throw QueueError(.invalidJob, "the batch has no jobs") }
        guard jobs.count <= Self.maxBatch else {
            throw QueueError(.invalidJob, "a batch or array has at most \(Self.maxBatch) jobs, not \(jobs.count); split it")
        }
        if let array, array.indexes.count != jobs.count {
            throw PostgresError(code: .misuse, message: "enqueueBatch: \(array.indexes.count) array indexes for \(jobs.count) jobs")
        }
        // An array's elements are often one job repeated: each distinct job is checked once.
        var checked = Set<NewJob>()
        for (i, job) in jobs.enumerated() where checked.insert(job).inserted {
            let which = jobs.count == 1 ? "" : "job \(i + 1) of the batch: "
            do { try job.validate() } catch { throw QueueError(.invalidJob, which + error.message) }
            if job.idempotencyKey != nil {
                throw QueueError(.invalidJob, which + "an idempotency key names one job; leave it out of arrays and batches")
            }
        }
        let rows = jobs.enumerated().map { i, job in BatchRow(job, ord: i + 1, index: array?.indexes[i]) }
        let document = String(decoding: try JSONEncoder().encode(rows), as: UTF8.self)
        return try await submitting {
            // `hearth_submit_batch` (Migrations/0011_batch_lifecycle.sql): one statement, all or none.
            try await client.query("""
                SELECT id FROM hearth_submit_batch(\(document)::jsonb, \(array?.parallel)::int) AS id
                """).map { try $0.decode("id") }
        }
    }

    /// Queues an array of `template` at `indexes` (at most `parallel` elements at once) and
    /// returns its first element as queued; its id is the array's.
    ///
    /// `template`'s spec and name keep their `{index}`: element `i` gets ``ArraySpec``'s
    /// substitution of `i`. The caller has checked every element. One row is written per array
    /// here, the first element; the rest waits as a template (Migrations/0019_array_templates.sql)
    /// until ``expandArrays(arrayID:)`` writes it, which readers of elements call first.
    public func enqueueArray(_ template: NewJob, indexes: [Int], parallel: Int?) async throws -> Job {
        guard !indexes.isEmpty else { throw QueueError(.invalidJob, "the array has no indexes") }
        guard indexes.count <= Self.maxBatch else {
            throw QueueError(.invalidJob, "an array has at most \(Self.maxBatch) jobs, not \(indexes.count); split it")
        }
        if template.idempotencyKey != nil {
            throw QueueError(.invalidJob, "an idempotency key names one job; leave it out of arrays and batches")
        }
        let document = String(decoding: try JSONEncoder().encode(BatchRow(template, ord: 1, index: nil)), as: UTF8.self)
        let list = "{" + indexes.map(String.init).joined(separator: ",") + "}"
        return try await submitting {
            // One statement that also returns the row (Migrations/0023), so the answer needs no read.
            try Job(row: try await client.query("""
                SELECT \(sql: Job.columns) FROM hearth_submit_array_row(\(document)::jsonb, \(list)::int[], \(parallel)::int)
                """)[0])
        }
    }

    /// Writes the elements still waiting in array templates (one array's, or all) as job rows and
    /// returns how many; 0, after one cheap statement, when none wait.
    @discardableResult
    public func expandArrays(arrayID: Int64? = nil) async throws -> Int {
        Int(try await client.query("SELECT hearth_expand_arrays(\(arrayID)::bigint) AS n")[0].decode("n", as: Int64.self))
    }

    /// Writes the elements of the array templates older than `age` (Migrations/0022), those whose
    /// daemon died or could not write them, and returns how many; fresher ones are left to the
    /// daemon that took them, which writes them right after answering.
    @discardableResult
    public func expandArrays(olderThan age: Duration) async throws -> Int {
        Int(try await client.query("SELECT hearth_expand_arrays_older_than(\(age)::interval) AS n")[0].decode("n", as: Int64.self))
    }

    /// Runs a submission statement, turning PostgreSQL's refusals into ``QueueError``s.
    private func submitting<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PostgresError where error.sqlState == "HJ005" {
            throw QueueError(lifecycle: error, jobID: nil) ?? error
        } catch let error as PostgresError where error.sqlState == "23503" || error.sqlState == "22P02" {
            if error.sqlState == "22P02" { throw QueueError(.invalidJob, "a job spec is not valid JSON") }
            if error.message.contains("jobs_kind_fkey") {
                throw QueueError(.invalidJob, "unknown job kind in the batch; known kinds are train, eval, serve, distill and command")
            }
            if error.message.contains("jobs_project_id_fkey") { throw QueueError(.invalidJob, "the batch names a project that does not exist") }
            throw QueueError(.invalidJob, "the batch names an account that does not exist")
        }
    }

    /// The jobs of array `arrayID` (its first element's id), by index, every one written (see
    /// ``expandArrays(arrayID:)``); empty when there is no such array.
    public func arrayElements(_ arrayID: Int64) async throws -> [(index: Int, job: Job)] {
        try await expandArrays(arrayID: arrayID)
        return try await client.query("""
            SELECT \(sql: Job.columns), array_index FROM jobs WHERE array_id = \(arrayID) ORDER BY array_index
            """).map { (try $0.decode("array_index"), try Job(row: $0)) }
    }

    /// The job that is element `index` of array `arrayID`, or `nil`.
    public func arrayElement(_ arrayID: Int64, index: Int) async throws -> Job? {
        try await expandArrays(arrayID: arrayID)
        return try await client.query("""
            SELECT \(sql: Job.columns) FROM jobs WHERE array_id = \(arrayID) AND array_index = \(index)
            """).first.map(Job.init(row:))
    }

    /// Cancels every queued element of an array in one statement (events included, after writing
    /// those still in its template) and returns how many; the caller cancels the few scheduled or
    /// running ones with ``cancel(jobID:)``, which involves their nodes.
    public func cancelQueuedElements(arrayID: Int64) async throws -> Int {
        try await expandArrays(arrayID: arrayID)
        let rows = try await client.query("SELECT hearth_cancel_queued_elements(\(arrayID)::bigint) AS n")
        return Int(try rows[0].decode("n", as: Int64.self))
    }
}

/// One job of a batch as `jsonb_to_recordset` reads it.
private struct BatchRow: Encodable {
    var ord: Int
    var kind: String
    var account_id: Int64
    var project_id: Int64?
    var name: String
    /// The spec's JSON text (PostgreSQL parses it: `spec::jsonb`).
    var spec: String
    var priority: Int
    var qos: String
    var gpus: Int
    var max_attempts: Int
    var run_at: String?
    var after_ok: [Int64]
    var time_limit_seconds: Int?
    var preemptible: Bool?
    var gpu_model: String?
    var gpu_memory_bytes: Int64
    var array_index: Int?

    init(_ job: NewJob, ord: Int, index: Int?) {
        self.ord = ord
        kind = job.kind.rawValue
        account_id = job.accountID
        project_id = job.projectID
        name = job.name
        spec = job.specJSON
        priority = job.priority
        qos = job.qos.rawValue
        gpus = job.gpus
        max_attempts = job.maxAttempts
        run_at = job.runAt.map { $0.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)) }
        after_ok = job.afterOK
        time_limit_seconds = job.timeLimitSeconds
        preemptible = job.preemptible
        gpu_model = job.gpuModel
        gpu_memory_bytes = job.gpuMemoryBytes
        array_index = index
    }
}

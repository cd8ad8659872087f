import HearthCore

/// A queue operation that was refused; the message says why and what to do.
public struct QueueError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// No job with that id.
        case notFound
        /// The caller's lease epoch is older than the job's: another attempt owns the job now.
        case staleLease
        /// The job is not in a state that allows the operation.
        case invalidTransition
        /// The idempotency key was already used for a different submission.
        case idempotencyConflict
        /// The submission was refused before anything was written.
        case invalidJob
    }

    public var code: Code
    public var jobID: Int64?
    public var message: String

    public init(_ code: Code, jobID: Int64? = nil, _ message: String) {
        self.code = code
        self.jobID = jobID
        self.message = message
    }

    public var description: String { message }
}

extension QueueError {
    /// The named refusal a lifecycle function raised (`Migrations/0007_lifecycle.sql`), or `nil`
    /// for any other error. The function's message is already the sentence the caller shows.
    init?(lifecycle error: PostgresError, jobID: Int64?) {
        let code: Code
        switch error.sqlState {
        case "HJ001": code = .notFound
        case "HJ002": code = .staleLease
        case "HJ003": code = .invalidTransition
        case "HJ004": code = .idempotencyConflict
        case "HJ005": code = .invalidJob
        default: return nil
        }
        self.init(code, jobID: jobID ?? error.detail.flatMap { Int64($0) }, error.message)
    }
}

extension JobQueue {
    /// Runs a lifecycle function, turning its named refusals into ``QueueError``s.
    @discardableResult
    func transition(_ jobID: Int64?, _ query: PostgresQuery) async throws -> PostgresRows {
        do {
            return try await client.query(query)
        } catch let error as PostgresError {
            throw QueueError(lifecycle: error, jobID: jobID) ?? error
        }
    }
}

extension JobQueue {
    /// Says precisely why a write on behalf of an attempt matched no row (unknown job, stale
    /// epoch, or wrong state), in the words of the lifecycle's own `hearth_refuse`.
    func refusal(_ lease: Lease, operation: String, allowed: [JobState]) async throws -> QueueError {
        do {
            try await client.query("""
                SELECT hearth_refuse(\(lease.jobID)::bigint, \(lease.epoch)::bigint, \(operation)::text,
                                     \(PostgresTextArray(allowed.map(\.rawValue)))::text[])
                """)
        } catch let error as PostgresError {
            if let refused = QueueError(lifecycle: error, jobID: lease.jobID) { return refused }
            throw error
        }
        return QueueError(.invalidTransition, jobID: lease.jobID, "cannot \(operation) job \(lease.jobID)")
    }
}

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

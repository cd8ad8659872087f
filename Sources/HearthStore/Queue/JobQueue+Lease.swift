import Foundation
import HearthCore

extension JobQueue {
    /// The worker process is up: `scheduled` → `running`, renewing the lease.
    /// - Throws: ``QueueError`` `staleLease` or `invalidTransition`.
    public func start(_ lease: Lease) async throws {
        try await transition(lease.jobID, """
            SELECT hearth_start(\(lease.jobID)::bigint, \(lease.epoch)::bigint, \(configuration.leaseDuration)::interval)
            """)
    }

    /// What a heartbeat tells the node besides renewing the lease.
    public struct HeartbeatReply: Sendable, Hashable {
        /// The new expiry of the lease.
        public var expiresAt: Date
        /// Someone asked to cancel the job: stop the worker and call ``JobQueue/finishCancelled(_:)``.
        public var cancelRequested: Bool
        /// The scheduler or donor asked for preemption: SIGTERM the worker, then ``JobQueue/requeuePreempted(_:)``.
        public var preemptRequested: Bool
    }

    /// Extends the lease of a scheduled or running job.
    /// - Throws: ``QueueError`` `staleLease` when another attempt owns the job now (fencing):
    ///   the caller must stop its worker without writing anything more.
    public func heartbeat(_ lease: Lease) async throws -> HeartbeatReply {
        let rows = try await transition(lease.jobID, """
            SELECT r_expires_at, r_cancel, r_preempt
            FROM hearth_heartbeat(\(lease.jobID)::bigint, \(lease.epoch)::bigint, \(configuration.leaseDuration)::interval)
            """)
        return HeartbeatReply(
            expiresAt: try rows[0].decode("r_expires_at"), cancelRequested: try rows[0].decode("r_cancel"),
            preemptRequested: try rows[0].decode("r_preempt"))
    }

    /// The worker finished: `running` → `succeeded`, closing the ledger row.
    /// - Parameters:
    ///   - resultJSON: what the worker reported, a JSON value, or `nil`.
    ///   - usage: what the worker used (its rusage, GPU energy), stored in the ledger row as it closes.
    public func succeed(_ lease: Lease, resultJSON: String? = nil, usage: AttemptUsage = .none) async throws {
        try await transition(lease.jobID, """
            SELECT hearth_succeed(\(lease.jobID)::bigint, \(lease.epoch)::bigint, \(resultJSON)::jsonb,
                                  \(usage: usage))
            """)
    }

    /// The worker stopped after a cancel request: `scheduled` or `running` → `cancelled`, closing the ledger row.
    public func finishCancelled(_ lease: Lease, usage: AttemptUsage = .none) async throws {
        try await transition(lease.jobID, """
            SELECT hearth_finish_cancel(\(lease.jobID)::bigint, \(lease.epoch)::bigint, \(usage: usage))
            """)
    }

    /// What ``fail(_:error:retryable:)`` decided.
    public struct FailureOutcome: Sendable, Hashable {
        /// `queued` (a retry at ``retryAt``) or `failed` (for good).
        public var state: JobState
        /// When the retry becomes claimable, if there is one.
        public var retryAt: Date?
    }

    /// The attempt failed: the ledger row closes as `failed`; the job is requeued with an
    /// exponential backoff (`retryBaseDelay` × 2^(failures−1), capped at `retryMaxDelay`) while
    /// failures stay below `max_attempts` and the error is retryable, and fails for good otherwise.
    /// `usage` is what the worker used, stored in the ledger row as it closes.
    ///
    /// - Parameter avoidNode: the worker said this node cannot run the job (exit 3): the node is
    ///   added to the job's avoided nodes, so the scheduler places the retry elsewhere.
    public func fail(
        _ lease: Lease, error message: String, retryable: Bool = true, avoidNode: Bool = false, usage: AttemptUsage = .none
    ) async throws -> FailureOutcome {
        let rows = try await transition(lease.jobID, """
            SELECT r_state, r_run_at FROM hearth_fail(
                \(lease.jobID)::bigint, \(lease.epoch)::bigint, \(message)::text, \(retryable)::boolean, \(avoidNode)::boolean,
                \(configuration.retryBaseDelay)::interval, \(configuration.retryMaxDelay)::interval, \(usage: usage))
            """)
        let state = JobState(rawValue: try rows[0].decode("r_state", as: String.self)) ?? .failed
        return FailureOutcome(state: state, retryAt: state == .queued ? try rows[0].decode("r_run_at", as: Date.self) : nil)
    }

    /// The worker stopped for preemption (after checkpointing): the ledger row closes as
    /// `preempted` and the job goes back to `queued`, claimable at once, with `preemptions` + 1.
    /// `usage` is what the worker used, stored in the ledger row as it closes.
    public func requeuePreempted(_ lease: Lease, usage: AttemptUsage = .none) async throws {
        try await transition(lease.jobID, """
            SELECT hearth_requeue(\(lease.jobID)::bigint, \(lease.epoch)::bigint, \(usage: usage))
            """)
    }
}

extension PostgresQuery.StringInterpolation {
    /// The ledger-closing arguments of the lifecycle functions: CPU seconds, peak RSS, energy and its source.
    mutating func appendInterpolation(usage: AttemptUsage) {
        appendInterpolation(usage.cpuSeconds)
        appendLiteral("::float8, ")
        appendInterpolation(usage.peakRSSBytes)
        appendLiteral("::bigint, ")
        appendInterpolation(usage.energyJoules)
        appendLiteral("::float8, ")
        appendInterpolation(usage.energySource?.rawValue)
        appendLiteral("::text")
    }
}

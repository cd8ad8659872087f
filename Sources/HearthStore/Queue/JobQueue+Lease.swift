import Foundation
import HearthCore

extension JobQueue {
    /// Takes the next claimable job for a node: `queued` → `scheduled`, with a new lease epoch,
    /// an open ledger row and a `claimed` event, in one statement.
    ///
    /// Rows locked by a concurrent claimer are skipped (`FOR UPDATE SKIP LOCKED`), so any number
    /// of nodes can claim at once without waiting on each other or taking one job twice.
    ///
    /// - Parameters:
    ///   - nodeID: the claiming node.
    ///   - freeGPUIndices: the node's free GPUs; a job needing `n` gets the first `n` of them.
    ///   - kinds: only these job kinds; empty means any.
    /// - Returns: the job and its lease, or `nil` when nothing claimable fits or the node is not
    ///   `up` (a draining node finishes what it runs and takes nothing new).
    public func claim(nodeID: Int64, freeGPUIndices: [Int] = [], kinds: [String] = []) async throws -> (Job, Lease)? {
        let kindList = PostgresTextArray(kinds)
        let rows = try await client.query("""
            WITH picked AS (
                SELECT id FROM jobs
                WHERE state = 'queued' AND run_at <= now() AND gpus <= \(freeGPUIndices.count)::int
                  AND (\(kindList)::text[] = '{}' OR kind = ANY(\(kindList)::text[]))
                  AND (SELECT state FROM nodes WHERE id = \(nodeID)::bigint) = 'up'
                ORDER BY priority DESC, run_at, id
                LIMIT 1
                FOR UPDATE SKIP LOCKED
            ), claimed AS (
                UPDATE jobs j SET state = 'scheduled', node_id = \(nodeID)::bigint, attempt = j.attempt + 1,
                       lease_epoch = j.lease_epoch + 1, lease_expires_at = now() + \(configuration.leaseDuration)::interval,
                       scheduled_at = now(), started_at = NULL, preempt_requested_at = NULL
                FROM picked WHERE j.id = picked.id
                RETURNING j.*
            ), alloc AS (
                INSERT INTO allocations (job_id, attempt, node_id, gpus, gpu_indices, started_at)
                SELECT id, attempt, node_id, gpus, (\(freeGPUIndices)::int[])[1:gpus], now() FROM claimed
            ), ev AS (
                INSERT INTO job_events (job_id, event, from_state, to_state, node_id, attempt)
                SELECT id, 'claimed', 'queued', 'scheduled', node_id, attempt FROM claimed
            )
            SELECT \(sql: Job.columns) FROM claimed
            """)
        guard let row = rows.first else { return nil }
        let job = try Job(row: row)
        return (job, Lease(jobID: job.id, nodeID: nodeID, attempt: job.attempt, epoch: job.leaseEpoch,
                           expiresAt: job.leaseExpiresAt ?? job.runAt))
    }

    /// The worker process is up: `scheduled` → `running`, renewing the lease.
    /// - Throws: ``QueueError`` `staleLease` or `invalidTransition`.
    public func start(_ lease: Lease) async throws {
        let rows = try await client.query("""
            WITH s AS (
                UPDATE jobs SET state = 'running', started_at = now(),
                       lease_expires_at = now() + \(configuration.leaseDuration)::interval
                WHERE id = \(lease.jobID) AND lease_epoch = \(lease.epoch) AND state = 'scheduled'
                RETURNING id, node_id, attempt
            ), ev AS (
                INSERT INTO job_events (job_id, event, from_state, to_state, node_id, attempt)
                SELECT id, 'started', 'scheduled', 'running', node_id, attempt FROM s
            )
            SELECT id FROM s
            """)
        if rows.isEmpty { throw try await refusal(lease, operation: "start", allowed: [.scheduled]) }
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
        let rows = try await client.query("""
            UPDATE jobs SET lease_expires_at = now() + \(configuration.leaseDuration)::interval
            WHERE id = \(lease.jobID) AND lease_epoch = \(lease.epoch) AND state IN ('scheduled', 'running')
            RETURNING lease_expires_at, cancel_requested_at IS NOT NULL AS cancel, preempt_requested_at IS NOT NULL AS preempt
            """)
        guard let row = rows.first else {
            throw try await refusal(lease, operation: "renew the lease of", allowed: [.scheduled, .running])
        }
        return HeartbeatReply(
            expiresAt: try row.decode("lease_expires_at"), cancelRequested: try row.decode("cancel"),
            preemptRequested: try row.decode("preempt"))
    }

    /// The worker finished: `running` → `succeeded`, closing the ledger row.
    /// - Parameters:
    ///   - resultJSON: what the worker reported, a JSON value, or `nil`.
    ///   - usage: what the worker used (its rusage, GPU energy), stored in the ledger row as it closes.
    public func succeed(_ lease: Lease, resultJSON: String? = nil, usage: AttemptUsage = .none) async throws {
        try await finish(
            lease, to: .succeeded, event: "succeeded", reason: .succeeded, from: [.running], resultJSON: resultJSON, usage: usage)
    }

    /// The worker stopped after a cancel request: `running` → `cancelled`, closing the ledger row.
    public func finishCancelled(_ lease: Lease, usage: AttemptUsage = .none) async throws {
        try await finish(lease, to: .cancelled, event: "cancelled", reason: .cancelled, from: [.scheduled, .running], usage: usage)
    }

    private func finish(
        _ lease: Lease, to state: JobState, event: String, reason: Allocation.EndReason, from: [JobState],
        resultJSON: String? = nil, usage: AttemptUsage
    ) async throws {
        let fromList = PostgresTextArray(from.map(\.rawValue))
        let rows = try await client.query("""
            WITH cur AS (
                SELECT id, state, node_id, attempt FROM jobs
                WHERE id = \(lease.jobID) AND lease_epoch = \(lease.epoch) AND state = ANY(\(fromList)::text[])
                FOR UPDATE
            ), done AS (
                UPDATE jobs j SET state = \(state.rawValue)::text, finished_at = now(), node_id = NULL,
                       lease_expires_at = NULL, result = \(resultJSON)::jsonb
                FROM cur WHERE j.id = cur.id
                RETURNING j.id
            ), alloc AS (
                UPDATE allocations a SET ended_at = now(), end_reason = \(reason.rawValue)::text, cpu_seconds = \(usage.cpuSeconds)::float8,
                       peak_rss_bytes = \(usage.peakRSSBytes)::bigint, energy_joules = \(usage.energyJoules)::float8,
                       energy_source = \(usage.energySource?.rawValue)::text
                FROM cur WHERE a.job_id = cur.id AND a.attempt = cur.attempt AND a.ended_at IS NULL
            ), ev AS (
                INSERT INTO job_events (job_id, event, from_state, to_state, node_id, attempt)
                SELECT id, \(event)::text, state, \(state.rawValue)::text, node_id, attempt FROM cur
            )
            SELECT id FROM done
            """)
        if rows.isEmpty { throw try await refusal(lease, operation: "mark as \(state.rawValue)", allowed: from) }
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
    public func fail(
        _ lease: Lease, error message: String, retryable: Bool = true, usage: AttemptUsage = .none
    ) async throws -> FailureOutcome {
        let rows = try await client.query("""
            WITH cur AS (
                SELECT id, state, node_id, attempt, failures + 1 AS failures,
                       (\(retryable)::boolean AND failures + 1 < max_attempts) AS retry
                FROM jobs
                WHERE id = \(lease.jobID) AND lease_epoch = \(lease.epoch) AND state IN ('scheduled', 'running')
                FOR UPDATE
            ), upd AS (
                UPDATE jobs j SET failures = cur.failures,
                       state = CASE WHEN cur.retry THEN 'queued' ELSE 'failed' END,
                       run_at = CASE WHEN cur.retry THEN now() + least(
                           \(configuration.retryBaseDelay)::interval * power(2, cur.failures - 1),
                           \(configuration.retryMaxDelay)::interval) ELSE j.run_at END,
                       finished_at = CASE WHEN cur.retry THEN NULL ELSE now() END,
                       node_id = NULL, lease_expires_at = NULL, last_error = \(message)::text
                FROM cur WHERE j.id = cur.id
                RETURNING j.id, j.state, j.run_at
            ), alloc AS (
                UPDATE allocations a SET ended_at = now(), end_reason = 'failed', cpu_seconds = \(usage.cpuSeconds)::float8,
                       peak_rss_bytes = \(usage.peakRSSBytes)::bigint, energy_joules = \(usage.energyJoules)::float8,
                       energy_source = \(usage.energySource?.rawValue)::text
                FROM cur WHERE a.job_id = cur.id AND a.attempt = cur.attempt AND a.ended_at IS NULL
            ), ev AS (
                INSERT INTO job_events (job_id, event, from_state, to_state, node_id, attempt, detail)
                SELECT cur.id, CASE WHEN cur.retry THEN 'retry-scheduled' ELSE 'failed' END, cur.state,
                       CASE WHEN cur.retry THEN 'queued' ELSE 'failed' END, cur.node_id, cur.attempt,
                       jsonb_build_object('error', \(message)::text, 'failures', cur.failures)
                FROM cur
            )
            SELECT state, run_at FROM upd
            """)
        guard let row = rows.first else {
            throw try await refusal(lease, operation: "fail", allowed: [.scheduled, .running])
        }
        let state = JobState(rawValue: try row.decode("state", as: String.self)) ?? .failed
        return FailureOutcome(state: state, retryAt: state == .queued ? try row.decode("run_at", as: Date.self) : nil)
    }

    /// The worker stopped for preemption (after checkpointing): the ledger row closes as
    /// `preempted` and the job goes back to `queued`, claimable at once, with `preemptions` + 1.
    /// `usage` is what the worker used, stored in the ledger row as it closes.
    public func requeuePreempted(_ lease: Lease, usage: AttemptUsage = .none) async throws {
        let rows = try await client.query("""
            WITH cur AS (
                SELECT id, state, node_id, attempt FROM jobs
                WHERE id = \(lease.jobID) AND lease_epoch = \(lease.epoch) AND state IN ('scheduled', 'running')
                FOR UPDATE
            ), upd AS (
                UPDATE jobs j SET state = 'queued', preemptions = j.preemptions + 1, run_at = now(),
                       node_id = NULL, lease_expires_at = NULL, preempt_requested_at = NULL
                FROM cur WHERE j.id = cur.id
                RETURNING j.id
            ), alloc AS (
                UPDATE allocations a SET ended_at = now(), end_reason = 'preempted', cpu_seconds = \(usage.cpuSeconds)::float8,
                       peak_rss_bytes = \(usage.peakRSSBytes)::bigint, energy_joules = \(usage.energyJoules)::float8,
                       energy_source = \(usage.energySource?.rawValue)::text
                FROM cur WHERE a.job_id = cur.id AND a.attempt = cur.attempt AND a.ended_at IS NULL
            ), ev AS (
                INSERT INTO job_events (job_id, event, from_state, to_state, node_id, attempt)
                SELECT id, 'preempted', state, 'queued', node_id, attempt FROM cur
            )
            SELECT id FROM upd
            """)
        if rows.isEmpty { throw try await refusal(lease, operation: "requeue after preemption", allowed: [.scheduled, .running]) }
    }
}

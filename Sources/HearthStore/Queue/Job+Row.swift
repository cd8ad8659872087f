import Foundation
import HearthCore

extension Job {
    /// The columns every job query returns, in one place so the decoders cannot drift.
    static let columns: SQLFragment = """
        id, kind, account_id, project_id, name, spec::text AS spec, state, priority, qos, gpus, idempotency_key,
        attempt, failures, max_attempts, preemptions, lease_epoch, lease_expires_at, node_id, run_at,
        created_at, scheduled_at, started_at, finished_at, cancel_requested_at, preempt_requested_at,
        last_error, result::text AS result, after_ok, time_limit_seconds, preemptible, gpu_model, gpu_memory_bytes,
        array_id, array_index, avoid_nodes
        """

    init(row: PostgresRow) throws {
        let stateText: String = try row.decode("state")
        guard let state = JobState(rawValue: stateText) else {
            throw PostgresError(code: .decoding, message: "unknown job state \"\(stateText)\"")
        }
        self.init(
            id: try row.decode("id"), kind: try row.decode("kind"), accountID: try row.decode("account_id"),
            projectID: try row.decode("project_id"), name: try row.decode("name"), specJSON: try row.decode("spec"),
            state: state, priority: try row.decode("priority"), qos: try row.decode("qos"), gpus: try row.decode("gpus"),
            idempotencyKey: try row.decode("idempotency_key"), attempt: try row.decode("attempt"),
            failures: try row.decode("failures"), maxAttempts: try row.decode("max_attempts"),
            preemptions: try row.decode("preemptions"), leaseEpoch: try row.decode("lease_epoch"),
            leaseExpiresAt: try row.decode("lease_expires_at"), nodeID: try row.decode("node_id"),
            runAt: try row.decode("run_at"), createdAt: try row.decode("created_at"),
            scheduledAt: try row.decode("scheduled_at"), startedAt: try row.decode("started_at"),
            finishedAt: try row.decode("finished_at"), cancelRequestedAt: try row.decode("cancel_requested_at"),
            preemptRequestedAt: try row.decode("preempt_requested_at"), lastError: try row.decode("last_error"),
            resultJSON: try row.decode("result"))
        afterOK = try row.decode("after_ok")
        timeLimitSeconds = try row.decode("time_limit_seconds")
        preemptible = try row.decode("preemptible")
        gpuModel = try row.decode("gpu_model")
        gpuMemoryBytes = try row.decode("gpu_memory_bytes")
        arrayID = try row.decode("array_id")
        arrayIndex = try row.decode("array_index")
        avoidNodes = try row.decode("avoid_nodes")
    }
}

extension Allocation {
    static let columns: SQLFragment = """
        id, job_id, attempt, node_id, gpus, gpu_indices, started_at, ended_at, end_reason,
        cpu_seconds, peak_rss_bytes, energy_joules, energy_source
        """

    init(row: PostgresRow) throws {
        let reason: String? = try row.decode("end_reason")
        self.init(
            id: try row.decode("id"), jobID: try row.decode("job_id"), attempt: try row.decode("attempt"),
            nodeID: try row.decode("node_id"), gpus: try row.decode("gpus"), gpuIndices: try row.decode("gpu_indices"),
            startedAt: try row.decode("started_at"), endedAt: try row.decode("ended_at"),
            endReason: reason.flatMap(Allocation.EndReason.init(rawValue:)))
        let source: String? = try row.decode("energy_source")
        usage = AttemptUsage(
            cpuSeconds: try row.decode("cpu_seconds"), peakRSSBytes: try row.decode("peak_rss_bytes"),
            energyJoules: try row.decode("energy_joules"), energySource: source.flatMap(AttemptUsage.EnergySource.init(rawValue:)))
    }
}

extension JobEvent {
    static let columns: SQLFragment = "id, job_id, at, event, from_state, to_state, node_id, attempt, detail::text AS detail"

    init(row: PostgresRow) throws {
        let from: String? = try row.decode("from_state")
        let to: String? = try row.decode("to_state")
        self.init(
            id: try row.decode("id"), jobID: try row.decode("job_id"), at: try row.decode("at"),
            event: try row.decode("event"), fromState: from.flatMap(JobState.init(rawValue:)),
            toState: to.flatMap(JobState.init(rawValue:)), nodeID: try row.decode("node_id"),
            attempt: try row.decode("attempt"), detailJSON: try row.decode("detail"))
    }
}

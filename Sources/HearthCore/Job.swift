#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A job as the queue stores it.
public struct Job: Sendable, Hashable, Codable {
    /// The queue's id for the job.
    public var id: Int64
    /// What the job does.
    public var kind: JobKind
    /// The account that submitted it.
    public var accountID: Int64
    /// The project it is charged to, if any.
    public var projectID: Int64?
    /// A name chosen by the submitter (may be empty).
    public var name: String
    /// The job's specification as a JSON object (model config, datasets, command...).
    public var specJSON: String
    /// Where the job is in its life cycle.
    public var state: JobState
    /// Submitter-chosen priority in -1000...1000; higher claims first.
    public var priority: Int
    /// Quality of service: the priority factor and preemption tier.
    public var qos: QOS
    /// GPUs the job needs, all on one node.
    public var gpus: Int
    /// The submitter's idempotency key, if one was given.
    public var idempotencyKey: String?
    /// Attempts started so far: one per claim, each with its own ledger row.
    public var attempt: Int
    /// Attempts that failed or whose node was lost.
    public var failures: Int
    /// How many failed attempts fail the job for good.
    public var maxAttempts: Int
    /// How many times it was preempted and requeued.
    public var preemptions: Int
    /// The fencing token of the current lease: bumped on every claim and every forced requeue.
    public var leaseEpoch: Int64
    /// When the current lease lapses unless renewed by a heartbeat.
    public var leaseExpiresAt: Date?
    /// The node holding the lease, while scheduled or running.
    public var nodeID: Int64?
    /// The earliest time the job may be claimed (later than submission after a failed attempt).
    public var runAt: Date
    public var createdAt: Date
    public var scheduledAt: Date?
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Set when someone asked to cancel a job that a node holds; the node stops the worker.
    public var cancelRequestedAt: Date?
    /// Set when the scheduler or a donor asked the node to preempt the job.
    public var preemptRequestedAt: Date?
    /// The last failure's message.
    public var lastError: String?
    /// What the worker reported on success, as JSON.
    public var resultJSON: String?
    /// Jobs that must succeed before this one starts.
    public var afterOK: [Int64] = []
    /// Wall-time limit in seconds, when the submitter gave one.
    public var timeLimitSeconds: Int?
    /// `nil`: the kind's default (every kind but `serve` is preemptible).
    public var preemptible: Bool?
    /// Required GPU model, when given.
    public var gpuModel: String?
    /// Required memory per GPU (0 = any).
    public var gpuMemoryBytes: Int64 = 0
    /// The array this job is an element of (its first element's id), if any.
    public var arrayID: Int64?
    /// Its index in that array (`HEARTH_ARRAY_INDEX` for a command job).
    public var arrayIndex: Int?
    /// Nodes it is never placed on again: an attempt's worker exited 3 there.
    public var avoidNodes: [Int64] = []

    public init(
        id: Int64, kind: JobKind, accountID: Int64, projectID: Int64? = nil, name: String = "",
        specJSON: String = "{}", state: JobState = .queued, priority: Int = 0, qos: QOS = .normal,
        gpus: Int = 0, idempotencyKey: String? = nil, attempt: Int = 0, failures: Int = 0, maxAttempts: Int = 3,
        preemptions: Int = 0, leaseEpoch: Int64 = 0, leaseExpiresAt: Date? = nil, nodeID: Int64? = nil,
        runAt: Date, createdAt: Date, scheduledAt: Date? = nil, startedAt: Date? = nil,
        finishedAt: Date? = nil, cancelRequestedAt: Date? = nil, preemptRequestedAt: Date? = nil,
        lastError: String? = nil, resultJSON: String? = nil
    ) {
        self.id = id
        self.kind = kind
        self.accountID = accountID
        self.projectID = projectID
        self.name = name
        self.specJSON = specJSON
        self.state = state
        self.priority = priority
        self.qos = qos
        self.gpus = gpus
        self.idempotencyKey = idempotencyKey
        self.attempt = attempt
        self.failures = failures
        self.maxAttempts = maxAttempts
        self.preemptions = preemptions
        self.leaseEpoch = leaseEpoch
        self.leaseExpiresAt = leaseExpiresAt
        self.nodeID = nodeID
        self.runAt = runAt
        self.createdAt = createdAt
        self.scheduledAt = scheduledAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.cancelRequestedAt = cancelRequestedAt
        self.preemptRequestedAt = preemptRequestedAt
        self.lastError = lastError
        self.resultJSON = resultJSON
    }
}

import HearthCore
import Foundation

/// A job waiting in the queue (state `queued`), as the scheduler sees it.
///
/// Every field maps to a column the daemon reads from PostgreSQL; nothing here is derived.
public struct PendingJob: Sendable, Hashable, Codable, Identifiable {
    /// Job id (`jobs.id`).
    public var id: Int64
    /// Account the job charges (the fair-share leaf).
    public var accountID: Int64
    /// Project the account belongs to for this job (the fair-share parent). The queue's
    /// `project_id` may be NULL: pass one fixed id (e.g. 0) for "no project".
    public var projectID: Int64
    public var kind: JobKind
    public var qos: QOS
    public var gpus: GPURequest
    /// When the job was first submitted; the age factor counts from here, so a requeued job
    /// keeps its place instead of going to the back.
    public var submittedAt: Date
    /// Not placed before this time (retry backoff); `nil` = no constraint.
    public var notBefore: Date?
    /// Wall-time limit in seconds. Needed to backfill the job in front of a reservation and
    /// to place it in a donor window it must finish inside; `nil` = unknown (only placed
    /// where nothing is reserved and, if not preemptible, on nodes without a window).
    public var timeLimit: TimeInterval?
    /// Jobs that must have succeeded first (`after-ok`).
    public var afterOK: [Int64]
    /// Whether it may be preempted (checkpoint and requeue). Defaults to the kind's default.
    public var preemptible: Bool
    /// How many times it has already been preempted and requeued.
    public var preemptionCount: Int
    /// The queue's submitter-chosen priority (`jobs.priority`, −1000…1000). Default 0.
    public var userPriority: Int
    /// Nodes this job must not be placed on: an earlier attempt's worker exited 3 there ("this
    /// node cannot run me; retry elsewhere"), `jobs.avoid_nodes`.
    public var avoidNodes: Set<Int64> = []

    public init(
        id: Int64, accountID: Int64, projectID: Int64, kind: JobKind = .train,
        qos: QOS = .normal, gpus: GPURequest, submittedAt: Date, notBefore: Date? = nil,
        timeLimit: TimeInterval? = nil, afterOK: [Int64] = [], preemptible: Bool? = nil,
        preemptionCount: Int = 0, userPriority: Int = 0, avoidNodes: Set<Int64> = []
    ) {
        self.avoidNodes = avoidNodes
        self.id = id
        self.accountID = accountID
        self.projectID = projectID
        self.kind = kind
        self.qos = qos
        self.gpus = gpus
        self.submittedAt = submittedAt
        self.notBefore = notBefore
        self.timeLimit = timeLimit
        self.afterOK = afterOK
        self.preemptible = preemptible ?? kind.isPreemptibleByDefault
        self.preemptionCount = preemptionCount
        self.userPriority = min(max(userPriority, -1_000), 1_000)
    }
}

/// A job that holds GPUs on a node (state `scheduled` or `running`).
public struct RunningJob: Sendable, Hashable, Codable, Identifiable {
    public var id: Int64
    public var accountID: Int64
    public var projectID: Int64
    public var kind: JobKind
    public var qos: QOS
    public var nodeID: Int64
    /// Indices of the GPUs it holds on `nodeID`.
    public var gpuIndices: [Int]
    /// When this run started (the open allocation row's start).
    public var startedAt: Date
    /// Wall-time limit of the job in seconds from `startedAt`; `nil` = unknown (never ends
    /// for reservation planning, e.g. a serving job).
    public var timeLimit: TimeInterval?
    public var preemptible: Bool
    public var preemptionCount: Int
    /// Set when a preemption was already sent (SIGTERM delivered, grace running): the
    /// scheduler does not send it again and counts the GPUs as freeing soon.
    public var preemptionRequestedAt: Date?
    /// Original submit time, for the priority of a victim when choosing whom to preempt.
    public var submittedAt: Date

    public init(
        id: Int64, accountID: Int64, projectID: Int64, kind: JobKind = .train,
        qos: QOS = .normal, nodeID: Int64, gpuIndices: [Int], startedAt: Date,
        timeLimit: TimeInterval? = nil, preemptible: Bool? = nil, preemptionCount: Int = 0,
        preemptionRequestedAt: Date? = nil, submittedAt: Date? = nil
    ) {
        self.id = id
        self.accountID = accountID
        self.projectID = projectID
        self.kind = kind
        self.qos = qos
        self.nodeID = nodeID
        self.gpuIndices = gpuIndices
        self.startedAt = startedAt
        self.timeLimit = timeLimit
        self.preemptible = preemptible ?? kind.isPreemptibleByDefault
        self.preemptionCount = preemptionCount
        self.preemptionRequestedAt = preemptionRequestedAt
        self.submittedAt = submittedAt ?? startedAt
    }

    /// When the job ends at the latest (start + time limit); `nil` when unknown.
    public var expectedEnd: Date? { timeLimit.map { startedAt.addingTimeInterval($0) } }
}

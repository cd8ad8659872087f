#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One row of the accounting ledger: a job attempt holding GPUs on a node for an interval.
///
/// Opened when a node claims the job, closed exactly once with an ``EndReason``, never deleted.
public struct Allocation: Sendable, Hashable, Codable {
    /// Why an allocation closed.
    public enum EndReason: String, Sendable, Hashable, Codable, CaseIterable {
        case succeeded, failed, cancelled, preempted
        /// The node stopped renewing the lease; closed by the rescuer at the lease's expiry.
        case lost
    }

    public var id: Int64
    public var jobID: Int64
    public var attempt: Int
    public var nodeID: Int64
    public var gpus: Int
    public var gpuIndices: [Int]
    public var startedAt: Date
    /// `nil` while the allocation is open.
    public var endedAt: Date?
    /// `nil` while the allocation is open.
    public var endReason: EndReason?
    /// CPU time, peak memory and energy, set as the row closes (absent where not measured).
    public var usage: AttemptUsage = .none

    public init(
        id: Int64, jobID: Int64, attempt: Int, nodeID: Int64, gpus: Int, gpuIndices: [Int] = [],
        startedAt: Date, endedAt: Date? = nil, endReason: EndReason? = nil
    ) {
        self.id = id
        self.jobID = jobID
        self.attempt = attempt
        self.nodeID = nodeID
        self.gpus = gpus
        self.gpuIndices = gpuIndices
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.endReason = endReason
    }

    /// GPU-seconds so far, or in all once closed: duration × GPUs.
    public func gpuSeconds(asOf now: Date) -> Double {
        max(0, (endedAt ?? now).timeIntervalSince(startedAt)) * Double(gpus)
    }
}

/// One entry of a job's audit trail.
public struct JobEvent: Sendable, Hashable, Codable {
    public var id: Int64
    public var jobID: Int64
    public var at: Date
    /// What happened: `submitted`, `claimed`, `started`, `succeeded`, `retry-scheduled`, `failed`,
    /// `cancel-requested`, `cancelled`, `preempt-requested`, `preempted`, `lease-expired`.
    public var event: String
    public var fromState: JobState?
    public var toState: JobState?
    public var nodeID: Int64?
    public var attempt: Int?
    public var detailJSON: String?

    public init(
        id: Int64, jobID: Int64, at: Date, event: String, fromState: JobState? = nil, toState: JobState? = nil,
        nodeID: Int64? = nil, attempt: Int? = nil, detailJSON: String? = nil
    ) {
        self.id = id
        self.jobID = jobID
        self.at = at
        self.event = event
        self.fromState = fromState
        self.toState = toState
        self.nodeID = nodeID
        self.attempt = attempt
        self.detailJSON = detailJSON
    }
}

/// A node's hold on a job: the fencing token every write about the attempt must carry.
public struct Lease: Sendable, Hashable, Codable {
    public var jobID: Int64
    public var nodeID: Int64
    public var attempt: Int
    /// Bumped whenever the job changes hands; a write carrying an older epoch is refused.
    public var epoch: Int64
    public var expiresAt: Date

    public init(jobID: Int64, nodeID: Int64, attempt: Int, epoch: Int64, expiresAt: Date) {
        self.jobID = jobID
        self.nodeID = nodeID
        self.attempt = attempt
        self.epoch = epoch
        self.expiresAt = expiresAt
    }
}

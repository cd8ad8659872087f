import Foundation
import HearthCore

/// Everything one scheduling pass looks at. The daemon fills it from PostgreSQL in one
/// transaction; the scheduler never reads anything else.
public struct Snapshot: Sendable, Hashable, Codable {
    /// Jobs in state `queued`.
    public var pending: [PendingJob]
    /// Jobs in state `scheduled` or `running`.
    public var running: [RunningJob]
    public var nodes: [NodeSnapshot]
    /// Decayed usage per association (see `UsageSnapshot(ledger:now:halfLife:)`).
    public var usage: UsageSnapshot
    public var shares: ShareTree
    /// States of the jobs named in some pending job's `afterOK`. A job absent from this
    /// map and not pending or running counts as not yet succeeded.
    public var dependencyStates: [Int64: JobState]
    /// Locality: for a pending job whose stored inputs (fleet datasets, checkpoints) some node's
    /// artifact cache holds, the bytes of them each such node holds (job id → node id → bytes).
    /// Only a tie-breaker between nodes that are otherwise equally good for the job; a job
    /// absent here has no cached inputs anywhere.
    public var inputLocality: [Int64: [Int64: Int64]]

    public init(
        pending: [PendingJob], running: [RunningJob] = [], nodes: [NodeSnapshot],
        usage: UsageSnapshot = UsageSnapshot(at: Date(timeIntervalSince1970: 0)),
        shares: ShareTree = ShareTree(), dependencyStates: [Int64: JobState] = [:],
        inputLocality: [Int64: [Int64: Int64]] = [:]
    ) {
        self.pending = pending
        self.running = running
        self.nodes = nodes
        self.usage = usage
        self.shares = shares
        self.dependencyStates = dependencyStates
        self.inputLocality = inputLocality
    }
}

/// Why a running job is asked to stop.
public enum PreemptionReason: Sendable, Hashable, Codable {
    /// Makes room for a pending job of a higher QOS tier.
    case higherPriority(jobID: Int64)
    /// The donor's window closes at `closesAt`; preempted one grace period before so the
    /// checkpoint is written inside the window.
    case donorWindowClosing(closesAt: Date)
    /// The node is outside its donor's window (the window already closed).
    case outsideDonorWindow
    /// The donor reclaimed the node.
    case donorReclaim
    /// The donor no longer allows this kind of job on the node.
    case kindNotAllowed

    /// The ledger's close reason for a row ended by this preemption: always `preempted`.
    public var ledgerReason: String { "preempted" }
}

/// One thing the daemon should do after a pass.
public enum Decision: Sendable, Hashable, Codable {
    /// Start `job` on `node` with these GPU indices (claim it: `queued` → `scheduled`).
    case place(job: Int64, node: Int64, gpuIndices: [Int])
    /// Send SIGTERM to `job` on `node`; it must checkpoint and exit within `grace` seconds,
    /// then be requeued (`requeuePreempted`) with its preemption count incremented.
    case preempt(job: Int64, node: Int64, reason: PreemptionReason, grace: TimeInterval)
    /// `job` is expected to start on `node` at `at` with these GPUs; smaller jobs are only
    /// backfilled onto them if they end before `at`. Informational for the daemon (show in
    /// `hearth priority`/`--start`); the scheduler recomputes it every pass.
    case reserve(job: Int64, node: Int64, gpuIndices: [Int], at: Date)

    /// The job the decision is about.
    public var jobID: Int64 {
        switch self {
        case .place(let j, _, _), .preempt(let j, _, _, _), .reserve(let j, _, _, _): return j
        }
    }
}

/// The result of one pass: decisions in the order they were made, plus counters.
public struct Plan: Sendable, Hashable, Codable {
    public var decisions: [Decision]
    /// Pending jobs looked at in priority order (may stop early at `maxJobsPerPass`).
    public var jobsConsidered: Int
    /// Placements that went in front of a reservation (backfill).
    public var backfilled: Int

    public init(decisions: [Decision] = [], jobsConsidered: Int = 0, backfilled: Int = 0) {
        self.decisions = decisions
        self.jobsConsidered = jobsConsidered
        self.backfilled = backfilled
    }

    public var placements: [(job: Int64, node: Int64, gpuIndices: [Int])] {
        decisions.compactMap { if case .place(let j, let n, let g) = $0 { return (j, n, g) } else { return nil } }
    }
    public var preemptions: [(job: Int64, node: Int64, reason: PreemptionReason)] {
        decisions.compactMap { if case .preempt(let j, let n, let r, _) = $0 { return (j, n, r) } else { return nil } }
    }
    public var reservations: [(job: Int64, node: Int64, gpuIndices: [Int], at: Date)] {
        decisions.compactMap { if case .reserve(let j, let n, let g, let t) = $0 { return (j, n, g, t) } else { return nil } }
    }
}

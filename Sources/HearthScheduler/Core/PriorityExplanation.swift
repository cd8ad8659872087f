import HearthCore
import Foundation

/// Why a pending job is not running (or that it is starting), like `squeue`'s REASON.
public enum PendingReason: Sendable, Hashable, Codable {
    /// Placed in this pass on `nodeID`.
    case startingNow(nodeID: Int64)
    /// Free GPUs exist but are held for higher-priority jobs that start before this job
    /// would end (or its time limit is unknown).
    case behindReservation(jobIDs: [Int64])
    /// Strict order (FIFO, no backfill): waits for the first blocked job.
    case behindHigherPriority(jobID: Int64)
    /// Every node that could run it is busy.
    case noCapacity
    /// Lower-QOS jobs were told to checkpoint and exit to make room; starts when they have.
    case waitingForPreemption(jobIDs: [Int64])
    /// The nodes with suitable GPUs that allow the kind are all outside their donor window,
    /// reclaimed, or their window closes too soon for this job.
    case outsideDonorWindow
    /// Suitable GPUs exist only on nodes whose donor refuses this kind of job.
    case kindNotAllowed
    /// Every node that could run it is one its earlier attempts' workers said cannot (exit 3).
    case avoidedNodes
    /// The only room left is the share donors keep for their own accounts.
    case donorReserved
    /// No online node has enough GPUs of the requested model and memory.
    case unsatisfiable
    /// `after-ok` dependencies that have not succeeded yet.
    case dependencyPending(jobIDs: [Int64])
    /// `after-ok` dependencies that failed or were cancelled: will never start.
    case dependencyNeverSatisfied(jobIDs: [Int64])
    /// Retry backoff until this time.
    case notBefore(Date)
    /// The pass stopped before reaching it (`maxJobsPerPass`).
    case passLimit

    /// A short label for tables (`squeue`-style).
    public var label: String {
        switch self {
        case .startingNow: return "Starting"
        case .behindReservation: return "BehindReservation"
        case .behindHigherPriority: return "Priority"
        case .noCapacity: return "NoCapacity"
        case .waitingForPreemption: return "WaitingForPreemption"
        case .outsideDonorWindow: return "OutsideDonorWindow"
        case .kindNotAllowed: return "KindNotAllowed"
        case .avoidedNodes: return "AvoidedNodes"
        case .donorReserved: return "DonorReserved"
        case .unsatisfiable: return "Unsatisfiable"
        case .dependencyPending: return "Dependency"
        case .dependencyNeverSatisfied: return "DependencyNeverSatisfied"
        case .notBefore: return "BeginTime"
        case .passLimit: return "PassLimit"
        }
    }

    /// One sentence for people.
    public var sentence: String {
        func ids(_ j: [Int64]) -> String { j.map { "#\($0)" }.joined(separator: ", ") }
        switch self {
        case .startingNow(let n): return "starting now on node \(n)"
        case .behindReservation(let j): return "free GPUs are reserved for higher-priority job(s) \(ids(j)); it would not end before they start"
        case .behindHigherPriority(let j): return "strict order: waits behind job #\(j)"
        case .noCapacity: return "every node that could run it is busy"
        case .waitingForPreemption(let j): return j.isEmpty ? "waiting for preempted jobs to checkpoint and exit" : "preempting \(ids(j)); starts once they have checkpointed"
        case .outsideDonorWindow: return "suitable nodes are outside their donor's window (or it closes too soon)"
        case .kindNotAllowed: return "the donors of suitable nodes do not allow this kind of job"
        case .avoidedNodes: return "its workers reported (exit 3) that every node able to run it cannot; it waits for another node"
        case .donorReserved: return "the remaining GPUs are kept for the donors' own accounts"
        case .unsatisfiable: return "no online node has enough GPUs of the requested model and memory"
        case .dependencyPending(let j): return "waiting for \(ids(j)) to succeed (after-ok)"
        case .dependencyNeverSatisfied(let j): return "dependencies \(ids(j)) failed or were cancelled: it will never start"
        case .notBefore(let d): return "retry backoff until \(d)"
        case .passLimit: return "not reached in this pass (pass limit)"
        }
    }
}

/// `hearth priority JOB`: the priority factor by factor (like `sprio`) and the pending
/// reason with the expected start (like `squeue --start`).
public struct PriorityExplanation: Sendable, Hashable, Codable {
    public var jobID: Int64
    /// Factor values and the priority they sum to.
    public var factors: PriorityFactors
    /// The policy's weights the priority was computed with (points = value × weight).
    public var ageWeight, fairShareWeight, sizeWeight, qosWeight, userPriorityWeight: Double
    /// The fair-share computation behind `factors.fairShare`.
    public var fairShare: FairShareDetail?
    /// 1-based position in the pass's order.
    public var rank: Int
    /// Pending jobs in the snapshot.
    public var queueLength: Int
    /// Moved to the front of this pass as the oldest job past `starvationAge`.
    public var starvationBoost: Bool = false
    /// Why it is (not) starting in this pass.
    public var reason: PendingReason
    /// When the job is expected to start, from its reservation; `nil` when it has none.
    public var expectedStart: Date?
    /// The node of that reservation.
    public var expectedNode: Int64?

    /// Memberwise; the weights are copied from `policy`.
    public init(
        jobID: Int64, factors: PriorityFactors, policy: SchedulerPolicy, fairShare: FairShareDetail?,
        rank: Int, queueLength: Int, reason: PendingReason, expectedStart: Date?, expectedNode: Int64?
    ) {
        self.jobID = jobID
        self.factors = factors
        self.ageWeight = policy.ageWeight
        self.fairShareWeight = policy.fairShareWeight
        self.sizeWeight = policy.sizeWeight
        self.qosWeight = policy.qosWeight
        self.userPriorityWeight = policy.userPriorityWeight
        self.fairShare = fairShare
        self.rank = rank
        self.queueLength = queueLength
        self.reason = reason
        self.expectedStart = expectedStart
        self.expectedNode = expectedNode
    }

    /// A plain-text report, e.g.:
    /// ```
    /// job #42  priority 6312.5  (rank 3 of 120)
    ///   factor       value    weight   points
    ///   age          0.125    1000     125.0
    ///   ...
    /// ```
    public func render(now: Date) -> String {
        func f(_ x: Double, _ d: Int = 3) -> String { String(format: "%.\(d)f", x) }
        func row(_ name: String, _ v: Double, _ w: Double) -> String {
            name.padding(toLength: 11, withPad: " ", startingAt: 0)
                + f(v).leftPad(8) + f(w, 0).leftPad(9) + f(v * w, 1).leftPad(10)
        }
        let boost = starvationBoost ? ", first: oldest job past the starvation age" : ""
        var lines = ["job #\(jobID)  priority \(f(factors.priority, 1))  (rank \(rank) of \(queueLength)\(boost))",
            "  factor        value   weight    points"]
        lines.append("  " + row("age", factors.age, ageWeight))
        lines.append("  " + row("fairshare", factors.fairShare, fairShareWeight))
        lines.append("  " + row("size", factors.size, sizeWeight))
        lines.append("  " + row("qos", factors.qos, qosWeight))
        if factors.user != 0 { lines.append("  " + row("user", factors.user, userPriorityWeight)) }
        if let fs = fairShare {
            lines.append("  fair share: shares \(f(fs.normalizedShares, 4)), usage \(f(fs.normalizedUsage, 4)), effective usage \(f(fs.effectiveUsage, 4)) -> 2^(-\(f(fs.effectiveUsage, 4))/\(f(fs.normalizedShares, 4))) = \(f(fs.factor, 4))")
        }
        lines.append("  state: \(reason.label) — \(reason.sentence)")
        if let t = expectedStart {
            let wait = max(0, t.timeIntervalSince(now))
            let node = expectedNode.map { " on node \($0)" } ?? ""
            lines.append("  expected start: \(ISO8601DateFormatter().string(from: t)) (in \(Int(wait / 60)) min)\(node)")
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}

import HearthCore
import Foundation

/// The four factors of a job's priority, each in [0, 1], and their weighted sum.
public struct PriorityFactors: Sendable, Hashable, Codable {
    /// Time waited / `maxAge`, capped at 1.
    public var age: Double
    /// 2^(−effective usage / normalized shares) of the job's association.
    public var fairShare: Double
    /// GPUs asked / GPUs of the largest node.
    public var size: Double
    /// `QOS.factor` of the job's QOS.
    public var qos: Double
    /// The submitter's priority / 1000, in [−1, 1].
    public var user: Double
    /// Σ weight × factor with the policy's weights.
    public var priority: Double

    /// Factors as given, `priority` summed with `policy`'s weights; `user` defaults to 0.
    public init(age: Double, fairShare: Double, size: Double, qos: Double, user: Double = 0, policy: SchedulerPolicy) {
        self.age = age
        self.fairShare = fairShare
        self.size = size
        self.qos = qos
        self.user = user
        self.priority = policy.ageWeight * age + policy.fairShareWeight * fairShare
            + policy.sizeWeight * size + policy.qosWeight * qos + policy.userPriorityWeight * user
    }
}

/// Fair share of one association, Slurm's "classic" algorithm on a two-level tree.
public struct FairShareDetail: Sendable, Hashable, Codable {
    /// Project shares / all projects' shares × account shares / its project's accounts' shares.
    public var normalizedShares: Double
    /// The association's decayed usage / everyone's decayed usage.
    public var normalizedUsage: Double
    /// Usage pulled toward the project's: U + (U_project − U) × (S_account / S_siblings).
    public var effectiveUsage: Double
    /// 2^(−effectiveUsage / normalizedShares): 1 for no usage, 0.5 at exactly one's share.
    public var factor: Double
}

/// Fair-share factors for every association in a snapshot, computed once per pass.
struct FairShareTable {
    private(set) var details: [Association: FairShareDetail] = [:]

    /// - Parameter pendingAssociations: the associations of `snapshot.pending` when the
    ///   caller has already collected them (saves a hash per pending job).
    init(snapshot: Snapshot, pendingAssociations: [Association]? = nil) {
        var assocs = Set(snapshot.usage.usage.keys)
        if let given = pendingAssociations {
            assocs.formUnion(given)
        } else {
            for j in snapshot.pending { assocs.insert(Association(projectID: j.projectID, accountID: j.accountID)) }
        }
        for j in snapshot.running { assocs.insert(Association(projectID: j.projectID, accountID: j.accountID)) }
        for a in snapshot.shares.accountShares.keys { assocs.insert(a) }
        var projects = Set(assocs.map(\.projectID))
        for p in snapshot.shares.projectShares.keys { projects.insert(p) }

        let shares = snapshot.shares
        let totalProjectShares = projects.reduce(0) { $0 + shares.shares(project: $1) }
        var siblingShares: [Int64: Double] = [:]
        for a in assocs { siblingShares[a.projectID, default: 0] += shares.shares(a) }
        var projectUsage: [Int64: Double] = [:]
        var total = 0.0
        for (a, u) in snapshot.usage.usage {
            projectUsage[a.projectID, default: 0] += u
            total += u
        }
        for a in assocs {
            let sp = totalProjectShares > 0 ? shares.shares(project: a.projectID) / totalProjectShares : 0
            let sib = siblingShares[a.projectID] ?? 0
            let local = sib > 0 ? shares.shares(a) / sib : 0
            let s = sp * local
            let u = total > 0 ? (snapshot.usage.usage[a] ?? 0) / total : 0
            let up = total > 0 ? (projectUsage[a.projectID] ?? 0) / total : 0
            let ue = u + (up - u) * local
            let f: Double
            if ue <= 0 { f = 1 } else if s <= 0 { f = 0 } else { f = exp2(-ue / s) }
            details[a] = FairShareDetail(normalizedShares: s, normalizedUsage: u, effectiveUsage: ue, factor: f)
        }
    }

    func factor(_ a: Association) -> Double { details[a]?.factor ?? 1 }
}

/// Computes priorities for a pass.
struct PriorityCalculator {
    let policy: SchedulerPolicy
    let now: Date
    let fairShare: FairShareTable
    /// GPUs on the largest node: the size factor's denominator.
    let largestNode: Int

    init(policy: SchedulerPolicy, snapshot: Snapshot, now: Date, pendingAssociations: [Association]? = nil) {
        self.policy = policy
        self.now = now
        self.fairShare = FairShareTable(snapshot: snapshot, pendingAssociations: pendingAssociations)
        self.largestNode = max(1, snapshot.nodes.map { $0.gpus.count(where: \.healthy) }.max() ?? 1)
    }

    func factors(_ job: PendingJob) -> PriorityFactors {
        let age = min(max(now.timeIntervalSince(job.submittedAt), 0) / max(policy.maxAge, 1), 1)
        let fs = fairShare.factor(Association(projectID: job.projectID, accountID: job.accountID))
        let size = min(Double(job.gpus.count) / Double(largestNode), 1)
        return PriorityFactors(age: age, fairShare: fs, size: size, qos: job.qos.factor,
            user: Double(job.userPriority) / 1_000, policy: policy)
    }

    /// Σ weight × factor for `job` given its association's fair-share factor.
    @inline(__always)
    func priority(_ job: PendingJob, fairShare fs: Double) -> Double {
        let age = min(max(now.timeIntervalSince(job.submittedAt), 0) / max(policy.maxAge, 1), 1)
        let size = min(Double(job.gpus.count) / Double(largestNode), 1)
        return policy.ageWeight * age + policy.fairShareWeight * fs + policy.sizeWeight * size
            + policy.qosWeight * job.qos.factor + policy.userPriorityWeight * Double(job.userPriority) / 1_000
    }

    /// Pending job indices in the order the pass looks at them: priority descending (or
    /// submit time for FIFO, where every priority is 0), then submit time, then id.
    func order(_ jobs: [PendingJob]) -> [Int] {
        var keys: [(Double, Double, Int64, Int)] = []
        keys.reserveCapacity(jobs.count)
        var lastAssoc: Association? = nil
        var lastFS = 1.0
        for (i, j) in jobs.enumerated() {
            var p = 0.0
            if policy.ordering == .multifactor {
                let a = Association(projectID: j.projectID, accountID: j.accountID)
                if a != lastAssoc {
                    lastAssoc = a
                    lastFS = fairShare.factor(a)
                }
                p = priority(j, fairShare: lastFS)
            }
            keys.append((p, j.submittedAt.timeIntervalSinceReferenceDate, j.id, i))
        }
        keys.sort { a, b in
            if a.0 != b.0 { return a.0 > b.0 }
            if a.1 != b.1 { return a.1 < b.1 }
            return a.2 < b.2
        }
        return keys.map(\.3)
    }
}

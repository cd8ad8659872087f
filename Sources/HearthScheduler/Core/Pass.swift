import Foundation
import HearthCore

/// What happened to the job `explain` asked about, recorded as the pass goes.
struct Trace {
    let jobID: Int64
    var rank: Int? = nil
    var reason: PendingReason? = nil
    var reservation: (node: Int64, at: Date)? = nil
}

/// One scheduling pass: mutable state over a snapshot, consumed by `run()`.
struct Pass {
    let policy: SchedulerPolicy
    let snapshot: Snapshot
    let now: Date
    var nodes: [NodeState]
    var nodeIndex: [Int64: Int] = [:]
    var decisions: [Decision] = []
    var trace: Trace?
    /// Free slots on nodes that accept work, summed (a fast "fleet is full" test).
    var totalFree = 0
    var placementFailures = FailureCache()
    var preemptionFailures = FailureCache()
    var reservationFailures = FailureCache()
    /// Jobs found blocked so far: a placement after one is a backfill.
    var blockedCount = 0
    var backfilled = 0

    init(policy: SchedulerPolicy, snapshot: Snapshot, now: Date, traceJob: Int64? = nil) {
        self.policy = policy
        self.snapshot = snapshot
        self.now = now
        self.nodes = snapshot.nodes.map { NodeState(node: $0, now: now) }
        for (i, n) in nodes.enumerated() { nodeIndex[n.id] = i }
        self.trace = traceJob.map { Trace(jobID: $0) }
    }

    mutating func run() -> Plan {
        applyRunningJobs()
        totalFree = nodes.reduce(0) { $0 + $1.freeCount }
        let calc = PriorityCalculator(policy: policy, snapshot: snapshot, now: now)
        let (order, _) = calc.order(snapshot.pending)
        if let t = trace, let pos = order.firstIndex(where: { snapshot.pending[$0].id == t.jobID }) {
            trace?.rank = pos + 1
        }

        var reservationsLeft = policy.backfill ? policy.maxReservations : 0
        var preemptorsLeft = policy.priorityPreemption ? policy.maxPreemptorsPerPass : 0
        var considered = 0
        var headBlocker: Int64? = nil

        for i in order {
            let job = snapshot.pending[i]
            let traced = trace?.jobID == job.id
            if considered >= policy.maxJobsPerPass {
                if let t = trace, t.reason == nil { trace?.reason = .passLimit }
                break
            }
            if let head = headBlocker {
                // Strict order: nothing passes the first blocked job.
                if let t = trace, t.reason == nil { trace?.reason = .behindHigherPriority(jobID: head) }
                break
            }
            // Nothing can change for anyone once the fleet is full and the reservation and
            // preemption budgets are spent: stop (unless a job is being explained).
            if totalFree == 0 && reservationsLeft == 0 && preemptorsLeft == 0 && trace == nil { break }
            considered += 1

            if let nb = job.notBefore, nb > now {
                if traced { trace?.reason = .notBefore(nb) }
                continue
            }
            if !job.afterOK.isEmpty {
                if let reason = dependencyReason(job) {
                    if traced { trace?.reason = reason }
                    continue
                }
            }

            let duration = job.timeLimit ?? .infinity
            let key = ShapeKey(job, policy: policy, donorRelevant: donorRelevant(job.accountID))
            if totalFree >= job.gpus.count && !placementFailures.knownFailure(key, count: job.gpus.count, duration: duration) {
                if let p = findPlacement(job, duration: duration) {
                    place(job, node: p.node, slots: p.slots, duration: duration)
                    if blockedCount > 0 { backfilled += 1 }
                    if traced { trace?.reason = .startingNow(nodeID: nodes[p.node].id) }
                    continue
                }
                placementFailures.record(key, count: job.gpus.count, duration: duration)
            }

            // Blocked.
            blockedCount += 1
            var handled = false
            // Preemption failures are monotone in count and QOS tier (encoded as -tier); a
            // non-preemptible job's window fit also depends on its duration, so not cached.
            let cachePreemption = key.preemptible
            let tierKey = Double(-job.qos.tier)
            if preemptorsLeft > 0 && job.qos.tier > 0
                && !(cachePreemption && preemptionFailures.knownFailure(key, count: job.gpus.count, duration: tierKey)) {
                if let victims = tryPreemption(for: job, duration: duration) {
                    preemptorsLeft -= 1
                    handled = true
                    if traced { trace?.reason = .waitingForPreemption(jobIDs: victims) }
                } else if cachePreemption {
                    preemptionFailures.record(key, count: job.gpus.count, duration: tierKey)
                }
            }
            if !handled && reservationsLeft > 0
                && !reservationFailures.knownFailure(key, count: job.gpus.count, duration: duration) {
                if tryReservation(for: job, duration: duration) {
                    reservationsLeft -= 1
                } else {
                    reservationFailures.record(key, count: job.gpus.count, duration: duration)
                }
            }
            if traced && !handled {
                let reason = diagnose(job, duration: duration)
                trace?.reason = reason
            }
            if !policy.backfill && canEverRun(job) { headBlocker = job.id }
        }
        return Plan(decisions: decisions, jobsConsidered: considered, backfilled: backfilled)
    }

    /// Whether this account is a donor account anywhere (only then does it change placement).
    func donorRelevant(_ account: Int64) -> Bool {
        for n in nodes where n.policy.reservedGPUsForDonor > 0 && n.policy.donorAccounts.contains(account) {
            return true
        }
        return false
    }

    func dependencyReason(_ job: PendingJob) -> PendingReason? {
        var waiting: [Int64] = [], failed: [Int64] = []
        for d in job.afterOK {
            switch snapshot.dependencyStates[d] {
            case .succeeded?: continue
            case .failed?, .cancelled?: failed.append(d)
            default: waiting.append(d)
            }
        }
        if !failed.isEmpty { return .dependencyNeverSatisfied(jobIDs: failed) }
        if !waiting.isEmpty { return .dependencyPending(jobIDs: waiting) }
        return nil
    }

    /// Marks GPUs of running jobs busy and sends the donor-policy preemptions.
    mutating func applyRunningJobs() {
        let grace = policy.preemptionGrace
        for (ri, job) in snapshot.running.enumerated() {
            guard let ni = nodeIndex[job.nodeID] else { continue }
            var node = nodes[ni]
            node.runningJobs.append(ri)
            var end = job.expectedEnd ?? .distantFuture
            var isFreeing = job.preemptionRequestedAt != nil
            if let asked = job.preemptionRequestedAt { end = min(end, max(asked.addingTimeInterval(grace), now)) }
            if !isFreeing && node.online, let reason = donorReason(job, node: node) {
                decisions.append(.preempt(job: job.id, node: node.id, reason: reason, grace: grace))
                isFreeing = true
                end = min(end, now.addingTimeInterval(grace))
            }
            let slots = job.gpuIndices.compactMap { node.slot(ofIndex: $0) }.filter { !node.busy[$0] }
            let nonDonor = !node.policy.donorAccounts.contains(job.accountID)
            node.occupy(slots, until: end, nonDonor: nonDonor)
            for s in slots {
                node.holder[s] = ri
                node.freeing[s] = isFreeing
            }
            nodes[ni] = node
        }
    }

    /// Why the donor's policy wants `job` off its node now, if it does.
    func donorReason(_ job: RunningJob, node: NodeState) -> PreemptionReason? {
        if node.reclaimed { return .donorReclaim }
        if !node.policy.allowedKinds.contains(job.kind) { return .kindNotAllowed }
        if !node.acceptsWork { return .outsideDonorWindow }
        if node.closes != .distantFuture {
            let end = job.expectedEnd ?? .distantFuture
            if end > node.closes && now >= node.closes.addingTimeInterval(-policy.preemptionGrace) {
                return .donorWindowClosing(closesAt: node.closes)
            }
        }
        return nil
    }

    mutating func place(_ job: PendingJob, node ni: Int, slots: [Int], duration: TimeInterval) {
        let end = duration.isFinite ? now.addingTimeInterval(duration) : .distantFuture
        let nonDonor = !nodes[ni].policy.donorAccounts.contains(job.accountID)
        nodes[ni].occupy(slots, until: end, nonDonor: nonDonor)
        totalFree -= slots.count
        decisions.append(.place(job: job.id, node: nodes[ni].id, gpuIndices: slots.map { nodes[ni].gpus[$0].index }))
    }

    /// Whether `job` could run on some node of the fleet if it were empty.
    func canEverRun(_ job: PendingJob) -> Bool {
        nodes.contains { $0.online && $0.policy.allowedKinds.contains(job.kind) && $0.matchingCount(job.gpus) >= job.gpus.count }
    }

    func effectivelyPreemptible(_ job: PendingJob) -> Bool {
        job.preemptible && job.preemptionCount < policy.maxPreemptionsPerJob
    }
}

/// Placement failures are monotone within a pass (capacity only shrinks), so a job of the
/// same shape needing at least as many GPUs for at least as long fails too.
struct ShapeKey: Hashable {
    var model: String?
    var minMemoryMiB: Int
    var kind: JobKind
    var preemptible: Bool
    /// The account, when it is a donor account somewhere (donor shares differ); else -1.
    var account: Int64

    init(_ job: PendingJob, policy: SchedulerPolicy, donorRelevant: Bool) {
        model = job.gpus.model
        minMemoryMiB = job.gpus.minMemoryMiB
        kind = job.kind
        preemptible = job.preemptible && job.preemptionCount < policy.maxPreemptionsPerJob
        account = donorRelevant ? job.accountID : -1
    }
}

struct FailureCache {
    private var failures: [ShapeKey: [(count: Int, duration: Double)]] = [:]

    func knownFailure(_ key: ShapeKey, count: Int, duration: Double) -> Bool {
        guard let list = failures[key] else { return false }
        for f in list where f.count <= count && f.duration <= duration { return true }
        return false
    }

    mutating func record(_ key: ShapeKey, count: Int, duration: Double) {
        failures[key, default: []].append((count, duration))
    }
}

import Foundation
import HearthCore

/// What happened to the jobs `explain` asked about, recorded as the pass goes.
struct Trace {
    /// The jobs to record; `nil` = the first `limit` jobs in pass order.
    let jobs: Set<Int64>?
    let limit: Int
    var rank: [Int64: Int] = [:]
    var reason: [Int64: PendingReason] = [:]
    var reservation: [Int64: (node: Int64, at: Date)] = [:]

    func wants(_ id: Int64, position: Int) -> Bool {
        if let j = jobs { return j.contains(id) }
        return position < limit
    }
}

/// One scheduling pass: mutable state over a snapshot, consumed by `run()`.
struct Pass {
    let policy: SchedulerPolicy
    let snapshot: Snapshot
    let now: Date
    var nodes: [PassNode]
    var nodeIndex: [Int64: Int] = [:]
    var decisions: [Decision] = []
    var trace: Trace?
    /// Free slots on nodes that accept work, summed (a fast "fleet is full" test).
    var totalFree = 0
    /// Free CPU-only job slots on nodes that accept work, summed.
    var totalCPUFree = 0
    var shapes = ShapeTable()
    var placementFailures = FailureCache()
    var preemptionFailures = FailureCache()
    var reservationFailures = FailureCache()
    /// Jobs found blocked so far: a placement after one is a backfill.
    var blockedCount = 0
    var backfilled = 0
    /// The job moved to the front by the anti-starvation rule in this pass, if any.
    var starved: Int64? = nil
    /// Accounts that own donor-reserved GPUs somewhere: only their placements differ.
    let donorAccountsWithReserve: Set<Int64>

    init(policy: SchedulerPolicy, snapshot: Snapshot, now: Date, trace: Trace? = nil) {
        self.policy = policy
        self.snapshot = snapshot
        self.now = now
        self.nodes = snapshot.nodes.map { PassNode(node: $0, now: now) }
        for (i, n) in nodes.enumerated() { nodeIndex[n.id] = i }
        var donors: Set<Int64> = []
        for n in snapshot.nodes where n.policy.reservedGPUsForDonor > 0 { donors.formUnion(n.policy.donorAccounts) }
        self.donorAccountsWithReserve = donors
        self.trace = trace
    }

    /// A pending job's sort key and the fields the loop tests on every job, kept together
    /// so walking the queue in priority order reads memory sequentially.
    struct Entry {
        var priority: Double
        var submitted: Double
        var id: Int64
        var duration: Double
        var index: Int32
        var shape: Int32
        var count: Int32
        var tier: Int8
        /// The job has `afterOK` or a future `notBefore`.
        var gated: Bool
        var preemptible: Bool
    }

    /// Pending jobs in the order the pass looks at them: priority descending, then submit
    /// time, then id (FIFO: every priority is 0). One hash per job for its association and
    /// one for its shape; everything else is arrays.
    mutating func entries() -> [Entry] {
        let n = snapshot.pending.count
        var assocSlot: [Association: Int32] = [:]
        var assocs: [Association] = []
        var slotOfJob = [Int32](repeating: 0, count: n)
        var last: (Association, Int32)? = nil
        for (i, j) in snapshot.pending.enumerated() {
            let a = Association(projectID: j.projectID, accountID: j.accountID)
            if let l = last, l.0 == a {
                slotOfJob[i] = l.1
                continue
            }
            let slot: Int32
            if let known = assocSlot[a] {
                slot = known
            } else {
                slot = Int32(assocs.count)
                assocSlot[a] = slot
                assocs.append(a)
            }
            slotOfJob[i] = slot
            last = (a, slot)
        }
        let calc = PriorityCalculator(policy: policy, snapshot: snapshot, now: now, pendingAssociations: assocs)
        let fsOfSlot = assocs.map { calc.fairShare.factor($0) }

        var out = [Entry]()
        out.reserveCapacity(n)
        var keys = [SortKey]()
        keys.reserveCapacity(n)
        for (i, j) in snapshot.pending.enumerated() {
            let priority = policy.ordering == .multifactor ? calc.priority(j, fairShare: fsOfSlot[Int(slotOfJob[i])]) : 0
            let shape = shapes.id(of: ShapeKey(j, policy: policy, donorRelevant: donorRelevant(j.accountID)))
            let submitted = j.submittedAt.timeIntervalSinceReferenceDate
            keys.append(SortKey(priority: priority, submitted: submitted, id: j.id, index: Int32(i)))
            out.append(Entry(
                priority: priority, submitted: submitted, id: j.id,
                duration: j.timeLimit ?? .infinity, index: Int32(i), shape: Int32(shape), count: Int32(j.gpus.count),
                tier: Int8(j.qos.tier), gated: !j.afterOK.isEmpty || (j.notBefore.map { $0 > now } ?? false),
                preemptible: effectivelyPreemptible(j)))
        }
        if let limit = starvationBoosted(out) {
            keys[limit].priority = .infinity
            out[limit].priority = .infinity
            starved = out[limit].id
        }
        SortKey.sort(&keys)
        return keys.map { out[Int($0.index)] }
    }

    /// Index of the oldest ungated pending job waiting longer than `starvationAge`, if any.
    func starvationBoosted(_ entries: [Entry]) -> Int? {
        guard policy.ordering == .multifactor, let age = policy.starvationAge else { return nil }
        let cutoff = now.addingTimeInterval(-age).timeIntervalSinceReferenceDate
        var best: Int? = nil
        for (i, e) in entries.enumerated() where e.submitted < cutoff && !e.gated {
            if let b = best, (entries[b].submitted, entries[b].id) <= (e.submitted, e.id) { continue }
            best = i
        }
        return best
    }

    mutating func run() -> Plan {
        applyRunningJobs()
        totalFree = nodes.reduce(0) { $0 + $1.freeCount }
        totalCPUFree = nodes.reduce(0) { $0 + ($1.acceptsWork ? max(0, $1.cpuJobSlots - $1.cpuJobsRunning) : 0) }
        let order = entries()
        if let t = trace {
            for (pos, e) in order.enumerated() where t.wants(e.id, position: pos) { trace?.rank[e.id] = pos + 1 }
        }

        var reservationsLeft = policy.backfill ? policy.maxReservations : 0
        var preemptorsLeft = policy.priorityPreemption ? policy.maxPreemptorsPerPass : 0
        var considered = 0
        var headBlocker: Int64? = nil
        var stopped: (position: Int, reason: PendingReason)? = nil

        for (pos, e) in order.enumerated() {
            let traced = trace?.wants(e.id, position: pos) ?? false
            if considered >= policy.maxJobsPerPass {
                stopped = (pos, .passLimit)
                break
            }
            if let head = headBlocker {
                // Strict order: nothing passes the first blocked job.
                stopped = (pos, .behindHigherPriority(jobID: head))
                break
            }
            // Nothing can change for anyone once the fleet is full and the reservation and
            // preemption budgets are spent: stop (unless jobs are being explained).
            if totalFree == 0 && totalCPUFree == 0 && reservationsLeft == 0 && preemptorsLeft == 0 && trace == nil {
                break
            }
            considered += 1

            if e.gated {
                let job = snapshot.pending[Int(e.index)]
                if let nb = job.notBefore, nb > now {
                    if traced { trace?.reason[e.id] = .notBefore(nb) }
                    continue
                }
                if let reason = dependencyReason(job) {
                    if traced { trace?.reason[e.id] = reason }
                    continue
                }
            }

            let count = Int(e.count), key = Int(e.shape), duration = e.duration
            let room = count > 0 ? totalFree >= count : totalCPUFree > 0
            if room && !placementFailures.knownFailure(key, count: count, duration: duration) {
                let job = snapshot.pending[Int(e.index)]
                if let p = findPlacement(job, duration: duration) {
                    place(job, node: p.node, slots: p.slots, duration: duration)
                    if blockedCount > 0 { backfilled += 1 }
                    if traced { trace?.reason[e.id] = .startingNow(nodeID: nodes[p.node].id) }
                    continue
                }
                placementFailures.record(key, count: count, duration: duration)
            }

            // Blocked.
            blockedCount += 1
            var handled = false
            // Preemption failures are monotone in count and QOS tier (encoded as -tier); a
            // non-preemptible job's window fit also depends on its duration, so not cached.
            let tierKey = Double(-Int(e.tier))
            if preemptorsLeft > 0 && e.tier > 0 && count > 0
                && !(e.preemptible && preemptionFailures.knownFailure(key, count: count, duration: tierKey)) {
                if let victims = tryPreemption(for: snapshot.pending[Int(e.index)], duration: duration) {
                    preemptorsLeft -= 1
                    handled = true
                    if traced { trace?.reason[e.id] = .waitingForPreemption(jobIDs: victims) }
                } else if e.preemptible {
                    preemptionFailures.record(key, count: count, duration: tierKey)
                }
            }
            // CPU-only jobs wait for a slot; they neither preempt nor reserve.
            if !handled && reservationsLeft > 0 && count > 0
                && !reservationFailures.knownFailure(key, count: count, duration: duration) {
                if tryReservation(for: snapshot.pending[Int(e.index)], duration: duration) {
                    reservationsLeft -= 1
                } else {
                    reservationFailures.record(key, count: count, duration: duration)
                }
            }
            if traced && !handled {
                let reason = diagnose(snapshot.pending[Int(e.index)], duration: duration)
                trace?.reason[e.id] = reason
            }
            if !policy.backfill && canEverRun(snapshot.pending[Int(e.index)]) { headBlocker = e.id }
        }
        if let stop = stopped, let t = trace {
            for (pos, e) in order.enumerated().dropFirst(stop.position) where t.wants(e.id, position: pos) {
                trace?.reason[e.id] = stop.reason
            }
        }
        return Plan(decisions: decisions, jobsConsidered: considered, backfilled: backfilled)
    }

    /// Whether this account is a donor account anywhere (only then does it change placement).
    func donorRelevant(_ account: Int64) -> Bool {
        !donorAccountsWithReserve.isEmpty && donorAccountsWithReserve.contains(account)
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
            if let asked = job.preemptionRequestedAt { end = min(end, asked.addingTimeInterval(grace)) }
            // A job past its time limit (or its grace) is expected to end any moment.
            end = max(end, now)
            if !isFreeing && node.online, let reason = donorReason(job, node: node) {
                decisions.append(.preempt(job: job.id, node: node.id, reason: reason, grace: grace))
                isFreeing = true
                end = min(end, now.addingTimeInterval(grace))
            }
            if job.gpuIndices.isEmpty { node.cpuJobsRunning += 1 }
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
    func donorReason(_ job: RunningJob, node: PassNode) -> PreemptionReason? {
        if node.reclaimed { return .donorReclaim }
        if !node.policy.allows(job.kind) { return .kindNotAllowed }
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
        if slots.isEmpty {
            nodes[ni].cpuJobsRunning += 1
            totalCPUFree -= 1
        }
        decisions.append(.place(job: job.id, node: nodes[ni].id, gpuIndices: slots.map { nodes[ni].gpus[$0].index }))
    }

    /// Whether `job` could run on some node of the fleet if it were empty.
    func canEverRun(_ job: PendingJob) -> Bool {
        nodes.contains {
            $0.online && $0.policy.allows(job.kind) && !job.avoidNodes.contains($0.id)
                && (job.gpus.count > 0 ? $0.matchingCount(job.gpus) >= job.gpus.count : $0.cpuJobSlots > 0)
        }
    }

    func effectivelyPreemptible(_ job: PendingJob) -> Bool {
        job.preemptible && job.preemptionCount < policy.maxPreemptionsPerJob
    }
}

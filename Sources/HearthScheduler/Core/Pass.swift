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
    var shapes = ShapeTable()
    var placementFailures = FailureCache()
    var preemptionFailures = FailureCache()
    var reservationFailures = FailureCache()
    /// Jobs found blocked so far: a placement after one is a backfill.
    var blockedCount = 0
    var backfilled = 0
    /// Accounts that own donor-reserved GPUs somewhere: only their placements differ.
    let donorAccountsWithReserve: Set<Int64>

    init(policy: SchedulerPolicy, snapshot: Snapshot, now: Date, traceJob: Int64? = nil) {
        self.policy = policy
        self.snapshot = snapshot
        self.now = now
        self.nodes = snapshot.nodes.map { NodeState(node: $0, now: now) }
        for (i, n) in nodes.enumerated() { nodeIndex[n.id] = i }
        var donors: Set<Int64> = []
        for n in snapshot.nodes where n.policy.reservedGPUsForDonor > 0 { donors.formUnion(n.policy.donorAccounts) }
        self.donorAccountsWithReserve = donors
        self.trace = traceJob.map { Trace(jobID: $0) }
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
        SortKey.sort(&keys)
        return keys.map { out[Int($0.index)] }
    }

    mutating func run() -> Plan {
        applyRunningJobs()
        totalFree = nodes.reduce(0) { $0 + $1.freeCount }
        let order = entries()
        if let t = trace, let pos = order.firstIndex(where: { $0.id == t.jobID }) {
            trace?.rank = pos + 1
        }

        var reservationsLeft = policy.backfill ? policy.maxReservations : 0
        var preemptorsLeft = policy.priorityPreemption ? policy.maxPreemptorsPerPass : 0
        var considered = 0
        var headBlocker: Int64? = nil

        for e in order {
            let traced = trace?.jobID == e.id
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

            if e.gated {
                let job = snapshot.pending[Int(e.index)]
                if let nb = job.notBefore, nb > now {
                    if traced { trace?.reason = .notBefore(nb) }
                    continue
                }
                if let reason = dependencyReason(job) {
                    if traced { trace?.reason = reason }
                    continue
                }
            }

            let count = Int(e.count), key = Int(e.shape), duration = e.duration
            if totalFree >= count && !placementFailures.knownFailure(key, count: count, duration: duration) {
                let job = snapshot.pending[Int(e.index)]
                if let p = findPlacement(job, duration: duration) {
                    place(job, node: p.node, slots: p.slots, duration: duration)
                    if blockedCount > 0 { backfilled += 1 }
                    if traced { trace?.reason = .startingNow(nodeID: nodes[p.node].id) }
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
            if preemptorsLeft > 0 && e.tier > 0
                && !(e.preemptible && preemptionFailures.knownFailure(key, count: count, duration: tierKey)) {
                if let victims = tryPreemption(for: snapshot.pending[Int(e.index)], duration: duration) {
                    preemptorsLeft -= 1
                    handled = true
                    if traced { trace?.reason = .waitingForPreemption(jobIDs: victims) }
                } else if e.preemptible {
                    preemptionFailures.record(key, count: count, duration: tierKey)
                }
            }
            if !handled && reservationsLeft > 0
                && !reservationFailures.knownFailure(key, count: count, duration: duration) {
                if tryReservation(for: snapshot.pending[Int(e.index)], duration: duration) {
                    reservationsLeft -= 1
                } else {
                    reservationFailures.record(key, count: count, duration: duration)
                }
            }
            if traced && !handled {
                let reason = diagnose(snapshot.pending[Int(e.index)], duration: duration)
                trace?.reason = reason
            }
            if !policy.backfill && canEverRun(snapshot.pending[Int(e.index)]) { headBlocker = e.id }
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

/// Numbers distinct shapes so the failure caches are arrays, not hash tables.
struct ShapeTable {
    private var ids: [ShapeKey: Int] = [:]
    private var last: (ShapeKey, Int)? = nil

    mutating func id(of key: ShapeKey) -> Int {
        if let l = last, l.0 == key { return l.1 }
        let id: Int
        if let known = ids[key] {
            id = known
        } else {
            id = ids.count
            ids[key] = id
        }
        last = (key, id)
        return id
    }
}

struct FailureCache {
    struct Failure {
        var count: Int
        var duration: Double
    }
    private var failures: [[Failure]] = []

    func knownFailure(_ shape: Int, count: Int, duration: Double) -> Bool {
        guard shape < failures.count else { return false }
        for f in failures[shape] where f.count <= count && f.duration <= duration { return true }
        return false
    }

    mutating func record(_ shape: Int, count: Int, duration: Double) {
        while failures.count <= shape { failures.append([]) }
        failures[shape].append(Failure(count: count, duration: duration))
    }
}

/// The pass's sort key. Sorted with a hand-written introsort: the standard library's
/// stable merge sort allocates and copies more than 100,000 keys deserve.
struct SortKey {
    var priority: Double
    var submitted: Double
    var id: Int64
    var index: Int32

    @inline(__always)
    static func precedes(_ a: SortKey, _ b: SortKey) -> Bool {
        if a.priority != b.priority { return a.priority > b.priority }
        if a.submitted != b.submitted { return a.submitted < b.submitted }
        return a.id < b.id
    }

    static func sort(_ keys: inout [SortKey]) {
        keys.withUnsafeMutableBufferPointer { buf in
            guard buf.count > 1 else { return }
            quicksort(buf, 0, buf.count - 1, 2 * (Int.bitWidth - buf.count.leadingZeroBitCount))
        }
    }

    /// `depth` bounds the recursion depth of this call's path (introsort's guard).
    private static func quicksort(_ a: UnsafeMutableBufferPointer<SortKey>, _ lo: Int, _ hi: Int, _ depth: Int) {
        var lo = lo, hi = hi, depth = depth
        while hi - lo > 16 {
            if depth == 0 {
                // Degenerate input: fall back to the standard library for this range.
                let sorted = a[lo...hi].sorted(by: precedes)
                for (k, v) in sorted.enumerated() { a[lo + k] = v }
                return
            }
            depth -= 1
            // Median of three as pivot.
            let mid = lo + (hi - lo) / 2
            if precedes(a[mid], a[lo]) { a.swapAt(mid, lo) }
            if precedes(a[hi], a[lo]) { a.swapAt(hi, lo) }
            if precedes(a[hi], a[mid]) { a.swapAt(hi, mid) }
            let pivot = a[mid]
            var i = lo, j = hi
            while i <= j {
                while precedes(a[i], pivot) { i += 1 }
                while precedes(pivot, a[j]) { j -= 1 }
                if i <= j {
                    a.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            // Recurse into the smaller half, loop on the larger.
            if j - lo < hi - i {
                if lo < j { quicksort(a, lo, j, depth) }
                lo = i
            } else {
                if i < hi { quicksort(a, i, hi, depth) }
                hi = j
            }
        }
        // Insertion sort for short ranges.
        if hi > lo {
            for k in (lo + 1)...hi {
                let v = a[k]
                var m = k - 1
                while m >= lo && precedes(v, a[m]) {
                    a[m + 1] = a[m]
                    m -= 1
                }
                a[m + 1] = v
            }
        }
    }
}

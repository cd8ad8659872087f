import HearthCore
import Foundation

/// Finding GPUs: now (placement), later (reservation), or by evicting (preemption).
extension Pass {
    /// Best fit now: among nodes that can take the job, the one left with the fewest free
    /// GPUs afterwards (whole nodes stay free for large jobs); ties go to the smaller node
    /// (except between nodes the job fills exactly, which are equally good), then to the node
    /// whose artifact cache holds more bytes of the job's inputs (locality: only ever between
    /// nodes equal on everything before it), then to snapshot order.
    func findPlacement(_ job: PendingJob, duration: TimeInterval) -> (node: Int, slots: [Int])? {
        let need = job.gpus.count
        let end = duration.isFinite ? now.addingTimeInterval(duration) : .distantFuture
        let preemptible = effectivelyPreemptible(job)
        let local = snapshot.inputLocality[job.id]
        var best: (node: Int, leftover: Int, size: Int, cached: Int64)? = nil
        // Through an unsafe buffer: `buf[ni]` is borrowed in place, where `nodes[ni]` would
        // copy the node (retaining a dozen arrays) on every test.
        nodes.withUnsafeBufferPointer { buf in
            for ni in buf.indices {
                let free = buf[ni].freeCount
                guard free >= need, buf[ni].acceptsWork else { continue }
                if need == 0 && !buf[ni].cpuSlotFree { continue }
                if let b = best, free - need > b.leftover { continue }
                guard buf[ni].canHostNow(job, need: need, end: end, duration: duration,
                    preemptible: preemptible, now: now, policy: policy)
                else { continue }
                let leftover = free - need
                // A node the job fills exactly is full whatever its size.
                let size = leftover == 0 ? 0 : buf[ni].gpus.count
                let cached = local?[buf[ni].id] ?? 0
                if let b = best, (leftover, size, -cached) >= (b.leftover, b.size, -b.cached) { continue }
                best = (ni, leftover, size, cached)
                // A perfect fit ends the search, unless a later one could hold more of the inputs.
                if leftover == 0 && local == nil { break }
            }
        }
        guard let b = best else { return nil }
        let n = nodes[b.node]
        // Prefer slots nobody has reserved; then those reserved furthest in the future.
        let slots = n.gpus.indices
            .filter { !n.busy[$0] && n.reservedFrom[$0] >= end && job.gpus.accepts(n.gpus[$0]) }
            .sorted { (n.reservedFrom[$0], -$0) > (n.reservedFrom[$1], -$1) }
        return (b.node, Array(slots.prefix(need)))
    }

    /// Reserves the earliest GPUs the job can get on one node, given running jobs' time
    /// limits and earlier reservations. Returns `false` when no start time is known (the
    /// GPUs it would need are held by jobs without a time limit).
    mutating func tryReservation(for job: PendingJob, duration: TimeInterval) -> Bool {
        let need = job.gpus.count
        let preemptible = effectivelyPreemptible(job)
        let nonDonorAccount = { (n: PassNode) in !n.policy.donorAccounts.contains(job.accountID) }
        var best: (node: Int, at: Date, slots: [Int])? = nil
        for ni in nodes.indices {
            let n = nodes[ni]
            // Open now, or closed now with a known next window (expected start = then).
            guard n.acceptsWork || n.nextStretch != nil, n.policy.allows(job.kind), !job.avoidNodes.contains(n.id) else { continue }
            if nonDonorAccount(n) && need > n.donorCap { continue }
            let matching = n.gpus.indices.filter { job.gpus.accepts(n.gpus[$0]) }
            guard matching.count >= need else { continue }
            let base = n.acceptsWork ? now : n.nextStretch!.opened
            var times: Set<Date> = [base]
            for s in matching {
                if n.freeAt[s] < .distantFuture { times.insert(max(n.freeAt[s], base)) }
                for r in n.reservations[s] where r.end < .distantFuture { times.insert(max(r.end, base)) }
            }
            for t in times.sorted() {
                if let b = best, t >= b.at { break }
                guard let closes = n.stretchCloses(forStart: t),
                    n.fits(start: t, closes: closes, duration: duration, effectivelyPreemptible: preemptible, policy: policy)
                else { break }
                let end = duration.isFinite ? t.addingTimeInterval(duration) : .distantFuture
                let slots = matching.filter { (!n.busy[$0] || n.freeAt[$0] <= t) && n.slotUnreserved($0, from: t, to: end) }
                if slots.count >= need {
                    best = (ni, t, Array(slots.prefix(need)))
                    break
                }
            }
        }
        guard let b = best else { return false }
        let end = duration.isFinite ? b.at.addingTimeInterval(duration) : .distantFuture
        nodes[b.node].reserve(b.slots, job: job.id, from: b.at, to: end)
        let node = nodes[b.node]
        decisions.append(.reserve(job: job.id, node: node.id, gpuIndices: b.slots.map { node.gpus[$0].index }, at: b.at))
        if trace != nil { trace?.reservation[job.id] = (node.id, b.at) }
        return true
    }

    /// Frees GPUs for `job` by preempting jobs of a strictly lower QOS tier on one node,
    /// choosing the node that costs the fewest victim GPUs (then the fewest victims).
    /// Slots already being freed by an earlier preemption count without a new victim.
    /// Returns the victims (possibly none, when earlier preemptions suffice), or `nil`.
    mutating func tryPreemption(for job: PendingJob, duration: TimeInterval) -> [Int64]? {
        let need = job.gpus.count
        let preemptible = effectivelyPreemptible(job)
        let grace = policy.preemptionGrace
        var best: (node: Int, cost: Int, victims: [Int], slots: [Int])? = nil
        for ni in nodes.indices {
            let n = nodes[ni]
            guard n.acceptsWork, n.policy.allows(job.kind), !job.avoidNodes.contains(n.id),
                n.windowFits(start: now.addingTimeInterval(grace), duration: duration,
                    effectivelyPreemptible: preemptible, policy: policy)
            else { continue }
            if !n.policy.donorAccounts.contains(job.accountID) && need > n.donorCap { continue }
            // Free and unreserved, or already freeing and unclaimed.
            var avail = n.gpus.indices.filter {
                job.gpus.accepts(n.gpus[$0]) && !n.claimed[$0]
                    && ((!n.busy[$0] && n.reservedFrom[$0] == .distantFuture) || (n.busy[$0] && n.freeing[$0]))
            }
            var victims: [Int] = []
            var cost = 0
            if avail.count < need {
                let candidates = n.runningJobs.filter { ri in
                    let r = snapshot.running[ri]
                    return r.preemptible && r.qos.tier < job.qos.tier
                        && r.preemptionCount < policy.maxPreemptionsPerJob
                        && now.timeIntervalSince(r.startedAt) >= policy.minRunBeforePreemption
                        && r.gpuIndices.contains { n.slot(ofIndex: $0).map { !n.freeing[$0] && !n.claimed[$0] } ?? false }
                }.sorted { a, b in
                    let ra = snapshot.running[a], rb = snapshot.running[b]
                    if ra.qos.tier != rb.qos.tier { return ra.qos.tier < rb.qos.tier }
                    return (ra.startedAt, ra.id) > (rb.startedAt, rb.id)  // youngest loses least work
                }
                for ri in candidates where avail.count < need {
                    let slots = snapshot.running[ri].gpuIndices.compactMap { n.slot(ofIndex: $0) }
                    victims.append(ri)
                    cost += slots.count
                    avail += slots.filter { job.gpus.accepts(n.gpus[$0]) && n.holder[$0] == ri }
                }
                guard avail.count >= need else { continue }
            }
            if let b = best, (cost, victims.count) >= (b.cost, b.victims.count) { continue }
            best = (ni, cost, victims, Array(avail.prefix(need)))
            if cost == 0 { break }
        }
        guard let b = best else { return nil }
        var node = nodes[b.node]
        let victimIDs = b.victims.map { snapshot.running[$0].id }
        for ri in b.victims {
            decisions.append(.preempt(job: snapshot.running[ri].id, node: node.id,
                reason: .higherPriority(jobID: job.id), grace: grace))
            for s in snapshot.running[ri].gpuIndices.compactMap({ node.slot(ofIndex: $0) }) {
                node.freeing[s] = true
                node.freeAt[s] = min(node.freeAt[s], now.addingTimeInterval(grace))
            }
        }
        let at = b.slots.map { node.busy[$0] ? node.freeAt[$0] : now }.max() ?? now
        for s in b.slots { node.claimed[s] = true }
        let end = duration.isFinite ? at.addingTimeInterval(duration) : .distantFuture
        node.reserve(b.slots, job: job.id, from: now, to: end)
        nodes[b.node] = node
        decisions.append(.reserve(job: job.id, node: node.id, gpuIndices: b.slots.map { node.gpus[$0].index }, at: at))
        if trace != nil { trace?.reservation[job.id] = (node.id, at) }
        return victimIDs
    }

    /// The most specific reason `job` could not be placed now (for `explain` only).
    func diagnose(_ job: PendingJob, duration: TimeInterval) -> PendingReason {
        let need = job.gpus.count
        let hardware = nodes.filter {
            $0.online && (need > 0 ? $0.matchingCount(job.gpus) >= need : $0.cpuJobSlots > 0)
        }
        if hardware.isEmpty { return .unsatisfiable }
        let kinds = hardware.filter { $0.policy.allows(job.kind) }
        if kinds.isEmpty { return .kindNotAllowed }
        let unavoided = kinds.filter { !job.avoidNodes.contains($0.id) }
        if unavoided.isEmpty { return .avoidedNodes }
        let preemptible = effectivelyPreemptible(job)
        let open = kinds.filter {
            $0.acceptsWork && $0.windowFits(start: now, duration: duration, effectivelyPreemptible: preemptible, policy: policy)
        }
        if open.isEmpty { return .outsideDonorWindow }
        if need == 0 { return .noCapacity }  // every CPU-only slot is taken
        let donorOK = open.filter { $0.policy.donorAccounts.contains(job.accountID) || need <= $0.donorCap }
        if donorOK.isEmpty { return .donorReserved }
        let end = duration.isFinite ? now.addingTimeInterval(duration) : .distantFuture
        var blockers: Set<Int64> = []
        for n in donorOK {
            let free = n.gpus.indices.filter { !n.busy[$0] && job.gpus.accepts(n.gpus[$0]) }
            guard free.count >= need else { continue }
            if !n.policy.donorAccounts.contains(job.accountID) && n.nonDonorUsed + need > n.donorCap { continue }
            for s in free where n.reservedFrom[s] < end {
                for r in n.reservations[s] where r.start < end { blockers.insert(r.job) }
            }
        }
        if !blockers.isEmpty { return .behindReservation(jobIDs: blockers.sorted()) }
        let donorShareOnly = donorOK.allSatisfy { n in
            let free = n.gpus.indices.filter { !n.busy[$0] && job.gpus.accepts(n.gpus[$0]) }.count
            return free >= need && !n.policy.donorAccounts.contains(job.accountID) && n.nonDonorUsed + need > n.donorCap
        }
        if donorShareOnly { return .donorReserved }
        return .noCapacity
    }
}

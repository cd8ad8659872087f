import Foundation
import HearthCore
import Testing
@testable import HearthScheduler

/// Invariants of a single pass over random fleets and queues, for both policies.
@Suite struct PassPropertyTests {
    static let seeds = Array(UInt64(1)...400)

    @Test("invariants of one pass", arguments: seeds)
    func invariants(seed: UInt64) throws {
        let (snap, now) = RandomSnapshots.make(seed: seed)
        for policy in [SchedulerPolicy.default, .fifo] {
            let plan = Scheduler(policy: policy).schedule(snap, now: now)
            try check(plan, snap, now, policy)
        }
    }

    @Test("invariants of one pass, crowded fleets", arguments: Array(UInt64(1_000)...1_040))
    func crowdedInvariants(seed: UInt64) throws {
        let (snap, now) = RandomSnapshots.make(seed: seed, maxNodes: 40, maxPending: 400)
        var tight = SchedulerPolicy.default
        tight.maxReservations = 50
        tight.maxPreemptorsPerPass = 20
        for policy in [SchedulerPolicy.default, tight, .fifo] {
            try check(Scheduler(policy: policy).schedule(snap, now: now), snap, now, policy)
        }
    }

    func check(_ plan: Plan, _ snap: Snapshot, _ now: Date, _ policy: SchedulerPolicy) throws {
        let nodes = Dictionary(uniqueKeysWithValues: snap.nodes.map { ($0.id, $0) })
        let jobs = Dictionary(uniqueKeysWithValues: snap.pending.map { ($0.id, $0) })
        let runningByID = Dictionary(uniqueKeysWithValues: snap.running.map { ($0.id, $0) })
        var held: [Int64: Set<Int>] = [:]  // node -> GPU indices in use
        var cpuJobs: [Int64: Int] = [:]    // node -> CPU-only jobs
        for r in snap.running where r.gpuIndices.isEmpty { cpuJobs[r.nodeID, default: 0] += 1 }
        var nonDonor: [Int64: Int] = [:]
        for r in snap.running {
            held[r.nodeID, default: []].formUnion(r.gpuIndices)
            if !(nodes[r.nodeID]?.policy.donorAccounts.contains(r.accountID) ?? false) { nonDonor[r.nodeID, default: 0] += r.gpuIndices.count }
        }
        var placed: Set<Int64> = []
        var preempted: Set<Int64> = []
        var reservations: [(node: Int64, gpus: Set<Int>, at: Date)] = []

        for d in plan.decisions {
            switch d {
            case .place(let id, let nid, let gpus):
                let job = try #require(jobs[id], "placed job \(id) is not pending")
                let n = try #require(nodes[nid])
                #expect(placed.insert(id).inserted, "job \(id) placed twice")
                // No GPU is ever given to two jobs.
                #expect(Set(gpus).count == gpus.count)
                #expect(gpus.count == job.gpus.count)
                if gpus.isEmpty {
                    cpuJobs[nid, default: 0] += 1
                    #expect(cpuJobs[nid]! <= n.cpuJobSlots, "CPU-only slots of node \(nid) exceeded")
                }
                #expect(held[nid, default: []].isDisjoint(with: gpus), "seed: GPUs \(gpus) of node \(nid) already held")
                held[nid, default: []].formUnion(gpus)
                for g in gpus {
                    let gpu = try #require(n.gpus.first { $0.index == g })
                    #expect(job.gpus.accepts(gpu))
                }
                // Donor policy: online, not reclaimed, inside the window, kind allowed.
                #expect(n.online && !n.reclaimed)
                #expect(n.policy.allows(job.kind))
                if let sched = n.policy.availability {
                    let stretch = try #require(sched.openStretch(at: now), "placed on node \(nid) outside its window")
                    let effPreemptible = job.preemptible && job.preemptionCount < policy.maxPreemptionsPerJob
                    if !effPreemptible {
                        let limit = try #require(job.timeLimit)
                        #expect(now.addingTimeInterval(limit) <= stretch.closes)
                    } else {
                        #expect(stretch.closes.timeIntervalSince(now) >= policy.preemptionGrace + policy.minUsefulRun)
                    }
                }
                if !n.policy.donorAccounts.contains(job.accountID) {
                    nonDonor[nid, default: 0] += gpus.count
                    let cap = n.gpus.count(where: \.healthy) - n.policy.reservedGPUsForDonor
                    #expect(nonDonor[nid]! <= max(cap, 0))
                }
                // Gates.
                if let nb = job.notBefore { #expect(nb <= now) }
                for dep in job.afterOK { #expect(snap.dependencyStates[dep] == .succeeded) }
                // A reservation made earlier in the pass is never delayed by this job.
                for r in reservations where r.node == nid && !r.gpus.isDisjoint(with: gpus) {
                    let limit = try #require(job.timeLimit, "job without limit backfilled onto reserved GPUs")
                    #expect(now.addingTimeInterval(limit) <= r.at, "backfilled job \(id) delays a reservation")
                }
            case .preempt(let id, let nid, let reason, let grace):
                let r = try #require(runningByID[id])
                #expect(r.nodeID == nid)
                #expect(r.preemptionRequestedAt == nil)
                #expect(preempted.insert(id).inserted)
                #expect(grace == policy.preemptionGrace)
                if case .higherPriority(let by) = reason {
                    let p = try #require(jobs[by])
                    #expect(policy.priorityPreemption)
                    #expect(r.preemptible && r.qos.tier < p.qos.tier)
                    #expect(r.preemptionCount < policy.maxPreemptionsPerJob)
                    #expect(now.timeIntervalSince(r.startedAt) >= policy.minRunBeforePreemption)
                }
            case .reserve(let id, let nid, let gpus, let at):
                #expect(jobs[id] != nil)
                #expect(at >= now)
                #expect(gpus.count == jobs[id]?.gpus.count)
                reservations.append((nid, Set(gpus), at))
            }
        }
        // Every running job the donor wants gone is asked to leave in this pass.
        for r in snap.running where r.preemptionRequestedAt == nil {
            guard let n = nodes[r.nodeID], n.online else { continue }
            let closed = n.policy.availability.map { !$0.isOpen(at: now) } ?? false
            if n.reclaimed || closed || !n.policy.allows(r.kind) {
                #expect(preempted.contains(r.id), "job \(r.id) left on a node its donor closed")
            }
        }
    }

    /// The random snapshots reach every kind of decision (so the invariants above bite).
    @Test func randomSnapshotsExerciseEveryDecision() {
        var places = 0, reserves = 0, byPriority = 0, byDonor = 0, backfills = 0
        for seed in Self.seeds {
            let (snap, now) = RandomSnapshots.make(seed: seed)
            let plan = Scheduler().schedule(snap, now: now)
            places += plan.placements.count
            reserves += plan.reservations.count
            backfills += plan.backfilled
            for p in plan.preemptions {
                if case .higherPriority = p.reason { byPriority += 1 } else { byDonor += 1 }
            }
        }
        #expect(places > 100 && reserves > 50 && backfills > 10 && byPriority > 10 && byDonor > 10,
            "places \(places) reserves \(reserves) backfills \(backfills) priority \(byPriority) donor \(byDonor)")
    }

    @Test("explain agrees with schedule", arguments: Array(UInt64(1)...60))
    func explainAgrees(seed: UInt64) throws {
        let (snap, now) = RandomSnapshots.make(seed: seed, maxPending: 25)
        let scheduler = Scheduler()
        let plan = scheduler.schedule(snap, now: now)
        let all = Dictionary(uniqueKeysWithValues: scheduler.explainQueue(in: snap, now: now, limit: .max).map { ($0.jobID, $0) })
        #expect(all.count == snap.pending.count)
        for job in snap.pending {
            let e = try #require(scheduler.explain(job: job.id, in: snap, now: now))
            #expect(all[job.id] == e, "explainQueue and explain disagree on job \(job.id)")
            let placedNode = plan.placement(of: job.id)?.node
            if case .startingNow(let n) = e.reason {
                #expect(placedNode == n)
            } else {
                #expect(placedNode == nil, "job \(job.id): \(e.reason) but placed")
            }
            #expect(e.expectedStart == plan.reservation(of: job.id)?.at)
        }
    }
}

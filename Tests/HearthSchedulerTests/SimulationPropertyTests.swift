import Foundation
import HearthCore
import Testing
@testable import HearthScheduler

/// Properties of whole simulated runs: the scheduler driven pass after pass.
@Suite struct SimulationPropertyTests {
    /// Two accounts with equal shares that never stop submitting, one with many small jobs
    /// and one with fewer large ones, end within 5 % of each other's GPU-hours in a week.
    @Test(.timeLimit(.minutes(10)), arguments: [UInt64(11), 12, 13])
    func fairShareConvergesOverAWeek(seed: UInt64) {
        let nodes = (1...6).map { node(Int64($0), gpus: 8) }
        // Philly-like durations (heavy tail up to 3 days) for both.
        let accounts = [
            SimAccount(id: 1, projectID: 1, backlog: 24, fixedGPUs: 1),
            SimAccount(id: 2, projectID: 2, backlog: 6, fixedGPUs: 4, durationScale: 2),
        ]
        var config = SimulationConfig(policy: .default, start: t0)
        config.tick = 120
        let result = Simulator(config: config, nodes: nodes, accounts: accounts).run(arrivals: [], generator: WorkloadGenerator(seed: seed))
        let h = result.report.accounts.map(\.gpuHours)
        let gap = abs(h[0] - h[1]) / max(h[0], h[1])
        print("fair-share convergence seed \(seed): GPU-hours \(h.map { Int($0) }), gap \(String(format: "%.2f", gap * 100)) %, Jain \(result.report.jainIndex)")
        #expect(result.violations.isEmpty)
        #expect(gap <= 0.05, "GPU-hours \(h), gap \(gap), util \(result.report.utilisation), preemptions \(result.report.preemptions), done \(result.report.accounts.map(\.completed))")
        #expect(result.report.jainIndex > 0.99)
        // Both accounts were kept busy: the fleet was well used.
        #expect(result.report.utilisation > 0.8)
    }

    /// Unequal shares: a project with twice the shares gets about twice the GPU-hours.
    @Test(.timeLimit(.minutes(10))) func weightedSharesConverge() {
        let nodes = (1...6).map { node(Int64($0), gpus: 8) }
        let accounts = [
            SimAccount(id: 1, projectID: 1, backlog: 24, fixedGPUs: 1),
            SimAccount(id: 2, projectID: 2, backlog: 24, fixedGPUs: 2),
        ]
        var config = SimulationConfig(policy: .default, start: t0)
        config.tick = 120
        let result = Simulator(config: config, nodes: nodes, accounts: accounts, projectShares: [1: 2, 2: 1])
            .run(arrivals: [], generator: WorkloadGenerator(seed: 31))
        let h = result.report.accounts.map(\.gpuHours)
        let ratio = h[0] / h[1]
        print("weighted shares 2:1: GPU-hours \(h.map { Int($0) }), ratio \(String(format: "%.3f", ratio))")
        #expect(abs(ratio - 2) / 2 <= 0.05, "GPU-hours \(h), ratio \(ratio)")
        #expect(result.report.jainIndex > 0.99)
    }

    /// With exact time limits and no new arrivals, the highest-priority blocked job never
    /// starts later than the time first reserved for it (give or take one pass period):
    /// nothing backfilled in the meantime delayed it. (Lower reservations may move when
    /// a higher one changes node; each pass's plan is checked in PassPropertyTests.)
    @Test(.timeLimit(.minutes(10)), arguments: [UInt64(3), 4, 5])
    func reservationsAreNeverDelayed(seed: UInt64) {
        let nodes = [node(1, gpus: 8), node(2, gpus: 8), node(3, gpus: 4), node(4, gpus: 2)]
        var gen = WorkloadGenerator(seed: seed)
        let account = SimAccount(id: 1, projectID: 1)
        var jobs: [SimJobSpec] = []
        for i in 0..<150 {
            var j = gen.job(for: account, at: t0.addingTimeInterval(Double(i)))
            j.work = (j.work / 60).rounded(.up) * 60
            j.timeLimit = j.work  // exact estimates
            jobs.append(j)
        }
        var policy = SchedulerPolicy.default
        policy.maxReservations = 1_000
        var config = SimulationConfig(policy: policy, start: t0)
        config.duration = 3 * 86_400
        config.tick = 60
        let result = Simulator(config: config, nodes: nodes, accounts: [account]).run(arrivals: jobs, generator: gen)
        #expect(result.violations.isEmpty)
        #expect(!result.reservationLateness.isEmpty)
        #expect(result.report.backfilled > 0)
        for (job, late) in result.reservationLateness {
            #expect(late <= config.tick, "job \(job) started \(late) s after its reservation")
        }
    }

    /// Donated nodes with windows, kind limits, donor shares and reclaims: no GPU is used
    /// twice at any moment, no job runs outside its node's window (beyond the grace it
    /// was given to checkpoint) or on a node refusing its kind, and preempted training
    /// resumes where it stopped.
    @Test(.timeLimit(.minutes(10)), arguments: Array(UInt64(21)...26))
    func donorPoliciesHoldOverTime(seed: UInt64) throws {
        let nodes = FleetModel.make(count: 10, donorFraction: 0.6, seed: seed)
        let accounts = (1...4).map { SimAccount(id: Int64($0), projectID: Int64($0 % 2), meanInterarrival: 900, highQOSFraction: 0.1) }
        var gen = WorkloadGenerator(seed: seed)
        let arrivals = gen.openLoopArrivals(accounts: accounts, start: t0, end: t0.addingTimeInterval(2 * 86_400))
        var config = SimulationConfig(policy: .default, start: t0)
        config.duration = 2 * 86_400
        config.recordSegments = true
        config.tick = 120
        config.reclaims = [(node: 1, at: t0.addingTimeInterval(hours(5)), until: t0.addingTimeInterval(hours(9)))]
        let result = Simulator(config: config, nodes: nodes, accounts: accounts).run(arrivals: arrivals, generator: gen)
        #expect(result.violations.isEmpty)
        #expect(result.report.totalPreemptions > 0)
        // Requeue bound: nobody is preempted for priority more than maxPreemptionsPerJob times.
        let byJob = Dictionary(grouping: result.segments, by: \.jobID)
        for (job, segs) in byJob {
            let byPriority = segs.filter { if case .preempted(.higherPriority) = $0.endReason { true } else { false } }
            #expect(byPriority.count <= config.policy.maxPreemptionsPerJob, "job \(job) preempted \(byPriority.count) times")
        }
        // Preempted training resumes from its checkpoint: a completed training job ran for
        // exactly its work in total, however often it was interrupted.
        let specs = Dictionary(uniqueKeysWithValues: arrivals.map { ($0.id, $0) })
        var resumed = 0
        for (job, segs) in byJob where segs.count > 1 && segs.contains(where: { $0.endReason == .completed }) {
            guard let spec = specs[job], spec.kind == .train else { continue }
            let ran = segs.reduce(0.0) { $0 + $1.end.timeIntervalSince($1.start) }
            #expect(abs(ran - spec.work) < 1, "job \(job) ran \(ran) s for \(spec.work) s of work")
            resumed += 1
        }
        #expect(resumed > 0)
        let byNode = Dictionary(grouping: result.segments, by: \.nodeID)
        let grace = config.policy.preemptionGrace
        for (nid, segs) in byNode {
            let n = try #require(nodes.first { $0.id == nid })
            for s in segs {
                #expect(n.policy.allows(s.kind))
                if let sched = n.policy.availability {
                    let stretch = try #require(sched.openStretch(at: s.start), "job \(s.jobID) started outside window")
                    #expect(s.end <= stretch.closes.addingTimeInterval(grace), "job \(s.jobID) ran past the window")
                }
                if nid == 1 {
                    // Nothing starts during the reclaim, and nothing runs long into it.
                    let r0 = t0.addingTimeInterval(hours(5)), r1 = t0.addingTimeInterval(hours(9))
                    #expect(!(s.start >= r0 && s.start < r1))
                    if s.start < r0 { #expect(s.end <= r0.addingTimeInterval(config.tick + grace)) }
                }
            }
            // No two overlapping segments share a GPU (checked below).
            let sorted = segs.sorted { $0.start < $1.start }
            for (i, a) in sorted.enumerated() {
                for b in sorted[(i + 1)...] where b.start < a.end {
                    #expect(Set(a.gpuIndices).isDisjoint(with: b.gpuIndices), "jobs \(a.jobID) and \(b.jobID) share a GPU on node \(nid)")
                }
            }
        }
    }
}

import Foundation
import HearthCore
import Testing
@testable import HearthScheduler

@Suite struct PlacementTests {
    @Test func bestFitKeepsWholeNodesFree() throws {
        // Node 1 has 1 of 8 GPUs free; node 2 is empty. A 1-GPU job goes to node 1.
        let running = [runningJob(100, node: 1, gpus: Array(0..<7))]
        let snap = Snapshot(pending: [pending(1)], running: running, nodes: [node(2, gpus: 8), node(1, gpus: 8)])
        let p = try #require(Scheduler().schedule(snap, now: t0).placement(of: 1))
        #expect(p.node == 1)
        #expect(p.gpuIndices == [7])
    }

    @Test func modelAndMemoryAreHonoured() throws {
        let nodes = [node(1, gpus: 4, model: "RTX4090", memory: 24_576), node(2, gpus: 2, model: "H100")]
        let snap = Snapshot(pending: [pending(1, gpus: 2, memory: 40_000), pending(2, gpus: 3, model: "H100")], nodes: nodes)
        let plan = Scheduler().schedule(snap, now: t0)
        #expect(plan.placement(of: 1)?.node == 2)
        #expect(plan.placement(of: 2) == nil)
    }

    @Test func allGPUsOnOneNode() {
        // 4 free GPUs in total, but 2 + 2 on two nodes: a 4-GPU job does not start.
        let snap = Snapshot(pending: [pending(1, gpus: 4)], nodes: [node(1, gpus: 2), node(2, gpus: 2)])
        #expect(Scheduler().schedule(snap, now: t0).placements.isEmpty)
    }

    @Test func unhealthyGPUsAreNeverGiven() throws {
        var n = node(1, gpus: 2)
        n.gpus[0].healthy = false
        let snap = Snapshot(pending: [pending(1), pending(2)], nodes: [n])
        let plan = Scheduler().schedule(snap, now: t0)
        #expect(plan.placements.count == 1)
        #expect(plan.placements.first?.gpuIndices == [1])
    }

    @Test func backfillRunsShortJobBehindReservationButNotLongOne() throws {
        // 8-GPU node: 6 GPUs busy for 2 more hours. Top job needs 8 → reserved at +2h.
        // A 1-hour 1-GPU job may use the 2 free GPUs; a 3-hour one may not.
        // (The running job is `high` so the top job cannot preempt it.)
        let running = [runningJob(100, node: 1, gpus: Array(0..<6), qos: .high, started: t0.addingTimeInterval(-hours(1)), limit: hours(3))]
        let top = pending(1, gpus: 8, qos: .high, submitted: t0.addingTimeInterval(-hours(5)))
        let short = pending(2, limit: hours(1))
        let long = pending(3, limit: hours(3))
        let unknown = pending(4, limit: nil)
        let snap = Snapshot(pending: [top, short, long, unknown], running: running, nodes: [node(1, gpus: 8)])
        let plan = Scheduler().schedule(snap, now: t0)
        let r = try #require(plan.reservation(of: 1))
        #expect(r.at == t0.addingTimeInterval(hours(2)))
        #expect(plan.placement(of: 2) != nil)
        #expect(plan.placement(of: 3) == nil)
        #expect(plan.placement(of: 4) == nil)
        #expect(plan.backfilled == 1)
    }

    @Test func strictFIFOStopsAtTheFirstBlockedJob() {
        let running = [runningJob(100, node: 1, gpus: Array(0..<6))]
        let snap = Snapshot(pending: [pending(1, gpus: 8, submitted: t0.addingTimeInterval(-10)), pending(2, submitted: t0)],
            running: running, nodes: [node(1, gpus: 8)])
        let plan = Scheduler(policy: .fifo).schedule(snap, now: t0)
        #expect(plan.placements.isEmpty)
        // ... while the default scheduler backfills job 2.
        #expect(Scheduler().schedule(snap, now: t0).placement(of: 2) != nil)
    }

    @Test func fifoDoesNotBlockOnAJobThatCanNeverRun() {
        let snap = Snapshot(pending: [pending(1, gpus: 16, submitted: t0.addingTimeInterval(-10)), pending(2)], nodes: [node(1, gpus: 8)])
        #expect(Scheduler(policy: .fifo).schedule(snap, now: t0).placement(of: 2) != nil)
    }

    @Test func donorKindsAndReservedShare() {
        var policy = DonorPolicy(allowedKinds: [.train], donorAccounts: [7], reservedGPUsForDonor: 1)
        policy.availability = nil
        let snap = Snapshot(
            pending: [pending(1, kind: .serve, limit: nil), pending(2, gpus: 2), pending(3, account: 7, gpus: 2), pending(4)],
            nodes: [node(1, gpus: 2, policy: policy)])
        let plan = Scheduler().schedule(snap, now: t0)
        #expect(plan.placement(of: 1) == nil)  // serving refused by the donor
        #expect(plan.placement(of: 2) == nil)  // outsiders get at most 1 of 2 GPUs
        #expect(plan.placement(of: 3) != nil)  // the donor's own account gets both
        #expect(plan.placement(of: 4) == nil)  // nothing left
    }

    @Test func donorWindowPlacementRules() {
        // Window 06:00–14:00 UTC, now 12:00: two hours left.
        let nodes = [node(1, gpus: 4, policy: windowPolicy(closeHour: 14))]
        let snap = Snapshot(pending: [
            pending(1, kind: .serve, limit: hours(3)),  // cannot finish, not preemptible
            pending(2, kind: .serve, limit: hours(1)),  // finishes inside
            pending(3, limit: hours(10)),                 // training: checkpoints at close
            pending(4, limit: hours(10), preemptions: 3), // requeue bound reached: must fit
        ], nodes: nodes)
        let plan = Scheduler().schedule(snap, now: t0)
        #expect(plan.placement(of: 1) == nil)
        #expect(plan.placement(of: 2) != nil)
        #expect(plan.placement(of: 3) != nil)
        #expect(plan.placement(of: 4) == nil)
        // Outside the window (now 15:00) nothing is placed.
        #expect(Scheduler().schedule(snap, now: t0.addingTimeInterval(hours(3))).placements.isEmpty)
    }

    @Test func preemptibleJobNeedsUsefulRunBeforeClose() {
        // 10 minutes before close: less than grace (5 min) + minUsefulRun (15 min).
        let snap = Snapshot(pending: [pending(1, limit: hours(10))], nodes: [node(1, gpus: 1, policy: windowPolicy(closeHour: 14))])
        #expect(Scheduler().schedule(snap, now: t0.addingTimeInterval(hours(2) - minutes(10))).placements.isEmpty)
    }

    @Test func dependenciesGateStart() {
        let jobs = [pending(1, afterOK: [50]), pending(2, afterOK: [51]), pending(3, afterOK: [52])]
        let snap = Snapshot(pending: jobs, nodes: [node(1, gpus: 4)], dependencyStates: [50: .succeeded, 51: .running, 52: .failed])
        let plan = Scheduler().schedule(snap, now: t0)
        #expect(plan.placements.map(\.job) == [1])
    }

    @Test func notBeforeIsRespected() {
        let snap = Snapshot(pending: [pending(1, notBefore: t0.addingTimeInterval(30))], nodes: [node(1, gpus: 1)])
        #expect(Scheduler().schedule(snap, now: t0).placements.isEmpty)
        #expect(Scheduler().schedule(snap, now: t0.addingTimeInterval(30)).placements.count == 1)
    }

    @Test func scheduleIsDeterministic() {
        let jobs = (1...40).map { pending(Int64($0), account: Int64($0 % 3), gpus: [1, 2, 4][$0 % 3]) }
        let snap = Snapshot(pending: jobs, nodes: [node(1, gpus: 8), node(2, gpus: 4), node(3, gpus: 2)])
        #expect(Scheduler().schedule(snap, now: t0) == Scheduler().schedule(snap, now: t0))
    }

    @Test func cpuOnlyJobsTakeCPUSlotsNotGPUs() {
        var n1 = node(1, gpus: 2)
        n1.cpuJobSlots = 1
        let running = [RunningJob(id: 100, accountID: 1, projectID: 1, kind: .command, nodeID: 1, gpuIndices: [],
            startedAt: t0.addingTimeInterval(-60), timeLimit: 600)]
        let snap = Snapshot(pending: [pending(1, gpus: 0), pending(2, gpus: 2)], running: running, nodes: [n1, node(2, gpus: 1)])
        let plan = Scheduler().schedule(snap, now: t0)
        // Node 1's only CPU slot is taken: the CPU job goes to node 2, with no GPU.
        #expect(plan.placement(of: 1)?.node == 2)
        #expect(plan.placement(of: 1)?.gpuIndices == [])
        #expect(plan.placement(of: 2)?.gpuIndices == [0, 1])
        // A second CPU-only job finds no slot.
        let snap2 = Snapshot(pending: [pending(1, gpus: 0), pending(3, gpus: 0)], running: running, nodes: [n1, node(2, gpus: 1)])
        #expect(Scheduler().schedule(snap2, now: t0).placements.count == 1)
        #expect(Scheduler().explain(job: 3, in: snap2, now: t0)?.reason == .noCapacity)
    }

    @Test func userPriorityOrdersWithinTheSameAccount() {
        let snap = Snapshot(pending: [pending(1, submitted: t0.addingTimeInterval(-600)), pending(2, submitted: t0)].map {
            var j = $0
            j.userPriority = j.id == 2 ? 1_000 : 0
            return j
        }, nodes: [node(1, gpus: 1)])
        #expect(Scheduler().schedule(snap, now: t0).placements.map(\.job) == [2])
    }

    @Test func jobKindIsTheQueuesText() throws {
        #expect(JobKind.train.rawValue == "train")
        #expect(JobKind(rawValue: "serve") == .serve && JobKind(rawValue: "later-kind") == nil)
        #expect(!JobKind.serve.isPreemptibleByDefault && JobKind.distill.isPreemptibleByDefault)
        let data = try JSONEncoder().encode([JobKind.eval, .command])
        #expect(String(decoding: data, as: UTF8.self) == #"["eval","command"]"#)
        #expect(DonorPolicy().allows(.command) && !DonorPolicy(allowedKinds: [.train]).allows(.serve))
    }
}

import HearthCore
import Foundation
import Testing
@testable import HearthScheduler

@Suite struct PreemptionTests {
    let full = [node(1, gpus: 4)]

    @Test func highQOSPreemptsLowerTierTraining() throws {
        let running = [runningJob(100, node: 1, gpus: [0, 1], qos: .low), runningJob(101, node: 1, gpus: [2, 3], qos: .normal)]
        let snap = Snapshot(pending: [pending(1, gpus: 2, qos: .high)], running: running, nodes: full)
        let plan = Scheduler().schedule(snap, now: t0)
        // The cheapest victim: the low-QOS job.
        #expect(plan.preemptions.map(\.job) == [100])
        #expect(plan.preempted(100) == .higherPriority(jobID: 1))
        let r = try #require(plan.reservation(of: 1))
        #expect(r.at == t0.addingTimeInterval(SchedulerPolicy.default.preemptionGrace))
        if case .preempt(_, _, _, let grace)? = plan.decisions.first { #expect(grace == 300) }
    }

    @Test func sameTierAndServingAreNotPreempted() {
        let running = [runningJob(100, node: 1, gpus: [0, 1], qos: .high), runningJob(101, node: 1, gpus: [2, 3], kind: .serve, qos: .normal, limit: nil)]
        let snap = Snapshot(pending: [pending(1, gpus: 2, qos: .high)], running: running, nodes: full)
        #expect(Scheduler().schedule(snap, now: t0).preemptions.isEmpty)
    }

    @Test func servingMarkedPreemptibleCanBePreempted() {
        let running = [runningJob(101, node: 1, gpus: [0, 1, 2, 3], kind: .serve, qos: .normal, limit: nil, preemptible: true)]
        let snap = Snapshot(pending: [pending(1, gpus: 2, qos: .serving, limit: nil)], running: running, nodes: full)
        #expect(Scheduler().schedule(snap, now: t0).preempted(101) != nil)
    }

    @Test func requeueBoundAndMinimumRunProtectVictims() {
        let running = [
            runningJob(100, node: 1, gpus: [0, 1], qos: .low, preemptions: 3),
            runningJob(101, node: 1, gpus: [2, 3], qos: .low, started: t0.addingTimeInterval(-minutes(5))),
        ]
        let snap = Snapshot(pending: [pending(1, gpus: 2, qos: .high)], running: running, nodes: full)
        #expect(Scheduler().schedule(snap, now: t0).preemptions.isEmpty)
    }

    @Test func inFlightPreemptionIsNotRepeated() throws {
        let asked = t0.addingTimeInterval(-60)
        let running = [runningJob(100, node: 1, gpus: [0, 1], qos: .low, preemptionRequestedAt: asked), runningJob(101, node: 1, gpus: [2, 3], qos: .low)]
        let snap = Snapshot(pending: [pending(1, gpus: 2, qos: .high)], running: running, nodes: full)
        let plan = Scheduler().schedule(snap, now: t0)
        #expect(plan.preemptions.isEmpty)
        let r = try #require(plan.reservation(of: 1))
        #expect(r.at == asked.addingTimeInterval(300))
        // And nobody else is placed on the freeing GPUs.
        let snap2 = Snapshot(pending: [pending(1, gpus: 2, qos: .high), pending(2, limit: minutes(1))], running: running, nodes: full)
        #expect(Scheduler().schedule(snap2, now: t0).placement(of: 2) == nil)
    }

    @Test func donorReclaimPreemptsEverythingAndPlacesNothing() {
        var n = node(1, gpus: 4)
        n.reclaimed = true
        let running = [runningJob(100, node: 1, gpus: [0]), runningJob(101, node: 1, gpus: [1], kind: .serve, limit: nil)]
        let snap = Snapshot(pending: [pending(1)], running: running, nodes: [n])
        let plan = Scheduler().schedule(snap, now: t0)
        #expect(plan.preempted(100) == .donorReclaim)
        #expect(plan.preempted(101) == .donorReclaim)
        #expect(plan.placements.isEmpty)
    }

    @Test func windowClosingPreemptsOneGracePeriodBefore() {
        // Window closes 14:00 UTC. A job whose limit runs past it is preempted from 13:55.
        let nodes = [node(1, gpus: 2, policy: windowPolicy(closeHour: 14))]
        let running = [runningJob(100, node: 1, gpus: [0], limit: hours(10)), runningJob(101, node: 1, gpus: [1], started: t0, limit: hours(1.5))]
        let snap = Snapshot(pending: [], running: running, nodes: nodes)
        #expect(Scheduler().schedule(snap, now: t0.addingTimeInterval(minutes(114))).preemptions.isEmpty)
        let plan = Scheduler().schedule(snap, now: t0.addingTimeInterval(minutes(115)))
        #expect(plan.preempted(100) == .donorWindowClosing(closesAt: t0.addingTimeInterval(hours(2))))
        #expect(plan.preempted(101) == nil)  // ends 13:30, inside the window
        // After the close, anything left is preempted as outside the window.
        let late = Scheduler().schedule(Snapshot(pending: [], running: [running[1]], nodes: nodes), now: t0.addingTimeInterval(hours(2.5)))
        #expect(late.preempted(101) == .outsideDonorWindow)
    }

    @Test func kindNoLongerAllowedIsPreempted() {
        let nodes = [node(1, gpus: 2, policy: DonorPolicy(allowedKinds: [.train]))]
        let snap = Snapshot(pending: [], running: [runningJob(100, node: 1, gpus: [0], kind: .eval)], nodes: nodes)
        #expect(Scheduler().schedule(snap, now: t0).preempted(100) == .kindNotAllowed)
    }

    @Test func fifoNeverPreemptsForPriority() {
        let running = [runningJob(100, node: 1, gpus: [0, 1, 2, 3], qos: .low)]
        let snap = Snapshot(pending: [pending(1, gpus: 2, qos: .high)], running: running, nodes: full)
        #expect(Scheduler(policy: .fifo).schedule(snap, now: t0).preemptions.isEmpty)
    }
}

@Suite struct PlanCodingTests {
    /// The daemon may store or log plans as JSON: they round-trip.
    @Test func planRoundTripsThroughJSON() throws {
        let running = [runningJob(100, node: 1, gpus: [0, 1], qos: .low)]
        let snap = Snapshot(pending: [pending(1, gpus: 2, qos: .high), pending(2, gpus: 2)], running: running, nodes: [node(1, gpus: 4)])
        let plan = Scheduler().schedule(snap, now: t0)
        #expect(!plan.decisions.isEmpty)
        let decoded = try JSONDecoder().decode(Plan.self, from: JSONEncoder().encode(plan))
        #expect(decoded == plan)
    }
}

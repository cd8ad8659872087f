import Foundation
import HearthCore
import Testing
@testable import HearthScheduler

@Suite struct ExplainTests {
    func reason(_ job: Int64, _ snap: Snapshot, now: Date = t0) -> PendingReason? {
        Scheduler().explain(job: job, in: snap, now: now)?.reason
    }

    @Test func reasons() {
        let nodes = [node(1, gpus: 4)]
        #expect(reason(1, Snapshot(pending: [pending(1)], nodes: nodes)) == .startingNow(nodeID: 1))
        #expect(reason(1, Snapshot(pending: [pending(1, gpus: 8)], nodes: nodes)) == .unsatisfiable)
        #expect(reason(1, Snapshot(pending: [pending(1, model: "H100")], nodes: nodes)) == .unsatisfiable)
        #expect(reason(1, Snapshot(pending: [pending(1, afterOK: [9])], nodes: nodes)) == .dependencyPending(jobIDs: [9]))
        #expect(reason(1, Snapshot(pending: [pending(1, afterOK: [9])], nodes: nodes, dependencyStates: [9: .cancelled]))
            == .dependencyNeverSatisfied(jobIDs: [9]))
        let serveOnly = [node(1, gpus: 4, policy: DonorPolicy(allowedKinds: [.train]))]
        #expect(reason(1, Snapshot(pending: [pending(1, kind: .eval)], nodes: serveOnly)) == .kindNotAllowed)
        let windowed = [node(1, gpus: 4, policy: windowPolicy(closeHour: 14))]
        #expect(reason(1, Snapshot(pending: [pending(1)], nodes: windowed), now: t0.addingTimeInterval(hours(4))) == .outsideDonorWindow)
        let reserved = [node(1, gpus: 1, policy: DonorPolicy(donorAccounts: [5], reservedGPUsForDonor: 1))]
        #expect(reason(1, Snapshot(pending: [pending(1)], nodes: reserved)) == .donorReserved)
        let busy = Snapshot(pending: [pending(1)], running: [runningJob(100, node: 1, gpus: [0, 1, 2, 3])], nodes: nodes)
        #expect(reason(1, busy) == .noCapacity)
    }

    @Test func behindReservationNamesTheBlockerAndExpectedStart() throws {
        let running = [runningJob(100, node: 1, gpus: Array(0..<6), qos: .high, limit: hours(3))]
        let snap = Snapshot(pending: [pending(1, gpus: 8, qos: .high), pending(2, limit: hours(5))], running: running, nodes: [node(1, gpus: 8)])
        let e2 = try #require(Scheduler().explain(job: 2, in: snap, now: t0))
        #expect(e2.reason == .behindReservation(jobIDs: [1]))
        #expect(e2.rank == 2)
        let e1 = try #require(Scheduler().explain(job: 1, in: snap, now: t0))
        #expect(e1.expectedStart == t0.addingTimeInterval(hours(2)))
        #expect(e1.expectedNode == 1)
        let text = e1.render(now: t0)
        #expect(text.contains("fairshare"))
        #expect(text.contains("expected start"))
        #expect(abs(e1.factors.priority - (e1.factors.age * 1000 + e1.factors.fairShare * 10_000 + e1.factors.size * 100 + e1.factors.qos * 2000)) < 1e-9)
    }

    @Test func strictOrderAndPreemptionReasons() throws {
        let running = [runningJob(100, node: 1, gpus: [0, 1, 2, 3], qos: .low)]
        let snap = Snapshot(pending: [pending(1, gpus: 4, submitted: t0.addingTimeInterval(-120)), pending(2)], running: running, nodes: [node(1, gpus: 4)])
        #expect(Scheduler(policy: .fifo).explain(job: 2, in: snap, now: t0)?.reason == .behindHigherPriority(jobID: 1))
        let snap2 = Snapshot(pending: [pending(1, gpus: 4, qos: .high)], running: running, nodes: [node(1, gpus: 4)])
        #expect(Scheduler().explain(job: 1, in: snap2, now: t0)?.reason == .waitingForPreemption(jobIDs: [100]))
        #expect(Scheduler().explain(job: 99, in: snap2, now: t0) == nil)
    }

    @Test func jobWaitingForADonorWindowGetsItsOpeningAsExpectedStart() throws {
        // Window 19:00–08:00 UTC; now 12:00: closed, opens in 7 hours.
        let nodes = [node(1, gpus: 4, policy: windowPolicy(openHour: 19, closeHour: 8))]
        let snap = Snapshot(pending: [pending(1, gpus: 2, limit: hours(3)), pending(2, gpus: 2, kind: .serve, limit: hours(20))], nodes: nodes)
        let e = try #require(Scheduler().explain(job: 1, in: snap, now: t0))
        #expect(e.reason == .outsideDonorWindow)
        #expect(e.expectedStart == t0.addingTimeInterval(hours(7)))
        // A serving job longer than the window never fits it: no expected start.
        let s = try #require(Scheduler().explain(job: 2, in: snap, now: t0))
        #expect(s.reason == .outsideDonorWindow)
        #expect(s.expectedStart == nil)
        #expect(Scheduler().schedule(snap, now: t0).placements.isEmpty)
    }
}

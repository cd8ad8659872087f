import Foundation
import HearthCore
import Testing
@testable import HearthScheduler

/// Locality (Snapshot.inputLocality): among nodes equally good for a job, the one whose cache
/// holds more bytes of its inputs; never a reason to break bin-packing, priority or donor policy.
@Suite struct LocalityTests {
    @Test func amongEqualNodesTheOneHoldingTheInputsWins() throws {
        let nodes = [node(1, gpus: 2), node(2, gpus: 2), node(3, gpus: 2)]
        let plain = Snapshot(pending: [pending(1)], nodes: nodes)
        #expect(Scheduler().schedule(plain, now: t0).placement(of: 1)?.node == 1, "without locality: snapshot order")
        let local = Snapshot(pending: [pending(1)], nodes: nodes, inputLocality: [1: [2: 10_000, 3: 45_000_000]])
        #expect(Scheduler().schedule(local, now: t0).placement(of: 1)?.node == 3, "the node holding the most bytes")
    }

    @Test func aPerfectFitFoundFirstStillLosesToAnEqualFitHoldingTheInputs() throws {
        // Both nodes are exactly full after the job (leftover 0), of different sizes: equally
        // good (without locality the first found wins), so the one holding the inputs wins.
        let running = [runningJob(100, node: 2, gpus: [0, 1, 2])]
        let nodes = [node(1, gpus: 1), node(2, gpus: 4)]
        #expect(Scheduler().schedule(Snapshot(pending: [pending(1)], running: running, nodes: nodes), now: t0).placement(of: 1)?.node == 1)
        let snap = Snapshot(pending: [pending(1)], running: running, nodes: nodes, inputLocality: [1: [2: 1]])
        #expect(Scheduler().schedule(snap, now: t0).placement(of: 1)?.node == 2)
    }

    @Test func worseBinPackingIsNotOutweighedByCachedInputs() throws {
        // Node 2 holds the dataset but would be left with 3 free GPUs; node 1 is filled exactly.
        let running = [runningJob(100, node: 1, gpus: [0, 1, 2])]
        let snap = Snapshot(pending: [pending(1)], running: running, nodes: [node(1, gpus: 4), node(2, gpus: 4)],
                            inputLocality: [1: [2: 1_000_000_000]])
        #expect(Scheduler().schedule(snap, now: t0).placement(of: 1)?.node == 1)
        // Two nodes left with one GPU free each: the smaller goes first (the larger node's
        // GPUs free up into a bigger block), inputs or not.
        let running2 = [runningJob(100, node: 1, gpus: [0]), runningJob(101, node: 2, gpus: [0, 1, 2, 3, 4])]
        let plain = Snapshot(pending: [pending(1, gpus: 2)], running: running2, nodes: [node(2, gpus: 8), node(1, gpus: 4)])
        #expect(Scheduler().schedule(plain, now: t0).placement(of: 1)?.node == 1)
        var sizes = plain
        sizes.inputLocality = [1: [2: 1_000_000_000]]
        #expect(Scheduler().schedule(sizes, now: t0).placement(of: 1)?.node == 1)
    }

    @Test func priorityOrderIsUntouched() throws {
        // One free GPU, on the node holding job 2's inputs: the higher-priority job 1 takes it.
        let running = [runningJob(100, node: 1, gpus: [0])]
        let first = pending(1, submitted: t0.addingTimeInterval(-hours(5)))
        let second = pending(2, submitted: t0.addingTimeInterval(-60))
        let snap = Snapshot(pending: [second, first], running: running, nodes: [node(1, gpus: 1), node(2, gpus: 1)],
                            inputLocality: [2: [2: 1_000_000_000]])
        let plan = Scheduler().schedule(snap, now: t0)
        #expect(plan.placement(of: 1)?.node == 2)
        #expect(plan.placement(of: 2) == nil)
    }

    @Test func donorPolicyIsUntouched() throws {
        // Node 2 holds the inputs but its donor keeps both GPUs for their own account (7).
        let reserved = DonorPolicy(donorAccounts: [7], reservedGPUsForDonor: 2)
        let snap = Snapshot(pending: [pending(1, account: 1)], nodes: [node(1, gpus: 2), node(2, gpus: 2, policy: reserved)],
                            inputLocality: [1: [2: 1_000_000_000]])
        #expect(Scheduler().schedule(snap, now: t0).placement(of: 1)?.node == 1)
        // A kind the donor refuses is refused whatever the node holds.
        let trainOnly = DonorPolicy(allowedKinds: [.eval])
        let kinds = Snapshot(pending: [pending(1, kind: .train)], nodes: [node(1, gpus: 2), node(2, gpus: 2, policy: trainOnly)],
                             inputLocality: [1: [2: 1_000_000_000]])
        #expect(Scheduler().schedule(kinds, now: t0).placement(of: 1)?.node == 1)
    }
}

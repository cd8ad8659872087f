import HearthCore
import Foundation
import Testing
@testable import HearthScheduler

@Suite struct PriorityTests {
    @Test func fairShareIsOneWithoutUsageAndHalfAtExactShare() {
        let jobs = [pending(1, account: 1, project: 1), pending(2, account: 2, project: 2)]
        var snap = Snapshot(pending: jobs, nodes: [node(1, gpus: 1)])
        let fresh = Scheduler().fairShare(in: snap)
        #expect(fresh[Association(projectID: 1, accountID: 1)]?.factor == 1)
        // Each project used exactly its half: factor 2^-1.
        snap.usage = UsageSnapshot(usage: [Association(projectID: 1, accountID: 1): 50, Association(projectID: 2, accountID: 2): 50], at: t0)
        let even = Scheduler().fairShare(in: snap)
        #expect(abs((even[Association(projectID: 1, accountID: 1)]?.factor ?? 0) - 0.5) < 1e-12)
    }

    @Test func heavierUserGetsLowerFactorAndRanksBehind() {
        let jobs = [pending(1, account: 1, project: 1), pending(2, account: 2, project: 2)]
        let usage = UsageSnapshot(usage: [Association(projectID: 1, accountID: 1): 900, Association(projectID: 2, accountID: 2): 100], at: t0)
        let snap = Snapshot(pending: jobs, nodes: [node(1, gpus: 1)], usage: usage)
        let order = Scheduler().priorities(in: snap, now: t0)
        #expect(order.map(\.jobID) == [2, 1])
        #expect(order[0].factors.fairShare > order[1].factors.fairShare)
    }

    @Test func sharesWithinAProjectSplitItsPart() {
        // Project 1 has accounts 1 (3 shares) and 2 (1 share).
        let shares = ShareTree(accountShares: [Association(projectID: 1, accountID: 1): 3, Association(projectID: 1, accountID: 2): 1])
        let snap = Snapshot(pending: [pending(1, account: 1), pending(2, account: 2)], nodes: [], shares: shares)
        let fs = Scheduler().fairShare(in: snap)
        #expect(abs((fs[Association(projectID: 1, accountID: 1)]?.normalizedShares ?? 0) - 0.75) < 1e-12)
        #expect(abs((fs[Association(projectID: 1, accountID: 2)]?.normalizedShares ?? 0) - 0.25) < 1e-12)
    }

    @Test func qosAgeAndSizeRaisePriority() {
        let old = pending(1, submitted: t0.addingTimeInterval(-hours(72)))
        let young = pending(2, submitted: t0)
        let high = pending(3, qos: .high, submitted: t0)
        let big = pending(4, gpus: 8, submitted: t0)
        let snap = Snapshot(pending: [young, old, high, big], nodes: [node(1, gpus: 8)])
        let p = Dictionary(uniqueKeysWithValues: Scheduler().priorities(in: snap, now: t0).map { ($0.jobID, $0.factors.priority) })
        #expect(p[1]! > p[2]!)
        #expect(p[3]! > p[2]!)
        #expect(p[4]! > p[2]!)
    }

    @Test func fifoOrdersBySubmitTimeOnly() {
        let usage = UsageSnapshot(usage: [Association(projectID: 1, accountID: 1): 1e9], at: t0)
        let snap = Snapshot(pending: [pending(2, account: 2, qos: .high, submitted: t0), pending(1, account: 1, submitted: t0.addingTimeInterval(-5))],
            nodes: [], usage: usage)
        #expect(Scheduler(policy: .fifo).priorities(in: snap, now: t0).map(\.jobID) == [1, 2])
    }

    @Test func oldestStarvedJobGoesFirst() throws {
        // Account 1 used a lot: its 3-day-old 8-GPU job ranks last by priority, yet it is
        // the oldest job past the starvation age, so it is placed first.
        let usage = UsageSnapshot(usage: [Association(projectID: 1, accountID: 1): 1e9, Association(projectID: 2, accountID: 2): 1], at: t0)
        let jobs = [pending(1, account: 1, project: 1, gpus: 8, submitted: t0.addingTimeInterval(-hours(72))),
                    pending(2, account: 2, project: 2, gpus: 4, submitted: t0.addingTimeInterval(-hours(1)))]
        let snap = Snapshot(pending: jobs, nodes: [node(1, gpus: 8)], usage: usage)
        var on = SchedulerPolicy.default
        on.starvationAge = hours(48)
        #expect(Scheduler(policy: on).priorities(in: snap, now: t0).map(\.jobID) == [2, 1])
        #expect(Scheduler(policy: on).schedule(snap, now: t0).placements.map(\.job) == [1])
        let e = try #require(Scheduler(policy: on).explain(job: 1, in: snap, now: t0))
        #expect(e.rank == 1 && e.starvationBoost)
        // Off by default.
        #expect(Scheduler().schedule(snap, now: t0).placements.map(\.job) == [2])
    }
}

import HearthCore
import Foundation

/// The scheduling core: a pure function from a `Snapshot` and the time to decisions.
///
/// No I/O, no clock, no randomness: the same snapshot and `now` give the same plan, so the
/// daemon can run it in its loop, the simulator at fleet scale, and the tests exhaustively.
///
/// One pass:
/// 1. Marks the GPUs of running jobs busy and preempts those a donor wants gone (reclaim,
///    kind no longer allowed, outside the window, or the window closes within one grace
///    period and the job's time limit runs past it).
/// 2. Orders pending jobs by multifactor priority (or submit time for FIFO).
/// 3. Walks the queue: places each job by best fit if it fits now without touching GPUs
///    reserved for a job ahead of it (backfill); otherwise may preempt lower-QOS jobs for
///    it, or reserves the earliest GPUs it can get (until `maxReservations` are made),
///    which later jobs may only use if their time limit ends before.
public struct Scheduler: Sendable {
    /// Weights, limits and switches of every pass (see `SchedulerPolicy` for defaults).
    public var policy: SchedulerPolicy

    /// A scheduler with `policy` (default: `SchedulerPolicy.default`).
    public init(policy: SchedulerPolicy = .default) {
        self.policy = policy
    }

    /// One full pass over `snapshot` at `now`.
    public func schedule(_ snapshot: Snapshot, now: Date) -> Plan {
        var pass = Pass(policy: policy, snapshot: snapshot, now: now)
        return pass.run()
    }

    /// Priority factors of every pending job at `now`, in the pass's order (highest first).
    public func priorities(in snapshot: Snapshot, now: Date) -> [(jobID: Int64, factors: PriorityFactors)] {
        let calc = PriorityCalculator(policy: policy, snapshot: snapshot, now: now)
        return calc.order(snapshot.pending).map { i in
            (snapshot.pending[i].id, calc.factors(snapshot.pending[i]))
        }
    }

    /// Fair-share details per association at `now` (like `sshare`).
    public func fairShare(in snapshot: Snapshot) -> [Association: FairShareDetail] {
        FairShareTable(snapshot: snapshot).details
    }

    /// Why pending job `job` has the priority it has, and why it is (not) starting: runs
    /// the same pass as `schedule` and records what happened to that job. `nil` when the
    /// job is not in `snapshot.pending`.
    public func explain(job: Int64, in snapshot: Snapshot, now: Date) -> PriorityExplanation? {
        guard snapshot.pending.contains(where: { $0.id == job }) else { return nil }
        return explanations(Trace(jobs: [job], limit: 0), in: snapshot, now: now).first
    }

    /// Explanations for the first `limit` pending jobs in pass order (default 1,000), from
    /// one traced pass: what a `squeue`-style listing with a REASON column needs.
    public func explainQueue(in snapshot: Snapshot, now: Date, limit: Int = 1_000) -> [PriorityExplanation] {
        explanations(Trace(jobs: nil, limit: limit), in: snapshot, now: now)
    }

    private func explanations(_ trace: Trace, in snapshot: Snapshot, now: Date) -> [PriorityExplanation] {
        var pass = Pass(policy: policy, snapshot: snapshot, now: now, trace: trace)
        _ = pass.run()
        guard let t = pass.trace else { return [] }
        let calc = PriorityCalculator(policy: policy, snapshot: snapshot, now: now)
        let jobs = Dictionary(snapshot.pending.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        return t.rank.sorted { $0.value < $1.value }.compactMap { id, rank -> PriorityExplanation? in
            guard let pj = jobs[id] else { return nil }
            let assoc = Association(projectID: pj.projectID, accountID: pj.accountID)
            let r = t.reservation[id]
            var e = PriorityExplanation(
                jobID: id, factors: calc.factors(pj), policy: policy, fairShare: calc.fairShare.details[assoc],
                rank: rank, queueLength: snapshot.pending.count, reason: t.reason[id] ?? .passLimit,
                expectedStart: r?.at, expectedNode: r?.node)
            e.starvationBoost = pass.starved == id
            return e
        }
    }
}

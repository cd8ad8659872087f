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
///    it, or reserves the earliest GPUs it can get (for the first `maxReservations`
///    blocked jobs), which later jobs may only use if their time limit ends before.
public struct Scheduler: Sendable {
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
        guard let pj = snapshot.pending.first(where: { $0.id == job }) else { return nil }
        var pass = Pass(policy: policy, snapshot: snapshot, now: now, traceJob: job)
        _ = pass.run()
        let calc = PriorityCalculator(policy: policy, snapshot: snapshot, now: now)
        let trace = pass.trace ?? Trace(jobID: job)
        let assoc = Association(projectID: pj.projectID, accountID: pj.accountID)
        return PriorityExplanation(
            jobID: job, factors: calc.factors(pj), policy: policy,
            fairShare: calc.fairShare.details[assoc],
            rank: trace.rank ?? 0, queueLength: snapshot.pending.count,
            reason: trace.reason ?? .passLimit,
            expectedStart: trace.reservation?.at, expectedNode: trace.reservation?.node)
    }
}

import HearthCore
import Foundation

/// Knobs of the scheduler. Every default is the value used by the daemon unless its
/// configuration says otherwise; Docs/scheduler.md explains each.
public struct SchedulerPolicy: Sendable, Hashable, Codable {
    /// How pending jobs are ordered.
    public enum Ordering: String, Sendable, Hashable, Codable {
        /// Multifactor priority (age, fair share, size, QOS), like Slurm's priority/multifactor.
        case multifactor
        /// Submit time only, oldest first (the baseline the simulator compares against).
        case fifo
    }

    public var ordering: Ordering = .multifactor
    /// Weight of the age factor (0…1, reaches 1 at `maxAge`). Default 1,000.
    public var ageWeight: Double = 1_000
    /// Weight of the fair-share factor (0…1). Default 10,000: fair share dominates.
    public var fairShareWeight: Double = 10_000
    /// Weight of the job-size factor (GPUs / largest node). Default 100: a tie-breaker
    /// toward large jobs. Reservations, not priority, are what keep large jobs from
    /// starving; a large size weight would shift fair share's equilibrium toward accounts
    /// with large jobs (by about sizeWeight × Δsize / fairShareWeight in the factor).
    public var sizeWeight: Double = 100
    /// Weight of the QOS factor (`QOS.factor`). Default 2,000.
    public var qosWeight: Double = 2_000
    /// Weight of the submitter's own priority, as `userPriority / 1000` in [−1, 1] (like
    /// Slurm's nice). Default 500: at most ±500 points, less than one QOS step; the daemon
    /// may want to let only admins set positive values.
    public var userPriorityWeight: Double = 500
    /// Age at which the age factor saturates. Default 7 days.
    public var maxAge: TimeInterval = 7 * 86_400
    /// Half-life of usage decay for fair share. Default 7 days. The daemon must use the
    /// same value when it builds the `UsageSnapshot`.
    public var usageHalfLife: TimeInterval = 7 * 86_400

    /// Place jobs behind the first one that cannot start (backfill). Default `true`.
    /// `false` is strict FIFO/priority order: the pass stops at the first blocked job.
    public var backfill: Bool = true
    /// How many blocked jobs, highest priority first, get a reservation that backfill must
    /// not delay. Default 8.
    public var maxReservations: Int = 8
    /// Stop after looking at this many pending jobs (Slurm's `bf_max_job_test`). Default
    /// `Int.max` (all).
    public var maxJobsPerPass: Int = .max

    /// Allow a pending job to preempt preemptible jobs of a strictly lower QOS tier.
    /// Default `true`.
    public var priorityPreemption: Bool = true
    /// How many blocked jobs per pass may trigger priority preemption. Default 4.
    public var maxPreemptorsPerPass: Int = 4
    /// Seconds a preempted worker has between SIGTERM and SIGKILL to write its checkpoint.
    /// Default 300.
    public var preemptionGrace: TimeInterval = 300
    /// A job preempted this many times is never again chosen as a victim of priority
    /// preemption, and is placed only where it can finish inside the donor window. It can
    /// still lose its node to a donor reclaim. Default 3.
    public var maxPreemptionsPerJob: Int = 3
    /// A job that started less than this long ago is not a victim of priority preemption
    /// (it has had no chance to make progress). Default 600 s.
    public var minRunBeforePreemption: TimeInterval = 600
    /// A preemptible job is placed in a closing donor window only if it gets at least this
    /// much run time before it must start checkpointing. Default 900 s.
    public var minUsefulRun: TimeInterval = 900
    /// Anti-starvation: the single oldest pending job that has waited longer than this goes
    /// first in the pass (it starts, or gets the first reservation), whatever its priority.
    /// One job at a time, so fair share still orders everything else. Default `nil` (off):
    /// in the overloaded simulation 48 h cut the p99 wait from 72 h to 48 h but lowered
    /// Jain's index from 0.98 to 0.92 and left more jobs unstarted (Docs/BENCHMARKS.md).
    public var starvationAge: TimeInterval? = nil

    public init() {}

    /// The default multifactor scheduler with backfill, reservations and preemption.
    public static let `default` = SchedulerPolicy()

    /// Plain first-come, first-served: submit order, no backfill, no priority preemption
    /// (donor windows and reclaims are still honoured: they are the donor's, not ours).
    public static var fifo: SchedulerPolicy {
        var p = SchedulerPolicy()
        p.ordering = .fifo
        p.backfill = false
        p.maxReservations = 0
        p.priorityPreemption = false
        p.starvationAge = nil
        return p
    }
}

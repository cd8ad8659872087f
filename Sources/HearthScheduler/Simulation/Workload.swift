import HearthCore
import Foundation

/// One job of a synthetic workload: what a user submits, and how long it really runs.
public struct SimJobSpec: Sendable, Hashable {
    public var id: Int64
    public var accountID: Int64
    public var projectID: Int64
    public var kind: JobKind
    public var qos: QOS
    public var gpus: GPURequest
    public var submitAt: Date
    /// Seconds of work on its GPUs (the real duration if never preempted).
    public var work: TimeInterval
    /// The user's time limit (≥ `work`): users over-estimate, as in every trace.
    public var timeLimit: TimeInterval
    public var afterOK: [Int64] = []
}

/// An account of the synthetic workload.
public struct SimAccount: Sendable, Hashable {
    public var id: Int64
    public var projectID: Int64
    /// Fair-share shares of the account inside its project.
    public var shares: Double
    /// Mean seconds between submissions (open-loop Poisson arrivals), or, for a
    /// closed-loop account, `nil`.
    public var meanInterarrival: TimeInterval?
    /// Closed loop: keeps this many jobs pending at all times ("submits without pause").
    public var backlog: Int?
    /// GPUs per job: `nil` draws from the Philly-like size mix.
    public var fixedGPUs: Int?
    /// Multiplies the drawn durations.
    public var durationScale: Double = 1
    /// Share of this account's jobs submitted with QOS `high`.
    public var highQOSFraction: Double = 0
    /// Caps drawn durations (seconds); `nil` keeps the distribution's 3-day cap.
    public var maxDuration: TimeInterval? = nil

    public init(id: Int64, projectID: Int64, shares: Double = 1, meanInterarrival: TimeInterval? = nil,
        backlog: Int? = nil, fixedGPUs: Int? = nil, durationScale: Double = 1, highQOSFraction: Double = 0) {
        self.id = id
        self.projectID = projectID
        self.shares = shares
        self.meanInterarrival = meanInterarrival
        self.backlog = backlog
        self.fixedGPUs = fixedGPUs
        self.durationScale = durationScale
        self.highQOSFraction = highQOSFraction
    }
}

/// Job-size and duration distributions shaped after published GPU-cluster traces
/// (Microsoft Philly, Jeon et al., USENIX ATC 2019: most jobs use one GPU, multi-GPU jobs
/// are few but run longer and take most GPU-hours; durations span minutes to days). The
/// numbers below are this project's own choice within that shape, not fitted values.
public enum PhillyLikeDistribution {
    /// GPUs per job: 1 (70 %), 2 (12 %), 4 (10 %), 8 (8 %).
    public static let sizeMix: [(Int, Double)] = [(1, 0.70), (2, 0.12), (4, 0.10), (8, 0.08)]

    /// Log-normal duration: median 20 min for one GPU, ×2 per doubling of GPUs, σ = 1.5,
    /// clamped to [1 min, 3 days].
    public static func duration(gpus: Int, using rng: inout SeededGenerator) -> TimeInterval {
        let median = 1_200 * pow(2, log2(Double(max(gpus, 1))))
        return min(max(rng.logNormal(median: median, sigma: 1.5), 60), 3 * 86_400)
    }

    /// Users' time limits: 1.2–3× the real duration, rounded up to 10 minutes.
    public static func timeLimit(work: TimeInterval, using rng: inout SeededGenerator) -> TimeInterval {
        let raw = work * (1.2 + 1.8 * rng.unit())
        return (raw / 600).rounded(.up) * 600
    }

    /// Kinds: training 85 %, evaluation 15 % (serving is added explicitly by scenarios).
    public static let kindMix: [(JobKind, Double)] = [(.train, 0.85), (.eval, 0.15)]
}

/// Draws job specs for accounts.
public struct WorkloadGenerator: Sendable {
    public var rng: SeededGenerator
    public var nextID: Int64 = 1

    public init(seed: UInt64) { rng = SeededGenerator(seed: seed) }

    /// One job for `account` submitted at `t`.
    public mutating func job(for account: SimAccount, at t: Date) -> SimJobSpec {
        let gpus = account.fixedGPUs ?? rng.pick(PhillyLikeDistribution.sizeMix)
        let kind = rng.pick(PhillyLikeDistribution.kindMix)
        var work = PhillyLikeDistribution.duration(gpus: gpus, using: &rng) * account.durationScale
        if kind == .eval { work = min(work, 3_600) }
        if let cap = account.maxDuration { work = min(work, cap) }
        let limit = PhillyLikeDistribution.timeLimit(work: work, using: &rng)
        let qos: QOS = rng.unit() < account.highQOSFraction ? .high : .normal
        defer { nextID += 1 }
        return SimJobSpec(id: nextID, accountID: account.id, projectID: account.projectID, kind: kind, qos: qos,
            gpus: GPURequest(count: gpus), submitAt: t, work: work, timeLimit: limit)
    }

    /// Open-loop arrivals of every account with a `meanInterarrival` over [start, end).
    public mutating func openLoopArrivals(accounts: [SimAccount], start: Date, end: Date) -> [SimJobSpec] {
        var jobs: [SimJobSpec] = []
        for a in accounts {
            guard let mean = a.meanInterarrival else { continue }
            var t = start.addingTimeInterval(rng.exponential(mean: mean))
            while t < end {
                jobs.append(job(for: a, at: t))
                t = t.addingTimeInterval(rng.exponential(mean: mean))
            }
        }
        jobs.sort { ($0.submitAt, $0.id) < ($1.submitAt, $1.id) }
        return jobs
    }
}

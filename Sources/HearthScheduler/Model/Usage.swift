import Foundation

/// An account charging a project: the leaf of the two-level fair-share tree.
public struct Association: Sendable, Hashable, Codable {
    public var projectID: Int64
    public var accountID: Int64
    public init(projectID: Int64, accountID: Int64) {
        self.projectID = projectID
        self.accountID = accountID
    }
}

/// Shares: how much of the fleet each project is entitled to, and how a project's part is
/// split among its accounts. Missing entries count as 1 share.
public struct ShareTree: Sendable, Hashable, Codable {
    public var projectShares: [Int64: Double]
    public var accountShares: [Association: Double]

    public init(projectShares: [Int64: Double] = [:], accountShares: [Association: Double] = [:]) {
        self.projectShares = projectShares
        self.accountShares = accountShares
    }

    public func shares(project: Int64) -> Double { max(projectShares[project] ?? 1, 0) }
    public func shares(_ a: Association) -> Double { max(accountShares[a] ?? 1, 0) }
}

/// One allocation-ledger row: `gpus` GPUs held from `start` to `end` (`nil` = still open).
public struct LedgerInterval: Sendable, Hashable, Codable {
    public var accountID: Int64
    public var projectID: Int64
    public var gpus: Int
    public var start: Date
    public var end: Date?

    public init(accountID: Int64, projectID: Int64, gpus: Int, start: Date, end: Date?) {
        self.accountID = accountID
        self.projectID = projectID
        self.gpus = gpus
        self.start = start
        self.end = end
    }
}

/// Decayed GPU-seconds per association at one instant.
///
/// A GPU-second used `a` seconds before `at` counts `2^(-a / halfLife)`. Build it from the
/// ledger with `init(ledger:now:halfLife:)`, or keep one and roll it forward with
/// `advanced(to:halfLife:)` + `add(_:halfLife:)`; both give the same numbers.
public struct UsageSnapshot: Sendable, Hashable, Codable {
    /// Decayed GPU-seconds per association, valid at `at`.
    public var usage: [Association: Double]
    /// The instant the values are decayed to.
    public var at: Date

    public init(usage: [Association: Double] = [:], at: Date) {
        self.usage = usage
        self.at = at
    }

    /// Sums the decayed usage of every ledger row at `now`. Rows (or their parts) after
    /// `now` are ignored; open rows count up to `now`.
    public init(ledger: [LedgerInterval], now: Date, halfLife: TimeInterval) {
        self.init(at: now)
        for row in ledger { add(row, halfLife: halfLife) }
    }

    /// Adds one ledger row's GPU-seconds decayed to `at` (the part after `at` is ignored;
    /// an open row counts up to `at`). Advance first (`advanced(to:halfLife:)`) to charge
    /// newer usage.
    public mutating func add(_ row: LedgerInterval, halfLife: TimeInterval) {
        let end = min(row.end ?? at, at)
        let v = UsageDecay.decayedGPUSeconds(gpus: row.gpus, start: row.start, end: end, now: at, halfLife: halfLife)
        guard v > 0 else { return }
        usage[Association(projectID: row.projectID, accountID: row.accountID), default: 0] += v
    }

    /// The same usage decayed forward to `later`.
    public func advanced(to later: Date, halfLife: TimeInterval) -> UsageSnapshot {
        let f = UsageDecay.factor(elapsed: later.timeIntervalSince(at), halfLife: halfLife)
        return UsageSnapshot(usage: usage.mapValues { $0 * f }, at: later)
    }

    /// Decayed usage of one project (sum over its accounts).
    public func projectUsage(_ projectID: Int64) -> Double {
        usage.reduce(0) { $1.key.projectID == projectID ? $0 + $1.value : $0 }
    }
}

/// The exponential-decay arithmetic, kept apart so the daemon can use it in SQL-side code.
public enum UsageDecay {
    /// `2^(-elapsed / halfLife)`; 1 when `halfLife` is not positive or infinite (no decay).
    public static func factor(elapsed: TimeInterval, halfLife: TimeInterval) -> Double {
        guard halfLife > 0, halfLife.isFinite else { return 1 }
        return exp2(-max(elapsed, 0) / halfLife)
    }

    /// ∫ gpus · 2^(-(now - t)/h) dt over [start, end], i.e. GPU-seconds decayed to `now`.
    public static func decayedGPUSeconds(
        gpus: Int, start: Date, end: Date, now: Date, halfLife: TimeInterval
    ) -> Double {
        let s = start.timeIntervalSince(now), e = min(end, now).timeIntervalSince(now)  // both ≤ 0
        guard e > s, gpus > 0 else { return 0 }
        guard halfLife > 0, halfLife.isFinite else { return Double(gpus) * (e - s) }
        let lambda = M_LN2 / halfLife
        // ∫_s^e e^{λt} dt = (e^{λe} − e^{λs}) / λ
        return Double(gpus) * (exp(lambda * e) - exp(lambda * s)) / lambda
    }
}

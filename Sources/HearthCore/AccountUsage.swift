#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An account's own usage and fair-share standing (`hearth usage`, like Slurm's `sshare`).
public struct AccountUsage: Sendable, Hashable, Codable {
    /// The API's snake_case names (Docs/api/openapi.yaml).
    enum CodingKeys: String, CodingKey {
        case account
        case halfLifeSeconds = "half_life_seconds"
        case report
        case standings
    }

    /// One (project, account) association's standing, as the scheduler computes it.
    public struct Standing: Sendable, Hashable, Codable {
        /// The API's snake_case names (Docs/api/openapi.yaml).
        enum CodingKeys: String, CodingKey {
            case project
            case normalizedShares = "normalized_shares"
            case decayedGPUHours = "decayed_gpu_hours"
            case normalizedUsage = "normalized_usage"
            case effectiveUsage = "effective_usage"
            case fairShareFactor = "fair_share_factor"
        }

        /// `nil` for jobs submitted without a project.
        public var project: String?
        /// The association's part of the fleet it is entitled to, in [0, 1].
        public var normalizedShares: Double
        /// GPU-hours decayed with the scheduler's half-life.
        public var decayedGPUHours: Double
        /// Its decayed usage ÷ everyone's, in [0, 1].
        public var normalizedUsage: Double
        /// Usage pulled toward the project's.
        public var effectiveUsage: Double
        /// 2^(−effective usage ÷ shares): 1 with no usage, 0.5 at exactly one's share.
        public var fairShareFactor: Double

        public init(project: String?, normalizedShares: Double, decayedGPUHours: Double, normalizedUsage: Double,
                    effectiveUsage: Double, fairShareFactor: Double) {
            self.project = project
            self.normalizedShares = normalizedShares
            self.decayedGPUHours = decayedGPUHours
            self.normalizedUsage = normalizedUsage
            self.effectiveUsage = effectiveUsage
            self.fairShareFactor = fairShareFactor
        }
    }

    public var account: String
    /// The decay half-life, in seconds.
    public var halfLifeSeconds: Double
    /// The account's usage over the requested range (an account report).
    public var report: UsageReport
    public var standings: [Standing]

    public init(account: String, halfLifeSeconds: Double, report: UsageReport, standings: [Standing]) {
        self.account = account
        self.halfLifeSeconds = halfLifeSeconds
        self.report = report
        self.standings = standings
    }
}

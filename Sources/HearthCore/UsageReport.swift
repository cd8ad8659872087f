#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A usage report over a time range: ledger rows clipped to the range and split by period, and
/// the availability of the nodes in scope. Built by the store, rendered by `HearthReports`.
///
/// Every figure is a sum over ledger (`allocations`) or availability (`node_availability`) rows;
/// nothing is sampled or estimated, except energy explicitly marked `estimated`.
public struct UsageReport: Sendable, Hashable, Codable {
    /// The API's snake_case names (Docs/api/openapi.yaml).
    enum CodingKeys: String, CodingKey {
        case scope
        case subject
        case from
        case to
        case period
        case timeZone = "time_zone"
        case generatedAt = "generated_at"
        case usage
        case availability
        case totals
        case ledgerHeads = "ledger_heads"
    }

    /// What the report covers.
    public enum Scope: String, Sendable, Hashable, Codable, CaseIterable {
        /// The nodes one donor lends (their GPU-hours offered and used).
        case donor
        /// The jobs of one project.
        case project
        /// The jobs of one account.
        case account
        /// Everything (admins).
        case fleet
    }

    /// The length of one period (row group) of the report.
    public enum Period: String, Sendable, Hashable, Codable, CaseIterable {
        case day, week, month
    }

    public var scope: Scope
    /// The donor, project or account name; `nil` for the fleet.
    public var subject: String?
    /// Start of the range (inclusive).
    public var from: Date
    /// End of the range (exclusive); ranges reaching into the future stop at ``generatedAt``.
    public var to: Date
    public var period: Period
    /// The IANA time zone periods are cut in (`Europe/Berlin`, `UTC`).
    public var timeZone: String
    public var generatedAt: Date
    /// Usage per period × node × account × project.
    public var usage: [UsageRow]
    /// Availability per period × node; empty for project and account reports.
    public var availability: [NodeAvailabilityRow]
    public var totals: UsageTotals
    /// A donor report's ledger chain heads (node → the hash of its newest closed ledger row,
    /// Docs/accounting.md): a later report's chain must contain these links.
    public var ledgerHeads: [String: String]? = nil

    public init(
        scope: Scope, subject: String?, from: Date, to: Date, period: Period, timeZone: String, generatedAt: Date,
        usage: [UsageRow], availability: [NodeAvailabilityRow], totals: UsageTotals
    ) {
        self.scope = scope
        self.subject = subject
        self.from = from
        self.to = to
        self.period = period
        self.timeZone = timeZone
        self.generatedAt = generatedAt
        self.usage = usage
        self.availability = availability
        self.totals = totals
    }
}

/// Ledger rows of one period, node, account and project, clipped to the period.
public struct UsageRow: Sendable, Hashable, Codable {
    /// The API's snake_case names (Docs/api/openapi.yaml).
    enum CodingKeys: String, CodingKey {
        case periodStart = "period_start"
        case node
        case account
        case project
        case allocations
        case jobs
        case gpuSeconds = "gpu_seconds"
        case cpuSeconds = "cpu_seconds"
        case energyJoules = "energy_joules"
        case estimatedEnergyJoules = "estimated_energy_joules"
    }

    /// The period's first instant (midnight in the report's time zone).
    public var periodStart: Date
    public var node: String
    public var account: String
    /// `nil` for jobs submitted without a project.
    public var project: String?
    /// Ledger rows (job attempts) that overlap the period.
    public var allocations: Int
    /// Distinct jobs among them.
    public var jobs: Int
    /// Σ GPUs × seconds inside the period.
    public var gpuSeconds: Double
    /// Σ worker CPU seconds, prorated to the period; `nil` when no row measured it.
    public var cpuSeconds: Double?
    /// Σ measured GPU energy in joules, prorated to the period; `nil` when nothing was measured.
    public var energyJoules: Double?
    /// Σ energy estimated from nominal TDP; `nil` when none. Never added to ``energyJoules``.
    public var estimatedEnergyJoules: Double?

    public init(
        periodStart: Date, node: String, account: String, project: String?, allocations: Int, jobs: Int,
        gpuSeconds: Double, cpuSeconds: Double? = nil, energyJoules: Double? = nil, estimatedEnergyJoules: Double? = nil
    ) {
        self.periodStart = periodStart
        self.node = node
        self.account = account
        self.project = project
        self.allocations = allocations
        self.jobs = jobs
        self.gpuSeconds = gpuSeconds
        self.cpuSeconds = cpuSeconds
        self.energyJoules = energyJoules
        self.estimatedEnergyJoules = estimatedEnergyJoules
    }
}

/// How one node spent one period, from its availability intervals.
public struct NodeAvailabilityRow: Sendable, Hashable, Codable {
    /// The API's snake_case names (Docs/api/openapi.yaml).
    enum CodingKeys: String, CodingKey {
        case periodStart = "period_start"
        case node
        case upSeconds = "up_seconds"
        case drainingSeconds = "draining_seconds"
        case downSeconds = "down_seconds"
        case offeredGPUSeconds = "offered_gpu_seconds"
    }

    public var periodStart: Date
    public var node: String
    /// Seconds the node was up, draining (finishing work, taking none) or down.
    public var upSeconds: Double
    public var drainingSeconds: Double
    public var downSeconds: Double
    /// Σ GPUs × seconds while up or draining: what the donor offered.
    public var offeredGPUSeconds: Double

    public init(periodStart: Date, node: String, upSeconds: Double, drainingSeconds: Double, downSeconds: Double, offeredGPUSeconds: Double) {
        self.periodStart = periodStart
        self.node = node
        self.upSeconds = upSeconds
        self.drainingSeconds = drainingSeconds
        self.downSeconds = downSeconds
        self.offeredGPUSeconds = offeredGPUSeconds
    }
}

/// The report's totals; distinct counts are over the whole range, not sums of rows.
public struct UsageTotals: Sendable, Hashable, Codable {
    /// The API's snake_case names (Docs/api/openapi.yaml).
    enum CodingKeys: String, CodingKey {
        case allocations
        case jobs
        case accounts
        case projects
        case gpuSeconds = "gpu_seconds"
        case cpuSeconds = "cpu_seconds"
        case energyJoules = "energy_joules"
        case estimatedEnergyJoules = "estimated_energy_joules"
        case offeredGPUSeconds = "offered_gpu_seconds"
        case endReasons = "end_reasons"
    }

    public var allocations: Int
    public var jobs: Int
    /// Distinct accounts (volunteers) served.
    public var accounts: Int
    /// Distinct projects served (jobs without a project not counted).
    public var projects: Int
    public var gpuSeconds: Double
    public var cpuSeconds: Double?
    public var energyJoules: Double?
    public var estimatedEnergyJoules: Double?
    /// Σ offered GPU-seconds; `nil` for project and account reports.
    public var offeredGPUSeconds: Double?
    /// Ledger rows by end reason (`open` for rows still running).
    public var endReasons: [String: Int]

    public init(
        allocations: Int, jobs: Int, accounts: Int, projects: Int, gpuSeconds: Double, cpuSeconds: Double? = nil,
        energyJoules: Double? = nil, estimatedEnergyJoules: Double? = nil, offeredGPUSeconds: Double? = nil,
        endReasons: [String: Int] = [:]
    ) {
        self.allocations = allocations
        self.jobs = jobs
        self.accounts = accounts
        self.projects = projects
        self.gpuSeconds = gpuSeconds
        self.cpuSeconds = cpuSeconds
        self.energyJoules = energyJoules
        self.estimatedEnergyJoules = estimatedEnergyJoules
        self.offeredGPUSeconds = offeredGPUSeconds
        self.endReasons = endReasons
    }

    /// GPU-hours used ÷ GPU-hours offered, when something was offered.
    public var utilisation: Double? {
        guard let offered = offeredGPUSeconds, offered > 0 else { return nil }
        return gpuSeconds / offered
    }
}

import Foundation
import HearthCore

/// A report's rows folded the ways people read them: by period, node, project and account.
/// Every figure is a sum of the report's rows, so each view adds up to the report's totals.
public struct ReportSummary: Sendable {
    /// One line of a view: a label and its sums.
    public struct Line: Sendable, Hashable {
        public var label: String
        public var gpuSeconds: Double = 0
        /// `nil` where the report has no availability (project and account reports).
        public var offeredGPUSeconds: Double?
        public var allocations = 0
        public var energyJoules: Double?
        public var estimatedEnergyJoules: Double?

        /// Used ÷ offered, when something was offered.
        public var utilisation: Double? {
            guard let offered = offeredGPUSeconds, offered > 0 else { return nil }
            return gpuSeconds / offered
        }
    }

    public let report: UsageReport
    public let byPeriod: [Line]
    public let byNode: [Line]
    public let byProject: [Line]
    public let byAccount: [Line]
    /// GPU-seconds per period label and project label, for the stacked chart.
    public let periodProject: [String: [String: Double]]

    /// The label of jobs submitted without a project.
    public static let noProject = "(no project)"

    public init(_ report: UsageReport) {
        self.report = report
        let hasAvailability = report.scope == .donor || report.scope == .fleet
        let label = PeriodLabel(report)
        func fold(_ key: (UsageRow) -> String, offered: [String: Double]) -> [Line] {
            var lines: [String: Line] = [:]
            for (k, v) in offered { lines[k] = Line(label: k, offeredGPUSeconds: v) }
            for row in report.usage {
                let k = key(row)
                var line = lines[k] ?? Line(label: k, offeredGPUSeconds: hasAvailability ? 0 : nil)
                line.gpuSeconds += row.gpuSeconds
                line.allocations += row.allocations
                if let e = row.energyJoules { line.energyJoules = (line.energyJoules ?? 0) + e }
                if let e = row.estimatedEnergyJoules { line.estimatedEnergyJoules = (line.estimatedEnergyJoules ?? 0) + e }
                lines[k] = line
            }
            return lines.values.sorted { $0.label < $1.label }
        }
        var offeredByPeriod: [String: Double] = [:], offeredByNode: [String: Double] = [:]
        for a in report.availability {
            offeredByPeriod[label(a.periodStart), default: 0] += a.offeredGPUSeconds
            offeredByNode[a.node, default: 0] += a.offeredGPUSeconds
        }
        byPeriod = fold({ label($0.periodStart) }, offered: offeredByPeriod)
        byNode = fold({ $0.node }, offered: offeredByNode)
        byProject = fold({ $0.project ?? Self.noProject }, offered: [:])
        byAccount = fold({ $0.account }, offered: [:])
        var stacked: [String: [String: Double]] = [:]
        for row in report.usage {
            stacked[label(row.periodStart), default: [:]][row.project ?? Self.noProject, default: 0] += row.gpuSeconds
        }
        periodProject = stacked
    }
}

/// Names a period by its first day in the report's time zone: `2026-11-03`, `2026-11`.
struct PeriodLabel {
    let formatter: DateFormatter

    init(_ report: UsageReport) {
        formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: report.timeZone) ?? TimeZone(identifier: "UTC")!
        formatter.dateFormat = report.period == .month ? "yyyy-MM" : "yyyy-MM-dd"
    }

    func callAsFunction(_ date: Date) -> String { formatter.string(from: date) }
}

import Foundation
import HearthCore

extension ReportRenderer {
    /// `hearth usage`: the account's GPU-hours over the range and its fair-share standing per
    /// project, as the scheduler computes it (like Slurm's `sshare`).
    public static func usage(_ u: AccountUsage) -> String {
        var out = [title(u.report), ""]
        out.append("GPU-hours used  \(Units.hours(u.report.totals.gpuSeconds))")
        out.append("Jobs            \(u.report.totals.jobs) (\(u.report.totals.allocations) attempts)")
        out.append("")
        out.append("Fair share (usage decayed with a half-life of \(String(format: "%g", u.halfLifeSeconds / 86_400)) days):")
        var table = TextTable(["PROJECT", "NORM SHARES", "DECAYED GPU-H", "NORM USAGE", "EFFECTV USAGE", "FAIRSHARE"], numeric: [1, 2, 3, 4, 5])
        for s in u.standings {
            table.add([
                s.project ?? ReportSummary.noProject, String(format: "%.4f", s.normalizedShares),
                String(format: "%.2f", s.decayedGPUHours), String(format: "%.4f", s.normalizedUsage),
                String(format: "%.4f", s.effectiveUsage), String(format: "%.4f", s.fairShareFactor),
            ])
        }
        out.append(u.standings.isEmpty ? "  no usage and no project membership yet: fair-share factor 1 (highest)" : table.render())
        return out.joined(separator: "\n") + "\n"
    }
}

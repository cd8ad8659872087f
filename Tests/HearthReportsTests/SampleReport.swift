import Foundation
import HearthCore

/// A donor's three days on two nodes: day 1 llm 6 GPU-h + vision 2; day 2 llm 4; day 3 vision 3
/// (+ 1 on node b without a project). Offered: a 2 GPUs × 72 h = 144, b 1 GPU × 72 h = 72.
enum SampleReport {
    static func day(_ d: Int) -> Date { Date(timeIntervalSince1970: 1_793_491_200 + Double(d - 1) * 86_400) }  // 2026-11-01

    static var report: UsageReport {
        let rows = [
            UsageRow(periodStart: day(1), node: "a", account: "vic", project: "llm", allocations: 2, jobs: 2, gpuSeconds: 6 * 3600,
                     cpuSeconds: 100, energyJoules: 3_600_000),
            UsageRow(periodStart: day(1), node: "a", account: "walt", project: "vision", allocations: 1, jobs: 1, gpuSeconds: 2 * 3600),
            UsageRow(periodStart: day(2), node: "b", account: "vic", project: "llm", allocations: 1, jobs: 1, gpuSeconds: 4 * 3600),
            UsageRow(periodStart: day(3), node: "a", account: "walt", project: "vision", allocations: 1, jobs: 1, gpuSeconds: 3 * 3600),
            UsageRow(periodStart: day(3), node: "b", account: "walt", project: nil, allocations: 1, jobs: 1, gpuSeconds: 1 * 3600),
        ]
        let availability = (1...3).flatMap { d in
            [NodeAvailabilityRow(periodStart: day(d), node: "a", upSeconds: 86_400, drainingSeconds: 0, downSeconds: 0,
                                 offeredGPUSeconds: 2 * 86_400),
             NodeAvailabilityRow(periodStart: day(d), node: "b", upSeconds: 86_400, drainingSeconds: 0, downSeconds: 0,
                                 offeredGPUSeconds: 86_400)]
        }
        return UsageReport(
            scope: .donor, subject: "dana", from: day(1), to: day(4), period: .day, timeZone: "UTC", generatedAt: day(5),
            usage: rows, availability: availability,
            totals: UsageTotals(allocations: 6, jobs: 6, accounts: 2, projects: 2, gpuSeconds: 16 * 3600, cpuSeconds: 100,
                                energyJoules: 3_600_000, offeredGPUSeconds: 216 * 3600, endReasons: ["succeeded": 6]))
    }
}

import Foundation
import HearthScheduler

/// Side-by-side Markdown tables of simulation reports.
enum ReportTable {
    static func hours(_ s: Double) -> String { String(format: "%.2f h", s / 3600) }

    static func render(_ results: [(String, SimulationReport, Double)]) -> String {
        var out = "| metric | " + results.map(\.0).joined(separator: " | ") + " |\n"
        out += "|---|" + results.map { _ in "---:|" }.joined() + "\n"
        func row(_ name: String, _ f: (SimulationReport) -> String) {
            out += "| \(name) | " + results.map { f($0.1) }.joined(separator: " | ") + " |\n"
        }
        row("GPU utilisation") { String(format: "%.1f %%", $0.utilisation * 100) }
        row("Jain's fairness index") { String(format: "%.3f", $0.jainIndex) }
        row("jobs submitted / completed") { "\($0.submitted) / \($0.completed)" }
        row("wait p50") { hours($0.waitP50) }
        row("wait p90") { hours($0.waitP90) }
        row("wait p99") { hours($0.waitP99) }
        row("preemptions (priority/window/reclaim)") {
            "\($0.preemptions["priority"] ?? 0)/\($0.preemptions["window"] ?? 0)/\($0.preemptions["reclaim"] ?? 0)"
        }
        row("backfilled placements") { "\($0.backfilled)" }
        out += "| simulation wall time | " + results.map { String(format: "%.1f s", $0.2) }.joined(separator: " | ") + " |\n"
        out += "\nBy job size (wait p50 / p99; jobs never started):\n\n"
        out += "| GPUs per job | " + results.map(\.0).joined(separator: " | ") + " |\n"
        out += "|---|" + results.map { _ in "---:|" }.joined() + "\n"
        for size in Set(results.flatMap { $0.1.waitsBySize.keys }).sorted() {
            out += "| \(size) | " + results.map { r -> String in
                guard let w = r.1.waitsBySize[size] else { return "-" }
                return "\(hours(w.p50)) / \(hours(w.p99)); \(w.neverStarted)"
            }.joined(separator: " | ") + " |\n"
        }
        out += "\nPer account (GPU-hours received; wait p50 / p90; jobs never started):\n\n"
        out += "| account | " + results.map(\.0).joined(separator: " | ") + " |\n"
        out += "|---|" + results.map { _ in "---:|" }.joined() + "\n"
        let ids = results.first?.1.accounts.map(\.accountID) ?? []
        for id in ids {
            out += "| \(id) | " + results.map { r -> String in
                guard let a = r.1.accounts.first(where: { $0.accountID == id }) else { return "-" }
                return String(format: "%.0f GPU-h; %@ / %@; %d", a.gpuHours, hours(a.waitP50), hours(a.waitP90), a.neverStarted)
            }.joined(separator: " | ") + " |\n"
        }
        return out
    }
}

import Foundation
import HearthAPI
import HearthCore

/// `hearth nodes` as it prints: the daemon renders the table (`GET /v1/nodes?format=table`) so
/// the CLI copies text instead of decoding JSON. Decoding was most of the command's work: 3.3
/// million instructions, two fifths of them the static binary's protocol-conformance scans.
enum NodeTable {
    static let header = ["NODE", "STATE", "CPUS", "MEMORY", "GPUS", "RUNNING", "LAST SEEN"]

    /// The table with its header, columns as wide as their widest cell, two spaces apart, the last
    /// column not padded; times as Slurm writes them (`m:ss`, `h:mm:ss`, `d-hh:mm:ss`) before "ago".
    static func render(_ nodes: [NodeView], now: Date) -> String {
        let rows = [header] + nodes.map { n -> [String] in
            let simulated = n.gpus.contains(where: \.simulated) ? " (simulated)" : ""
            let gpus = n.gpus.isEmpty ? "0" : "\(n.gpus.count)× \(n.gpus[0].model)\(simulated)"
            return [n.hostname, n.state.rawValue, "\(n.cpus)", "\(n.memoryBytes >> 30) GiB", gpus, "\(n.runningJobs)",
                    duration(now.timeIntervalSince(n.lastHeartbeatAt)) + " ago"]
        }
        let widths = header.indices.map { i in rows.map { $0[i].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: max(0, widths[i] - cell.count))
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    static func duration(_ seconds: Double) -> String {
        let s = max(0, Int(seconds))
        let (d, h, m, sec) = (s / 86_400, (s / 3600) % 24, (s / 60) % 60, s % 60)
        if d > 0 { return String(format: "%d-%02d:%02d:%02d", d, h, m, sec) }
        if h > 0 { return String(format: "%d:%02d:%02d", h, m, sec) }
        return String(format: "%d:%02d", m, sec)
    }
}

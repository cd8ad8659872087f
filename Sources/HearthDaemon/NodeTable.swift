import Foundation
import HearthAPI
import HearthCore

/// `hearth nodes` as it prints: the daemon renders the table (`GET /v1/nodes?format=table`) so
/// the CLI copies text instead of decoding JSON. Decoding was most of the command's work: 3.3
/// million instructions, two fifths of them the static binary's protocol-conformance scans.
enum NodeTable {
    static func render(_ nodes: [NodeView], now: Date) -> String {
        var table = TextTable(["NODE", "STATE", "CPUS", "MEMORY", "GPUS", "RUNNING", "LAST SEEN"])
        for n in nodes {
            let simulated = n.gpus.contains(where: \.simulated) ? " (simulated)" : ""
            let gpus = n.gpus.isEmpty ? "0" : "\(n.gpus.count)× \(n.gpus[0].model)\(simulated)"
            table.add([n.hostname, n.state.rawValue, "\(n.cpus)", "\(n.memoryBytes >> 30) GiB", gpus, "\(n.runningJobs)",
                       TextTable.duration(now.timeIntervalSince(n.lastHeartbeatAt)) + " ago"])
        }
        return table.render()
    }
}

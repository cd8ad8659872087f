#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An aligned text table, as squeue prints: columns as wide as their widest cell, two spaces
/// apart, the last column not padded. The CLI prints its tables with it, and the daemon renders
/// the tables it sends ready-made (`hearth nodes`).
public struct TextTable: Sendable {
    public let header: [String]
    public var rows: [[String]] = []

    public init(_ header: [String]) { self.header = header }

    public mutating func add(_ row: [String]) { rows.append(row) }

    public func render() -> String {
        let all = [header] + rows
        let widths = header.indices.map { i in all.map { $0[i].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: max(0, widths[i] - cell.count))
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    /// `1:02:03`, `2:03`, or `1-02:03:04` for days, as Slurm prints times.
    public static func duration(_ seconds: Double) -> String {
        let s = max(0, Int(seconds))
        let (d, h, m, sec) = (s / 86_400, (s / 3600) % 24, (s / 60) % 60, s % 60)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        if d > 0 { return "\(d)-\(two(h)):\(two(m)):\(two(sec))" }
        if h > 0 { return "\(h):\(two(m)):\(two(sec))" }
        return "\(m):\(two(sec))"
    }
}

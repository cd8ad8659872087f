import FoundationEssentials

/// An aligned text table, as squeue prints.
struct Table {
    let header: [String]
    var rows: [[String]] = []

    init(_ header: [String]) { self.header = header }

    mutating func add(_ row: [String]) { rows.append(row) }

    func render() -> String {
        let all = [header] + rows
        let widths = header.indices.map { i in all.map { $0[i].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padded(to: widths[i])
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    /// `1:02:03`, `2:03`, or `1-02:03:04` for days, as Slurm prints times.
    static func duration(_ seconds: Double) -> String {
        let s = max(0, Int(seconds))
        let (d, h, m, sec) = (s / 86_400, (s / 3600) % 24, (s / 60) % 60, s % 60)
        if d > 0 { return String(format: "%d-%02d:%02d:%02d", d, h, m, sec) }
        if h > 0 { return String(format: "%d:%02d:%02d", h, m, sec) }
        return String(format: "%d:%02d", m, sec)
    }
}

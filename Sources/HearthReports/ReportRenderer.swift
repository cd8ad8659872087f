import Foundation
import HearthCore

/// Turns a ``UsageReport`` into text: an aligned terminal table, CSV, JSON or one self-contained
/// HTML page with SVG charts. Pure: strings in, strings out.
public enum ReportRenderer {
    /// The output formats.
    public enum Format: String, Sendable, CaseIterable {
        case table, csv, json, html
    }

    /// Renders a report in a format.
    public static func render(_ report: UsageReport, as format: Format) throws -> String {
        switch format {
        case .table: return table(report)
        case .csv: return csv(report)
        case .json: return try json(report)
        case .html: return HTMLReport(report).render()
        }
    }

    /// A heading line naming the report and its range.
    public static func title(_ report: UsageReport) -> String {
        let label = PeriodLabel(report)
        let day = DateFormatter()
        day.locale = Locale(identifier: "en_US_POSIX")
        day.timeZone = label.formatter.timeZone
        day.dateFormat = "yyyy-MM-dd HH:mm"
        let who: String
        switch report.scope {
        case .donor: who = "Nodes lent by \(report.subject ?? "?")"
        case .project: who = "Project \(report.subject ?? "?")"
        case .account: who = "Account \(report.subject ?? "?")"
        case .fleet: who = "The whole fleet"
        }
        return "\(who), \(day.string(from: report.from)) to \(day.string(from: report.to)) (\(report.timeZone)), by \(report.period.rawValue)"
    }

    /// The terminal view: totals, then one table per view.
    public static func table(_ report: UsageReport) -> String {
        let s = ReportSummary(report)
        let t = report.totals
        var out = [title(report), ""]
        var totals = [
            ("GPU-hours used", Units.hours(t.gpuSeconds)),
        ]
        if let offered = t.offeredGPUSeconds {
            totals.append(("GPU-hours offered", Units.hours(offered)))
            totals.append(("Utilisation", Units.percent(t.utilisation)))
        }
        totals += [
            ("Job attempts", "\(t.allocations)"), ("Jobs", "\(t.jobs)"), ("Volunteers", "\(t.accounts)"),
            ("Projects", "\(t.projects)"),
            ("CPU-hours", t.cpuSeconds.map(Units.hours) ?? "not measured"),
            ("Energy (measured)", t.energyJoules.map { Units.kWh($0) + " kWh" } ?? "not measured (no GPU power samples)"),
        ]
        if let est = t.estimatedEnergyJoules { totals.append(("Energy (ESTIMATE from TDP)", Units.kWh(est) + " kWh")) }
        if !t.endReasons.isEmpty {
            totals.append(("Attempts ended", t.endReasons.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")))
        }
        let width = totals.map(\.0.count).max() ?? 0
        out += totals.map { $0.0 + String(repeating: " ", count: width - $0.0.count) + "  " + $0.1 }
        // A donor's statement: each node's ledger chain head (`hearth ledger verify` recomputes it).
        for (node, head) in (report.ledgerHeads ?? [:]).sorted(by: { $0.key < $1.key }) {
            out.append("Ledger head of \(node): \(head)")
        }
        func view(_ name: String, _ lines: [ReportSummary.Line], offered: Bool) {
            guard !lines.isEmpty else { return }
            var header = [name.uppercased(), "GPU-H USED"]
            if offered { header += ["GPU-H OFFERED", "UTIL"] }
            header += ["ATTEMPTS", "ENERGY KWH"]
            var table = TextTable(header, numeric: Set(1..<header.count))
            for l in lines {
                var row = [l.label, Units.hours(l.gpuSeconds)]
                if offered { row += [l.offeredGPUSeconds.map(Units.hours) ?? "", Units.percent(l.utilisation)] }
                row += ["\(l.allocations)", Units.kWh(l.energyJoules)]
                table.add(row)
            }
            out += ["", table.render()]
        }
        let offered = t.offeredGPUSeconds != nil
        view(report.period.rawValue, s.byPeriod, offered: offered)
        if report.scope != .account || s.byNode.count > 1 { view("node", s.byNode, offered: offered) }
        view("project", s.byProject, offered: false)
        if report.scope != .account { view("volunteer", s.byAccount, offered: false) }
        return out.joined(separator: "\n") + "\n"
    }

    /// One CSV line per period × node × volunteer × project (RFC 4180 quoting).
    public static func csv(_ report: UsageReport) -> String {
        let label = PeriodLabel(report)
        var lines = ["period,period_start,node,volunteer,project,attempts,jobs,gpu_hours,cpu_hours,energy_kwh,energy_kwh_estimated"]
        for r in report.usage {
            lines.append([
                label(r.periodStart), Units.iso(r.periodStart), r.node, r.account, r.project ?? "", "\(r.allocations)", "\(r.jobs)",
                Units.hours(r.gpuSeconds), r.cpuSeconds.map(Units.hours) ?? "", Units.kWh(r.energyJoules),
                Units.kWh(r.estimatedEnergyJoules),
            ].map(csvField).joined(separator: ","))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// The report as JSON (ISO 8601 dates, sorted keys): what `--json` prints and the API returns.
    public static func json(_ report: UsageReport) throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(report), as: UTF8.self) + "\n"
    }
}

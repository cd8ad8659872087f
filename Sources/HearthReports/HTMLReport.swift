import Foundation
import HearthCore

/// One self-contained HTML page (inline CSS and SVG, no scripts, no external files) that a donor
/// can open in any browser or forward: totals, GPU-hours per period stacked by project, and
/// utilisation per node, then the tables.
struct HTMLReport {
    let report: UsageReport
    let summary: ReportSummary

    init(_ report: UsageReport) {
        self.report = report
        self.summary = ReportSummary(report)
    }

    static let palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]

    func render() -> String {
        let t = report.totals
        var facts: [(String, String)] = [("GPU-hours used", Units.hours(t.gpuSeconds))]
        if let offered = t.offeredGPUSeconds {
            facts += [("GPU-hours offered", Units.hours(offered)), ("Utilisation", Units.percent(t.utilisation))]
        }
        facts += [("Jobs", "\(t.jobs)"), ("Volunteers", "\(t.accounts)"), ("Projects", "\(t.projects)"),
                  ("Energy (measured)", t.energyJoules.map { Units.kWh($0) + " kWh" } ?? "not measured")]
        if let est = t.estimatedEnergyJoules { facts.append(("Energy (estimate from TDP, not measured)", Units.kWh(est) + " kWh")) }
        let title = Self.escape(ReportRenderer.title(report))
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(title)</title>
            <style>
            body{font-family:system-ui,sans-serif;margin:2em;color:#222;background:#fff}
            h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.5em}
            .facts{display:flex;flex-wrap:wrap;gap:1em}.fact{border:1px solid #ddd;border-radius:6px;padding:.6em 1em}
            .fact b{display:block;font-size:1.4em}
            table{border-collapse:collapse;margin-top:.5em}td,th{padding:.2em .8em;border-bottom:1px solid #eee}
            td.n{text-align:right;font-variant-numeric:tabular-nums}
            svg text{font-size:11px;fill:#444}
            </style></head><body>
            <h1>\(title)</h1>
            <div class="facts">
            """
        for (k, v) in facts { html += "<div class=\"fact\">\(Self.escape(k))<b>\(Self.escape(v))</b></div>\n" }
        html += "</div>\n<h2>GPU-hours per \(report.period.rawValue), by project</h2>\n" + stackedChart()
        if t.offeredGPUSeconds != nil {
            html += "<h2>Utilisation per node (GPU-hours used ÷ offered)</h2>\n" + utilisationChart()
        }
        html += table("Per \(report.period.rawValue)", summary.byPeriod, offered: t.offeredGPUSeconds != nil)
        html += table("Per node", summary.byNode, offered: t.offeredGPUSeconds != nil)
        html += table("Per project", summary.byProject, offered: false)
        html += table("Per volunteer", summary.byAccount, offered: false)
        html += "<p>Generated \(Units.iso(report.generatedAt)) from the Hearth allocation ledger. "
            + "GPU-hours are GPUs × time held, from claim to release.</p>\n</body></html>\n"
        return html
    }

    /// Bars per period, one `<path class="bar">` per project segment with GPU-hours in it.
    func stackedChart() -> String {
        let periods = summary.byPeriod.map(\.label)
        let projects = summary.byProject.map(\.label)
        let color = Dictionary(uniqueKeysWithValues: projects.enumerated().map { ($1, Self.palette[$0 % Self.palette.count]) })
        let maxHours = max(summary.byPeriod.map { $0.gpuSeconds / 3600 }.max() ?? 0, 1e-9)
        let (left, top, plotW, plotH) = (50.0, 10.0, max(Double(periods.count) * 28, 300), 200.0)
        let width = left + plotW + 160, height = top + plotH + 60
        let slot = plotW / Double(max(periods.count, 1))
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart stacked\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
            + "viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\">\n"
        svg += "<path class=\"axis\" d=\"M\(left),\(top) V\(top + plotH) H\(left + plotW)\" stroke=\"#888\" fill=\"none\"/>\n"
        svg += "<text x=\"\(left - 6)\" y=\"\(top + 4)\" text-anchor=\"end\">\(String(format: "%.1f", maxHours))</text>\n"
        svg += "<text x=\"\(left - 6)\" y=\"\(top + plotH)\" text-anchor=\"end\">0</text>\n"
        for (i, period) in periods.enumerated() {
            var y = top + plotH
            let x = left + Double(i) * slot + slot * 0.15, w = slot * 0.7
            for project in projects {
                let hours = (summary.periodProject[period]?[project] ?? 0) / 3600
                guard hours > 0 else { continue }
                let h = hours / maxHours * plotH
                y -= h
                svg += "<path class=\"bar\" data-period=\"\(Self.escape(period))\" data-project=\"\(Self.escape(project))\" "
                    + "d=\"M\(f(x)),\(f(y)) h\(f(w)) v\(f(h)) h\(f(-w)) Z\" fill=\"\(color[project]!)\">"
                    + "<title>\(Self.escape(period)) \(Self.escape(project)): \(String(format: "%.2f", hours)) GPU-h</title></path>\n"
            }
            if periods.count <= 16 || i % max(periods.count / 8, 1) == 0 {
                svg += "<text x=\"\(f(x + w / 2))\" y=\"\(top + plotH + 14)\" text-anchor=\"end\" "
                    + "transform=\"rotate(-45 \(f(x + w / 2)) \(top + plotH + 14))\">\(Self.escape(period))</text>\n"
            }
        }
        for (i, project) in projects.enumerated() {
            let y = top + Double(i) * 16
            svg += "<rect x=\"\(left + plotW + 20)\" y=\"\(y)\" width=\"10\" height=\"10\" fill=\"\(color[project]!)\"/>"
                + "<text x=\"\(left + plotW + 36)\" y=\"\(y + 9)\">\(Self.escape(project))</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// One horizontal `<path class="util">` per node, its length the node's utilisation.
    func utilisationChart() -> String {
        let nodes = summary.byNode
        let (left, barH, plotW) = (120.0, 18.0, 400.0)
        let height = Double(nodes.count) * (barH + 8) + 30
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart utilisation\" width=\"\(Int(left + plotW + 80))\" "
            + "height=\"\(Int(height))\" role=\"img\">\n"
        for (i, node) in nodes.enumerated() {
            let y = 10 + Double(i) * (barH + 8)
            let u = min(node.utilisation ?? 0, 1)
            svg += "<text x=\"\(left - 8)\" y=\"\(f(y + 13))\" text-anchor=\"end\">\(Self.escape(node.label))</text>\n"
            svg += "<path class=\"util-track\" d=\"M\(left),\(f(y)) h\(plotW) v\(barH) h-\(plotW) Z\" fill=\"#eee\"/>\n"
            svg += "<path class=\"util\" data-node=\"\(Self.escape(node.label))\" d=\"M\(left),\(f(y)) h\(f(max(u * plotW, 1))) v\(barH) "
                + "h\(f(-max(u * plotW, 1))) Z\" fill=\"#4e79a7\"><title>\(Self.escape(node.label)): "
                + "\(Units.percent(node.utilisation))</title></path>\n"
            svg += "<text x=\"\(f(left + plotW + 8))\" y=\"\(f(y + 13))\">\(Units.percent(node.utilisation))</text>\n"
        }
        return svg + "</svg>\n"
    }

    func table(_ caption: String, _ lines: [ReportSummary.Line], offered: Bool) -> String {
        guard !lines.isEmpty else { return "" }
        var html = "<h2>\(Self.escape(caption))</h2>\n<table><tr><th></th><th>GPU-h used</th>"
        if offered { html += "<th>GPU-h offered</th><th>Utilisation</th>" }
        html += "<th>Attempts</th><th>Energy kWh</th></tr>\n"
        for l in lines {
            html += "<tr><td>\(Self.escape(l.label))</td><td class=\"n\">\(Units.hours(l.gpuSeconds))</td>"
            if offered {
                html += "<td class=\"n\">\(l.offeredGPUSeconds.map(Units.hours) ?? "")</td><td class=\"n\">\(Units.percent(l.utilisation))</td>"
            }
            html += "<td class=\"n\">\(l.allocations)</td><td class=\"n\">\(Units.kWh(l.energyJoules))</td></tr>\n"
        }
        return html + "</table>\n"
    }

    private func f(_ v: Double) -> String { String(format: "%.2f", v) }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}

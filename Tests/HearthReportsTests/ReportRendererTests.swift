import Foundation
import HearthCore
import HearthReports
import Testing

@Suite struct ReportRendererTests {
    @Test func tableShowsTotalsUtilisationAndViews() throws {
        let text = try ReportRenderer.render(SampleReport.report, as: .table)
        #expect(text.hasPrefix("Nodes lent by dana, 2026-11-01 00:00 to 2026-11-04 00:00 (UTC), by day\n"))
        #expect(text.contains("GPU-hours used     16.00"))
        #expect(text.contains("GPU-hours offered  216.00"))
        #expect(text.contains("Utilisation        7.4%"))
        #expect(text.contains("Energy (measured)  1.000 kWh"))
        // Per node: a used 11 of 144 offered.
        let nodeLine = text.split(separator: "\n").first { $0.hasPrefix("a ") }.map(String.init) ?? ""
        #expect(nodeLine.split(separator: " ", omittingEmptySubsequences: true) == ["a", "11.00", "144.00", "7.6%", "4", "1.000"])
        #expect(!text.contains("ESTIMATE"), "no estimate is shown where none was made")
    }

    @Test func csvHasOneQuotedLinePerRow() throws {
        var report = SampleReport.report
        report.usage[0].project = "llm, \"big\""
        let lines = ReportRenderer.csv(report).split(separator: "\r\n")
        #expect(lines.count == 6)
        #expect(lines[0] == "period,period_start,node,volunteer,project,attempts,jobs,gpu_hours,cpu_hours,energy_kwh,energy_kwh_estimated")
        #expect(lines[1] == "2026-11-01,2026-11-01T00:00:00Z,a,vic,\"llm, \"\"big\"\"\",2,2,6.00,0.03,1.000,")
    }

    @Test func jsonRoundTrips() throws {
        let text = try ReportRenderer.render(SampleReport.report, as: .json)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let back = try decoder.decode(UsageReport.self, from: Data(text.utf8))
        #expect(back == SampleReport.report)
    }

    @Test func htmlIsSelfContainedWithOneBarPerProjectSegment() throws {
        let html = try ReportRenderer.render(SampleReport.report, as: .html)
        #expect(html.components(separatedBy: "<path class=\"bar\"").count - 1 == 5, "day 1: 2 segments, day 2: 1, day 3: 2")
        #expect(html.components(separatedBy: "<path class=\"util\"").count - 1 == 2)
        #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("href="), "nothing external")
    }

    @Test("ranges", arguments: [
        (nil, nil, "2026-11", "UTC", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"),
        (nil, nil, "2026-10", "Europe/Berlin", "2026-09-30T22:00:00Z", "2026-10-31T23:00:00Z"),
        ("2026-11-03", "2026-11-05", nil, "UTC", "2026-11-03T00:00:00Z", "2026-11-05T00:00:00Z"),
        ("2026-11-03T12:00:00Z", nil, nil, "UTC", "2026-11-03T12:00:00Z", "2026-11-29T12:00:00Z"),
        (nil, nil, nil, "UTC", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"),
    ] as [(String?, String?, String?, String, String, String)])
    func ranges(from: String?, to: String?, month: String?, zone: String, expectFrom: String, expectTo: String) throws {
        let iso = ISO8601DateFormatter()
        let now = iso.date(from: "2026-11-29T12:00:00Z")!
        let r = try ReportRange(from: from, to: to, month: month, timeZone: zone, now: now)
        #expect(iso.string(from: r.from) == expectFrom)
        #expect(iso.string(from: r.to) == expectTo)
    }

    @Test func badRangesSayWhatToType() {
        let now = Date()
        for (from, to, month, zone, needle) in [
            (nil, nil, "2026-13", "UTC", "write it as YYYY-MM"), ("2026-11-31", nil, nil, "UTC", "is not a date"),
            (nil, nil, "2026-11", "Mars/Olympus", "unknown time zone"), ("2026-11-02", "2026-11-01", nil, "UTC", "empty"),
            ("2026-11-02", nil, "2026-11", "UTC", "not both"),
        ] as [(String?, String?, String?, String, String)] {
            #expect(throws: ReportRange.Invalid.self) { try ReportRange(from: from, to: to, month: month, timeZone: zone, now: now) }
            do { _ = try ReportRange(from: from, to: to, month: month, timeZone: zone, now: now) } catch {
                #expect("\(error)".contains(needle), "\(error)")
            }
        }
    }
}

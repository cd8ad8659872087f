import ArgumentParser
import Foundation
import HearthAPI
import HearthCore
import HearthReports

/// The range, grouping and time zone options `report` and `usage` share.
struct RangeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Start: YYYY-MM-DD (midnight in --tz) or an ISO 8601 instant.", valueName: "date"))
    var from: String?
    @Option(help: ArgumentHelp("End (exclusive), like --from. Default: now, or the month's end.", valueName: "date"))
    var to: String?
    @Option(help: ArgumentHelp("A whole month, YYYY-MM (default: the current month).", valueName: "month"))
    var month: String?
    @Option(name: .customLong("by"), help: "Group by day, week or month.")
    var period: String = "day"
    @Option(name: .customLong("tz"), help: ArgumentHelp("IANA time zone days and months are cut in.", valueName: "zone"))
    var timeZone: String = TimeZone.current.identifier

    func validate() throws {
        guard UsageReport.Period(rawValue: period) != nil else { throw ValidationError("--by takes day, week or month") }
        guard month == nil || (from == nil && to == nil) else { throw ValidationError("give either --month or --from/--to, not both") }
    }

    /// `path?from=…&…`, every value percent-encoded.
    func url(_ path: String, extra: [URLQueryItem] = []) -> String {
        var c = URLComponents()
        c.path = path
        c.queryItems = extra + [("from", from), ("to", to), ("month", month), ("period", period), ("tz", timeZone)]
            .compactMap { name, value in value.map { URLQueryItem(name: name, value: $0) } }
        c.percentEncodedQuery = c.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        return c.string ?? path
    }
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "GPU-hours offered and used, by donor, project, account or the whole fleet.",
        discussion: """
            Without a scope: your own nodes if you are a donor, else your own jobs. Donors read only their own \
            nodes, volunteers their own jobs and their projects, admins everything. --html writes one \
            self-contained page with charts that opens in any browser.
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var range: RangeOptions
    @Option(help: "The nodes this donor lends.") var donor: String?
    @Option(help: "This project's jobs.") var project: String?
    @Option(help: "This account's jobs.") var account: String?
    @Flag(help: "The whole fleet (admins).") var fleet = false
    @Flag(help: "Print CSV, one line per period, node, volunteer and project.") var csv = false
    @Option(help: ArgumentHelp("Write an HTML page with charts to this file ('-' for standard output).", valueName: "file"))
    var html: String?

    func validate() throws {
        let scopes = [donor != nil, project != nil, account != nil, fleet].filter { $0 }.count
        guard scopes <= 1 else { throw ValidationError("choose one of --donor, --project, --account and --fleet") }
        guard [csv, global.json, html != nil].filter({ $0 }).count <= 1 else {
            throw ValidationError("choose one of --csv, --json and --html")
        }
    }

    func run() throws {
        let path: String
        if let donor { path = "/v1/reports/donors/\(Self.segment(donor))" }
        else if let project { path = "/v1/reports/projects/\(Self.segment(project))" }
        else if let account { path = "/v1/reports/accounts/\(Self.segment(account))" }
        else if fleet { path = "/v1/reports/fleet" }
        else {
            let (me, _) = try global.call("GET", "/v1/whoami", as: WhoAmI.self)
            path = "/v1/reports/\(me.role == "donor" ? "donors" : "accounts")/\(Self.segment(me.account))"
        }
        let (report, raw) = try global.call("GET", range.url(path), as: UsageReport.self)
        if global.json { print(String(decoding: raw, as: UTF8.self)); return }
        if csv { print(ReportRenderer.csv(report), terminator: ""); return }
        if let html {
            let page = try ReportRenderer.render(report, as: .html)
            if html == "-" { print(page, terminator: ""); return }
            do { try page.write(toFile: html, atomically: true, encoding: .utf8) } catch {
                throw ValidationError("cannot write \(html): \(error.localizedDescription)")
            }
            print("wrote \(html)")
            return
        }
        print(ReportRenderer.table(report), terminator: "")
    }

    static func segment(_ name: String) -> String {
        name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? name
    }
}

struct Usage: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Your GPU-hours and fair-share standing (like sshare).",
        discussion: "The standing is the scheduler's own computation: decayed usage against your shares.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var range: RangeOptions
    @Option(help: "Another account (admins).") var account: String?

    func run() throws {
        let extra = account.map { [URLQueryItem(name: "account", value: $0)] } ?? []
        let (usage, raw) = try global.call("GET", range.url("/v1/usage", extra: extra), as: AccountUsage.self)
        if global.json { print(String(decoding: raw, as: UTF8.self)); return }
        print(ReportRenderer.usage(usage), terminator: "")
    }
}

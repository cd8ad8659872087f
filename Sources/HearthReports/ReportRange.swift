import Foundation

/// The time range of a report from what a person types: `--month 2026-11`, or `--from` / `--to`
/// as a day (`2026-11-03`, midnight in the report's time zone) or an instant
/// (`2026-11-03T12:00:00Z`). Without any, the current month.
public struct ReportRange: Sendable, Hashable {
    /// Input that names no valid range; the message says what to type instead.
    public struct Invalid: Error, Sendable, Hashable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    public var from: Date
    public var to: Date

    /// Resolves a range in a time zone.
    /// - Throws: ``Invalid`` for an unknown zone, a malformed date, `--month` with `--from`/`--to`,
    ///   or an empty range.
    public init(from: String?, to: String?, month: String?, timeZone: String, now: Date) throws {
        guard let zone = TimeZone(identifier: timeZone) else {
            throw Invalid(message: "unknown time zone \"\(timeZone)\"; use an IANA name such as UTC or Europe/Berlin")
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        if let month {
            guard from == nil, to == nil else { throw Invalid(message: "give either --month or --from/--to, not both") }
            let parts = month.split(separator: "-")
            guard parts.count == 2, let y = Int(parts[0]), let m = Int(parts[1]), (1...12).contains(m), parts[0].count == 4,
                  let start = calendar.date(from: DateComponents(year: y, month: m, day: 1)),
                  let end = calendar.date(byAdding: .month, value: 1, to: start) else {
                throw Invalid(message: "--month \"\(month)\" is not a month; write it as YYYY-MM, e.g. 2026-11")
            }
            self.from = start
            self.to = end
            return
        }
        let monthStart = calendar.date(from: calendar.dateComponents([.year, .month], from: now))!
        self.from = try from.map { try Self.instant($0, calendar, flag: "--from") } ?? monthStart
        self.to = try to.map { try Self.instant($0, calendar, flag: "--to") }
            ?? (from == nil ? calendar.date(byAdding: .month, value: 1, to: monthStart)! : now)
        guard self.from < self.to else {
            throw Invalid(message: "the range is empty: --from must be before --to")
        }
    }

    static func instant(_ text: String, _ calendar: Calendar, flag: String) throws -> Date {
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime]
        if let d = iso.date(from: text) { return d }
        let parts = text.split(separator: "-")
        if parts.count == 3, parts[0].count == 4, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
           (1...12).contains(m), (1...31).contains(d),
           let date = calendar.date(from: DateComponents(year: y, month: m, day: d)),
           calendar.component(.day, from: date) == d {
            return date
        }
        throw Invalid(message: "\(flag) \"\(text)\" is not a date; write YYYY-MM-DD or an ISO 8601 instant such as 2026-11-03T12:00:00Z")
    }
}

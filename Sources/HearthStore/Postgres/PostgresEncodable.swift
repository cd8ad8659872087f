import Foundation

/// A Swift value that can be sent to PostgreSQL as a text-format parameter.
public protocol PostgresEncodable: Sendable {
    /// The value in PostgreSQL's text input format.
    var postgresText: String { get }
}

/// A Swift value that can be read from a text-format result column.
public protocol PostgresDecodable: Sendable {
    /// Parses PostgreSQL's text output format; `nil` when the text is not a valid value.
    init?(postgresText: String)
}

extension String: PostgresEncodable, PostgresDecodable {
    public var postgresText: String { self }
    public init?(postgresText: String) { self = postgresText }
}

extension Int: PostgresEncodable, PostgresDecodable {
    public var postgresText: String { String(self) }
    public init?(postgresText: String) { self.init(postgresText) }
}

extension Int64: PostgresEncodable, PostgresDecodable {
    public var postgresText: String { String(self) }
    public init?(postgresText: String) { self.init(postgresText) }
}

extension Int32: PostgresEncodable, PostgresDecodable {
    public var postgresText: String { String(self) }
    public init?(postgresText: String) { self.init(postgresText) }
}

extension Double: PostgresEncodable, PostgresDecodable {
    public var postgresText: String { "\(self)" }
    public init?(postgresText: String) {
        switch postgresText {
        case "NaN": self = .nan
        case "Infinity": self = .infinity
        case "-Infinity": self = -.infinity
        default: self.init(postgresText)
        }
    }
}

extension Bool: PostgresEncodable, PostgresDecodable {
    public var postgresText: String { self ? "t" : "f" }
    public init?(postgresText: String) {
        switch postgresText {
        case "t", "true": self = true
        case "f", "false": self = false
        default: return nil
        }
    }
}

extension Duration: PostgresEncodable {
    /// An `interval` in microseconds, which PostgreSQL accepts as `'N microseconds'`.
    public var postgresText: String {
        let (seconds, attoseconds) = components
        return "\(seconds * 1_000_000 + attoseconds / 1_000_000_000_000) microseconds"
    }
}

extension Array: PostgresEncodable where Element: PostgresEncodable & BinaryInteger {
    /// An array literal such as `{1,2,3}`.
    public var postgresText: String { "{" + map { String($0) }.joined(separator: ",") + "}" }
}

extension Array: PostgresDecodable where Element: PostgresDecodable & BinaryInteger {
    public init?(postgresText: String) {
        guard postgresText.hasPrefix("{"), postgresText.hasSuffix("}") else { return nil }
        let body = postgresText.dropFirst().dropLast()
        if body.isEmpty { self = []; return }
        var out: [Element] = []
        for part in body.split(separator: ",") {
            guard let v = Element(postgresText: String(part)) else { return nil }
            out.append(v)
        }
        self = out
    }
}

extension Date: PostgresEncodable, PostgresDecodable {
    /// ISO 8601 with microseconds in UTC, which `timestamptz` accepts.
    public var postgresText: String {
        let micros = (timeIntervalSince1970 * 1_000_000).rounded()
        let seconds = Int64((micros / 1_000_000).rounded(.down))
        let fraction = Int64(micros) - seconds * 1_000_000
        var tm = tm()
        var t = time_t(seconds)
        gmtime_r(&t, &tm)
        return String(
            format: "%04d-%02d-%02d %02d:%02d:%02d.%06lld+00",
            tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, fraction)
    }

    /// Parses `timestamptz` output with `DateStyle=ISO` (the client sets it at connect):
    /// `2026-11-29 20:43:30.123456+00`, with an optional fraction and a `±HH[:MM[:SS]]` offset.
    public init?(postgresText s: String) {
        let u = Array(s.utf8)
        func num(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= u.count else { return nil }
            var v = 0
            for i in from..<(from + count) {
                let c = u[i]
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard u.count >= 19, let year = num(0, 4), let month = num(5, 2), let day = num(8, 2),
              let hour = num(11, 2), let minute = num(14, 2), let second = num(17, 2) else { return nil }
        var i = 19
        var micros = 0
        if i < u.count, u[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < u.count, u[i] >= 48, u[i] <= 57 {
                if digits < 6 { micros = micros * 10 + Int(u[i] - 48) }
                digits += 1
                i += 1
            }
            if digits < 6 { for _ in digits..<6 { micros *= 10 } }
        }
        var offset = 0
        if i < u.count, u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-") {
            let sign = u[i] == UInt8(ascii: "-") ? -1 : 1
            guard let oh = num(i + 1, 2) else { return nil }
            var secs = oh * 3600
            if let om = num(i + 4, 2), u[i + 3] == UInt8(ascii: ":") { secs += om * 60 }
            offset = sign * secs
        }
        // Days from the civil date (proleptic Gregorian), as in Howard Hinnant's algorithm.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        let epoch = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        self = Date(timeIntervalSince1970: Double(epoch) + Double(micros) / 1_000_000)
    }
}

/// A `text[]` parameter, each element quoted so that commas, quotes and braces survive.
public struct PostgresTextArray: PostgresEncodable, Hashable {
    public var values: [String]
    public init(_ values: [String]) { self.values = values }
    public var postgresText: String {
        let quoted = values.map { v in
            "\"" + v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        return "{" + quoted.joined(separator: ",") + "}"
    }
}

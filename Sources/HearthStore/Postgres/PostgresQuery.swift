import Foundation

/// A SQL statement whose values travel as bound parameters, never inside the SQL text.
///
/// Interpolating a value appends `$n` to the SQL and the value to ``bindings``:
///
///     let q: PostgresQuery = "SELECT * FROM jobs WHERE id = \(id) AND state = \(state.rawValue)"
///     // sql: "SELECT * FROM jobs WHERE id = $1 AND state = $2", bindings: [id, state]
///
/// So no value can change the shape of a statement. Identifiers that must be spliced (a database
/// name in `CREATE DATABASE`) go through ``StringInterpolation/appendInterpolation(identifier:)``,
/// which quotes them, and such a query is never prepared.
public struct PostgresQuery: Sendable, ExpressibleByStringInterpolation {
    /// The SQL text with `$1`, `$2`, … placeholders.
    public var sql: String
    /// The bound values in placeholder order; `nil` is SQL NULL. Text format.
    public var bindings: [String?]
    /// Whether the statement may be prepared once per connection and reused (no spliced identifiers).
    public var isPreparable: Bool

    public init(unsafeSQL sql: String, bindings: [String?] = []) {
        self.sql = sql
        self.bindings = bindings
        self.isPreparable = true
    }

    public init(stringLiteral value: String) {
        self.init(unsafeSQL: value)
    }

    public init(stringInterpolation: StringInterpolation) {
        self.sql = stringInterpolation.sql
        self.bindings = stringInterpolation.bindings
        self.isPreparable = stringInterpolation.isPreparable
    }

    /// Builds a ``PostgresQuery``: literals become SQL, interpolated values become parameters.
    public struct StringInterpolation: StringInterpolationProtocol {
        var sql = ""
        var bindings: [String?] = []
        var isPreparable = true

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
            bindings.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) {
            sql += literal
        }

        /// Binds a value as the next parameter.
        public mutating func appendInterpolation(_ value: some PostgresEncodable) {
            bindings.append(value.postgresText)
            sql += "$\(bindings.count)"
        }

        /// Binds an optional value; `nil` is SQL NULL.
        public mutating func appendInterpolation(_ value: (some PostgresEncodable)?) {
            bindings.append(value?.postgresText)
            sql += "$\(bindings.count)"
        }

        /// Splices a fragment of SQL written in the source code (a column list). It cannot hold a value.
        public mutating func appendInterpolation(sql fragment: SQLFragment) {
            sql += fragment.text
        }

        /// Splices a quoted identifier (double quotes doubled). Such a query is not prepared.
        public mutating func appendInterpolation(identifier: String) {
            sql += "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            isPreparable = false
        }
    }
}

/// A piece of SQL that can only come from a literal in the source, never from a value at run time.
public struct SQLFragment: Sendable, ExpressibleByStringLiteral {
    let text: String
    public init(stringLiteral value: StaticString) {
        self.text = value.description
    }
}

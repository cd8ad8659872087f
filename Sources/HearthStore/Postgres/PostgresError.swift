import Foundation

/// An error from the PostgreSQL client layer.
///
/// `description` is one line that is safe to show anyone: it never carries bound parameter
/// values or a password. `debugDescription` adds the server's DETAIL and HINT, which may quote
/// values (a unique violation names the key), and the statement name.
public struct PostgresError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What kind of failure this is. Equality of errors is equality of codes.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Base: String, Sendable {
            case invalidConnectionString, connectionFailed, connectionClosed, server, decoding, misuse
        }
        let base: Base
        /// The connection string (conninfo or URL) could not be parsed.
        public static let invalidConnectionString = Code(base: .invalidConnectionString)
        /// The server could not be reached or refused the connection (down, wrong password...).
        public static let connectionFailed = Code(base: .connectionFailed)
        /// The connection broke while a statement ran (server restart, `pg_terminate_backend`).
        public static let connectionClosed = Code(base: .connectionClosed)
        /// The server reported an error for a statement; `sqlState` says which.
        public static let server = Code(base: .server)
        /// A result column could not be decoded into the requested Swift type.
        public static let decoding = Code(base: .decoding)
        /// The client was used wrongly (a bug in Hearth, not in the input).
        public static let misuse = Code(base: .misuse)
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// One line, safe to log and to show to users.
    public var message: String
    /// The five-character SQLSTATE for server errors (for example `23505`, unique violation).
    public var sqlState: String?
    /// The server's DETAIL and HINT; may quote values, so only in `debugDescription`.
    public var detail: String?
    /// The name of the statement that failed, when known (attached where the error crosses a layer).
    public var statement: String?

    public init(code: Code, message: String, sqlState: String? = nil, detail: String? = nil, statement: String? = nil) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.statement = statement
    }

    public var description: String {
        if let sqlState { return "\(message) (SQLSTATE \(sqlState))" }
        return message
    }

    public var debugDescription: String {
        var parts = [description]
        if let statement { parts.append("statement: \(statement)") }
        if let detail { parts.append(detail) }
        return parts.joined(separator: "; ")
    }

    /// Whether the statement may be retried as is: serialization failures and deadlocks.
    public var isTransient: Bool {
        sqlState == "40001" || sqlState == "40P01" || code == .connectionClosed
    }
}

extension PostgresError: Equatable {
    public static func == (lhs: PostgresError, rhs: PostgresError) -> Bool {
        lhs.code == rhs.code && lhs.sqlState == rhs.sqlState
    }
}

extension String {
    /// libpq messages span lines ("...failed: X\n\tIs the server running...?"): make them one line.
    var oneLine: String {
        split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
            .joined(separator: " ")
    }
}

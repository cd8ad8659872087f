/// The rows a statement returned, decoded to text on the connection's thread.
public struct PostgresRows: Sendable, RandomAccessCollection {
    /// Column names in result order.
    public let columns: [String]
    let values: [[String?]]
    /// The number of rows a command affected (`UPDATE 3` → 3), when the server reports it.
    public let affectedRows: Int

    public var startIndex: Int { 0 }
    public var endIndex: Int { values.count }
    public subscript(position: Int) -> PostgresRow {
        PostgresRow(columns: columns, values: values[position])
    }

    /// The only row, or `nil` when there is none; more than one is a misuse.
    public func single() throws -> PostgresRow? {
        guard count <= 1 else {
            throw PostgresError(code: .misuse, message: "expected at most one row, got \(count)")
        }
        return first
    }
}

/// One result row; columns are read by name.
public struct PostgresRow: Sendable {
    let columns: [String]
    let values: [String?]

    /// The raw text of a column, `nil` for SQL NULL.
    public func text(_ column: String) throws -> String? {
        guard let i = columns.firstIndex(of: column) else {
            throw PostgresError(code: .decoding, message: "no column \"\(column)\" in the result")
        }
        return values[i]
    }

    /// Decodes a non-NULL column.
    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let raw = try text(column) else {
            throw PostgresError(code: .decoding, message: "column \"\(column)\" is NULL, expected \(T.self)")
        }
        guard let value = T(postgresText: raw) else {
            throw PostgresError(code: .decoding, message: "column \"\(column)\" is not a valid \(T.self)")
        }
        return value
    }

    /// Decodes a column that may be NULL.
    public func decode<T: PostgresDecodable>(_ column: String, as type: T?.Type = T?.self) throws -> T? {
        guard let raw = try text(column) else { return nil }
        guard let value = T(postgresText: raw) else {
            throw PostgresError(code: .decoding, message: "column \"\(column)\" is not a valid \(T.self)")
        }
        return value
    }
}

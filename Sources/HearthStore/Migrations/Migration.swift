/// One schema migration: a numbered plain SQL file from `Migrations/`, embedded in the binary.
public struct Migration: Sendable, Hashable {
    /// The number in the file name (`0001_schema.sql` → 1); applied in increasing order.
    public var version: Int
    /// The rest of the file name (`schema`).
    public var name: String
    /// The file's SQL, run in one transaction.
    public var sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// The file name it came from, `0001_schema.sql`.
    public var fileName: String {
        let digits = String(version)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits + "_" + name + ".sql"
    }
}

import Foundation

/// Applies ``Migration``s in order, each in its own transaction, and records each with a checksum.
///
/// Two daemons starting at once cannot both migrate: the run holds a session advisory lock, and
/// the second waits, then finds nothing left to do. An applied migration whose SQL changed since
/// is refused, as is a database newer than this binary knows.
public struct Migrator: Sendable {
    /// Where one migration stands in a database.
    public struct Status: Sendable, Hashable {
        public var version: Int
        public var name: String
        /// When it was applied, or `nil` if pending.
        public var appliedAt: Date?
        /// `false` when the applied SQL differs from the embedded file (tampered or edited).
        public var checksumMatches: Bool
    }

    /// A refusal to migrate; `message` says what is wrong and what to do.
    public struct Error: Swift.Error, Sendable, Hashable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// The advisory lock key that serialises migration runs ("hearth-mi" in ASCII).
    public static let lockKey: Int64 = 0x6865_6172_7468_6D69

    public let client: PostgresClient
    public let migrations: [Migration]

    public init(client: PostgresClient, migrations: [Migration] = Migration.embedded) {
        self.client = client
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// Every known migration with its state in the database, plus any the database has that this binary lacks.
    public func status() async throws -> [Status] {
        try await client.withConnection { connection in
            try await ensureTable(connection)
            return try await statuses(connection)
        }
    }

    /// Applies every pending migration.
    /// - Returns: the migrations applied by this call (empty when up to date).
    /// - Throws: ``Migrator/Error`` when an applied migration changed or the database is newer.
    @discardableResult
    public func migrate() async throws -> [Migration] {
        try await client.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(Self.lockKey))")
            do {
                let applied = try await migrateLocked(connection)
                try await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))")
                return applied
            } catch {
                if !connection.isBroken { _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))") }
                throw error
            }
        }
    }

    private func migrateLocked(_ connection: PostgresConnection) async throws -> [Migration] {
        try await ensureTable(connection)
        let current = try await statuses(connection)
        if let unknown = current.first(where: { status in !migrations.contains { $0.version == status.version } }) {
            throw Error(message: """
                the database has migration \(unknown.version) (\(unknown.name)), which this binary does not know: \
                it was migrated by a newer Hearth. Upgrade this node's Hearth
                """)
        }
        if let changed = current.first(where: { $0.appliedAt != nil && !$0.checksumMatches }) {
            throw Error(message: """
                migration \(changed.version) (\(changed.name)) was changed after it was applied: its checksum \
                differs from the one recorded. Restore the original file and add a new migration for the change
                """)
        }
        let appliedVersions = Set(current.filter { $0.appliedAt != nil }.map(\.version))
        var applied: [Migration] = []
        for migration in migrations where !appliedVersions.contains(migration.version) {
            try await connection.execute(unsafeSQL: "BEGIN")
            do {
                try await connection.execute(unsafeSQL: migration.sql)
                try await connection.query("""
                    INSERT INTO hearth_migrations (version, name, checksum)
                    VALUES (\(migration.version), \(migration.name), encode(sha256(convert_to(\(migration.sql), 'UTF8')), 'hex'))
                    """)
                try await connection.execute(unsafeSQL: "COMMIT")
            } catch {
                if !connection.isBroken { try? await connection.execute(unsafeSQL: "ROLLBACK") }
                throw Error(message: "migration \(migration.fileName) failed and was rolled back: \(error)")
            }
            applied.append(migration)
        }
        return applied
    }

    /// The migrations this binary has that the database has not applied, read without writing
    /// anything (a node's login may read `hearth_migrations` but not create it).
    public func pending() async throws -> [Migration] {
        let exists: Bool = try await client.query("SELECT to_regclass('hearth_migrations') IS NOT NULL AS e")[0].decode("e")
        guard exists else { return migrations }
        let applied = Set(try await client.query("SELECT version FROM hearth_migrations").map { try $0.decode("version", as: Int.self) })
        return migrations.filter { !applied.contains($0.version) }
    }

    private func ensureTable(_ connection: PostgresConnection) async throws {
        try await connection.execute(unsafeSQL: """
            CREATE TABLE IF NOT EXISTS hearth_migrations (
                version     integer PRIMARY KEY,
                name        text NOT NULL,
                checksum    text NOT NULL,
                applied_at  timestamptz NOT NULL DEFAULT now()
            )
            """)
    }

    private func statuses(_ connection: PostgresConnection) async throws -> [Status] {
        let rows = try await connection.query("SELECT version, name, checksum, applied_at FROM hearth_migrations")
        var recorded: [Int: (name: String, checksum: String, at: Date)] = [:]
        for row in rows {
            recorded[try row.decode("version")] = (try row.decode("name"), try row.decode("checksum"), try row.decode("applied_at"))
        }
        var out: [Status] = []
        for migration in migrations {
            guard let r = recorded.removeValue(forKey: migration.version) else {
                out.append(Status(version: migration.version, name: migration.name, appliedAt: nil, checksumMatches: true))
                continue
            }
            let sum = try await connection.query(
                "SELECT encode(sha256(convert_to(\(migration.sql), 'UTF8')), 'hex') AS sum")
            out.append(Status(
                version: migration.version, name: migration.name, appliedAt: r.at,
                checksumMatches: try sum[0].decode("sum", as: String.self) == r.checksum))
        }
        for (version, r) in recorded.sorted(by: { $0.key < $1.key }) {
            out.append(Status(version: version, name: r.name, appliedAt: r.at, checksumMatches: false))
        }
        return out
    }
}

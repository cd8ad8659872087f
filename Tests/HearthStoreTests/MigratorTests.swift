import Foundation
import HearthStore
import HearthTesting
import Testing

@Suite(.timeLimit(.minutes(10))) struct MigratorTests {
    /// The migrations compiled into the binary are exactly the files in Migrations/.
    @Test func embeddedMigrationsMatchTheFiles() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Migrations")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(files == Migration.embedded.map(\.fileName), "run Migrations/embed.sh")
        for migration in Migration.embedded {
            let text = try String(contentsOf: dir.appendingPathComponent(migration.fileName), encoding: .utf8)
            let normalise = { (s: String) in
                s.split(separator: "\n", omittingEmptySubsequences: false)
                    .map { $0.allSatisfy(\.isWhitespace) ? "" : String($0) }.joined(separator: "\n")
                    .trimmingCharacters(in: .newlines)
            }
            #expect(normalise(text) == normalise(migration.sql), "\(migration.fileName) changed: run Migrations/embed.sh")
        }
    }

    @Test func aMigratedDatabaseIsUpToDate() async throws {
        try await TestDatabase.with { client, _ in
            let migrator = Migrator(client: client)
            #expect(try await migrator.migrate().isEmpty)
            let status = try await migrator.status()
            #expect(status.count == Migration.embedded.count)
            #expect(status.allSatisfy { $0.appliedAt != nil && $0.checksumMatches })
        }
    }

    @Test func aChangedMigrationIsRefused() async throws {
        try await TestDatabase.with { client, _ in
            var tampered = Migration.embedded
            tampered[0].sql += "\n-- an innocent-looking edit\n"
            let migrator = Migrator(client: client, migrations: tampered)
            let error = await #expect(throws: Migrator.Error.self) { try await migrator.migrate() }
            #expect(error?.message.contains("migration 1 (schema) was changed after it was applied") == true)
            let status = try await migrator.status()
            #expect(status[0].checksumMatches == false)
        }
    }

    @Test func aDatabaseFromANewerHearthIsRefused() async throws {
        try await TestDatabase.with { client, _ in
            try await client.query("INSERT INTO hearth_migrations (version, name, checksum) VALUES (9999, 'future', 'x')")
            let error = await #expect(throws: Migrator.Error.self) { try await Migrator(client: client).migrate() }
            #expect(error?.message.contains("migrated by a newer Hearth") == true)
        }
    }

    @Test func aFailingMigrationLeavesNothingBehind() async throws {
        try await TestDatabase.with { client, _ in
            let broken = Migration.embedded + [
                Migration(version: 9000, name: "broken", sql: "CREATE TABLE half_done (id int); SELECT no_such_function();"),
            ]
            let error = await #expect(throws: Migrator.Error.self) { try await Migrator(client: client, migrations: broken).migrate() }
            #expect(error?.message.contains("9000_broken.sql failed and was rolled back") == true)
            let tables = try await client.query("SELECT count(*) AS n FROM pg_tables WHERE tablename = 'half_done'")
            #expect(try tables[0].decode("n", as: Int.self) == 0)
            let recorded = try await client.query("SELECT count(*) AS n FROM hearth_migrations WHERE version = 9000")
            #expect(try recorded[0].decode("n", as: Int.self) == 0)
        }
    }

    /// Two daemons starting at once on an empty database: one migrates, the other waits and finds it done.
    @Test func concurrentMigrationsApplyEachMigrationOnce() async throws {
        try await TestDatabase.with { client, info in
            try await client.withConnection { c in
                try await c.execute(unsafeSQL: "DROP SCHEMA public CASCADE; CREATE SCHEMA public; DROP TABLE IF EXISTS hearth_migrations")
            }
            let clients = try (0..<4).map { _ in try info.makeClient(maxConnections: 1) }
            defer { clients.forEach { $0.shutdown() } }
            let counts = try await withThrowingTaskGroup(of: Int.self) { group in
                for c in clients { group.addTask { try await Migrator(client: c).migrate().count } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(counts.sorted() == [0, 0, 0, Migration.embedded.count])
            let rows = try await client.query("SELECT count(*) AS n FROM hearth_migrations")
            #expect(try rows[0].decode("n", as: Int.self) == Migration.embedded.count)
        }
    }
}

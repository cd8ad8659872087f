import ArgumentParser
import Foundation
import HearthDaemon
import HearthStore

/// `hearthd migrate [--status]`: applies the embedded migrations, or lists their state.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the database migrations shipped with this hearthd, or show their state.")

    @OptionGroup var database: DatabaseOptions

    @Flag(help: "Only list the migrations and whether each is applied; change nothing.")
    var status = false

    func run() async throws {
        let file = try database.file()
        let logger = makeLogger(level: file?.logLevel)
        let db = try await Database.open(database.location(file), maxConnections: 1, logger: logger)
        defer { try? db.close() }
        let migrator = Migrator(client: db.client)
        if status {
            let formatter = ISO8601DateFormatter()
            print("version  name                     applied")
            for s in try await migrator.status() {
                let state = s.appliedAt.map { formatter.string(from: $0) + (s.checksumMatches ? "" : "  CHANGED since applied") }
                    ?? "pending"
                print(String(format: "%04d", s.version) + "     " + s.name.padding(toLength: 24, withPad: " ", startingAt: 0)
                    + " " + state)
            }
            return
        }
        let applied = try await migrator.migrate()
        if applied.isEmpty {
            print("the database is up to date (\(migrator.migrations.count) migrations)")
        } else {
            for m in applied { print("applied \(m.fileName)") }
        }
    }
}

import ArgumentParser
import Foundation
import HearthDaemon
import HearthStore

/// `hearthd demo`: the queue's own end-to-end run on the embedded default.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run jobs through the real queue and show the ledger (embedded PostgreSQL unless configured).")

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let logger = makeLogger()
        let location = database.location
        if case .embedded(let dir) = location {
            print("database: private PostgreSQL cluster in \(dir.path)/postgres (Unix socket only, no TCP)")
        }
        let db = try await Database.open(location, logger: logger)
        do {
            let applied = try await Migrator(client: db.client).migrate()
            print("migrations: \(applied.isEmpty ? "up to date" : applied.map(\.fileName).joined(separator: ", ") + " applied")")
            try await QueueDemo(database: db).run { print($0) }
            try db.close()
            if db.embedded != nil { print("\nembedded PostgreSQL stopped cleanly") }
        } catch {
            try? db.close()
            throw error
        }
    }
}

import ArgumentParser
import Foundation
import HearthDaemon
import HearthStore
import HearthSystemd
import Logging

/// `hearthd`: the node daemon. Thin: parses flags, sets up logging, calls into HearthDaemon.
@main
struct Hearthd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hearthd",
        abstract: "The Hearth node daemon: job queue, scheduler and workers, coordinated through PostgreSQL.",
        subcommands: [Run.self, Migrate.self, Reload.self])
}

/// Where the database is, shared by every subcommand.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: ArgumentHelp(
        "libpq conninfo or postgresql:// URL of the fleet's database (env HEARTH_DATABASE_URL). "
            + "Unset: a private PostgreSQL under --state-dir. Empty: the PG* environment.",
        valueName: "conninfo"))
    var databaseURL: String?

    @Option(name: .customLong("state-dir"), help: ArgumentHelp(
        "State directory (default: $STATE_DIRECTORY, /var/lib/hearth as root, else ~/.local/state/hearth).",
        valueName: "path"))
    var stateDirectory: String?

    var location: Database.Location {
        if let url = databaseURL ?? ProcessInfo.processInfo.environment["HEARTH_DATABASE_URL"] { return .server(url) }
        let dir = stateDirectory.map { URL(fileURLWithPath: $0) } ?? StateDirectory.default()
        return .embedded(stateDirectory: dir)
    }
}

/// The process's log level: `HEARTH_LOG_LEVEL` (default `info`), changed by `hearthd run`'s reloads.
let logLevel = LogLevelControl(
    ProcessInfo.processInfo.environment["HEARTH_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info)

/// Logs to the journal with structured fields when stderr goes there (under systemd), else plain stderr lines.
func makeLogger() -> Logger {
    SystemdLogging.bootstrap(identifier: "hearthd", control: logLevel)
    return Logger(label: "hearthd")
}

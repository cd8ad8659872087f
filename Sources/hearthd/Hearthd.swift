import ArgumentParser
import Foundation
import HearthDaemon
import HearthProcess
import HearthStore
import HearthSystemd
import Logging

/// `hearthd`: the node daemon. Thin: parses flags, sets up logging, calls into HearthDaemon.
@main
struct Hearthd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hearthd",
        abstract: "The Hearth node daemon: job queue, scheduler and workers, coordinated through PostgreSQL.",
        subcommands: [Run.self, Migrate.self, Reload.self, Enroll.self])

    /// Empties the ambient capability set before anything else runs, so no child (PostgreSQL, a
    /// job) inherits what systemd gave hearthd. Capabilities are per thread: this runs on the main
    /// thread before any other exists, and every thread made later starts from it.
    static func main() async {
        do {
            try AmbientCapabilities.clear()
        } catch {
            FileHandle.standardError.write(Data("hearthd: \(error)\n".utf8))
            Foundation.exit(71)
        }
        await main(nil)
    }
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

    @Option(help: ArgumentHelp(
        "Configuration file (default: \(ConfigFile.defaultPath) when it exists). Flags and environment override it.",
        valueName: "path"))
    var config: String?

    /// The configuration file: `--config` (must exist), else the default path when present.
    func file() throws -> ConfigFile? {
        do {
            return try ConfigFile.load(path: config ?? ConfigFile.defaultPath, required: config != nil)
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// Flag, then environment, then file; unset everywhere = the embedded cluster.
    func location(_ file: ConfigFile?) -> Database.Location {
        DaemonConfiguration.databaseLocation(flag: databaseURL, stateDirectory: stateDirectory, file: file)
    }

    /// The state directory: flag, then file, then the default.
    func directory(_ file: ConfigFile?) -> URL {
        DaemonConfiguration.stateDirectory(flag: stateDirectory, file: file)
    }
}

/// The process's log level: `HEARTH_LOG_LEVEL`, else the configuration file's, else `info`;
/// `hearthd run`'s reloads change it.
let logLevel = LogLevelControl(.info)

/// Logs to the journal with structured fields when stderr goes there (under systemd), else plain
/// stderr lines, at `HEARTH_LOG_LEVEL`, else `level` (the file's), else `info`.
func makeLogger(level: String? = nil) -> Logger {
    logLevel.level = (ProcessInfo.processInfo.environment["HEARTH_LOG_LEVEL"] ?? level).flatMap(Logger.Level.init(rawValue:)) ?? .info
    SystemdLogging.bootstrap(identifier: "hearthd", control: logLevel)
    return Logger(label: "hearthd")
}

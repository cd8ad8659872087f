import ArgumentParser
import Foundation
import HearthDaemon
import HearthScheduler
import HearthSystemd
import Logging

/// `hearthd run`: the node daemon itself.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run this node: agent, leader duties (when elected) and the control socket, until SIGTERM.",
        discussion: """
            Settings come from flags, then environment variables, then the configuration file \
            (/etc/hearth/hearthd.toml or --config), then defaults. Docs/configuration.md lists every key.
            """)

    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp("Control socket path (env HEARTH_SOCKET).", valueName: "path"))
    var socket: String?

    @Option(help: "This node's name in the fleet (default: the host name).")
    var nodeName: String?

    @Option(help: "The account that donated this node (created as a donor if missing); it may reclaim the node and set its policy.")
    var donor: String?

    @Option(help: "Declare this many simulated GPUs (no hardware: tests and demos). Shown as simulated everywhere. Default 0.")
    var simulatedGpus: Int?

    @Option(help: "CPU-only jobs this node runs at once (GPU jobs are bounded by their GPUs). Default 2.")
    var slots: Int?

    @Option(help: "Unix group whose members are admins (root always is). Default hearth-admin.")
    var adminGroup: String?

    @Option(help: ArgumentHelp("The hearth-worker executable (default: beside hearthd).", valueName: "path"))
    var worker: String?

    @Option(help: "Seconds a lease lasts without renewal; a node silent this long is declared lost. Default 30.")
    var leaseSeconds: Int?

    @Option(help: "Seconds between lease renewals of running jobs. Default 5.")
    var heartbeatSeconds: Double?

    @Option(help: "Seconds a worker gets to checkpoint and exit after SIGTERM. Default 30.")
    var graceSeconds: Int?

    @Flag(help: "Serve Prometheus metrics at GET /metrics on the control socket (off by default).")
    var metrics = false

    @Option(help: ArgumentHelp(
        "A file holding the log level (debug, info...), read at start and on every reload (SIGHUP, hearthd reload).",
        valueName: "path"))
    var logLevelFile: String?

    @Flag(help: "Run jobs submitted by root, as root (allow_root_jobs in hearthd.toml). Off by default.")
    var allowRootJobs = false

    @Flag(help: .hidden)
    var allowTestHang = false

    /// Only the flags' own ranges; everything else is checked after the merge, where the
    /// message can say which source (flag, environment, file) a bad value came from.
    func validate() throws {
        if let n = simulatedGpus, n < 0 || n > 64 { throw ValidationError("--simulated-gpus must be between 0 and 64") }
        if let n = slots, n < 1 { throw ValidationError("--slots must be at least 1") }
        if let n = graceSeconds, n < 1 { throw ValidationError("--grace-seconds must be at least 1") }
    }

    func run() async throws {
        let file = try database.file()
        let logger = makeLogger(level: file?.logLevel)
        var flags = DaemonConfiguration.Flags()
        flags.databaseURL = database.databaseURL
        flags.stateDirectory = database.stateDirectory
        flags.socket = socket
        flags.nodeName = nodeName
        flags.donor = donor
        flags.simulatedGPUs = simulatedGpus
        flags.slots = slots
        flags.adminGroup = adminGroup
        flags.worker = worker
        flags.leaseSeconds = leaseSeconds
        flags.heartbeatSeconds = heartbeatSeconds
        flags.graceSeconds = graceSeconds
        flags.metrics = metrics
        flags.logLevelFile = logLevelFile
        flags.allowTestHang = allowTestHang
        flags.allowRootJobs = allowRootJobs
        var config: DaemonConfiguration
        do {
            config = try DaemonConfiguration.resolve(flags: flags, file: file, configFile: database.config ?? ConfigFile.defaultPath)
        } catch {
            throw ValidationError(error.description)
        }
        config.logLevel = logLevel
        if let level = try config.readLogLevel() { logLevel.level = level }
        try await Daemon.run(config, logger: logger)
    }
}

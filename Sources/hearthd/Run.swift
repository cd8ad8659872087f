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

    func validate() throws {
        if let n = simulatedGpus, n < 0 || n > 64 { throw ValidationError("--simulated-gpus must be between 0 and 64") }
        if let n = slots, n < 1 { throw ValidationError("--slots must be at least 1") }
        if let n = graceSeconds, n < 1 { throw ValidationError("--grace-seconds must be at least 1") }
    }

    func run() async throws {
        let file = try database.file()
        let logger = makeLogger(level: file?.logLevel)
        let env = ProcessInfo.processInfo.environment
        let location = database.location(file)
        let lease = leaseSeconds ?? file?.leaseSeconds ?? 30
        let heartbeat = heartbeatSeconds ?? file?.heartbeatSeconds ?? 5
        if heartbeat * 2 > Double(lease) {
            throw ValidationError("the heartbeat (\(heartbeat) s) must be at most half of the lease (\(lease) s), or leases lapse between renewals")
        }
        let grace = graceSeconds ?? file?.graceSeconds ?? 30
        var config = DaemonConfiguration(
            database: location, stateDirectory: database.directory(file),
            socketPath: socket ?? env["HEARTH_SOCKET"].flatMap { $0.isEmpty ? nil : $0 } ?? file?.socket,
            adminGroup: adminGroup ?? file?.adminGroup ?? "hearth-admin",
            nodeName: nodeName ?? file?.nodeName ?? ProcessInfo.processInfo.hostName,
            simulatedGPUs: simulatedGpus ?? file?.simulatedGPUs ?? 0, slots: slots ?? file?.slots ?? 2,
            workerPath: worker ?? file?.worker, leaseDuration: .seconds(lease),
            heartbeatInterval: .milliseconds(Int(heartbeat * 1000)), stopGracePeriod: .seconds(grace))
        config.donor = donor ?? file?.donor
        if let file {
            config.schedulerPolicy = file.scheduler
        }
        config.schedulerPolicy.preemptionGrace = Double(grace)
        config.metrics = metrics || file?.metrics == true
        if let address = file?.serveBindAddress { config.serveBindAddress = address }
        config.isolation = file?.isolation ?? config.isolation
        if allowRootJobs { config.isolation.allowRootJobs = true }
        config.logLevel = logLevel
        config.logLevelFile = logLevelFile
        config.configFile = database.config ?? ConfigFile.defaultPath
        config.allowTestHang = allowTestHang
        if let level = try config.readLogLevel() { logLevel.level = level }
        try await Daemon.run(config, logger: logger)
    }
}

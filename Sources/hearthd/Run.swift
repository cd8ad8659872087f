import ArgumentParser
import Foundation
import HearthDaemon
import HearthSystemd
import Logging

/// `hearthd run`: the node daemon itself.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run this node: agent, leader duties (when elected) and the control socket, until SIGTERM.")

    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp("Control socket path (env HEARTH_SOCKET).", valueName: "path"))
    var socket: String?

    @Option(help: "This node's name in the fleet (default: the host name).")
    var nodeName: String?

    @Option(help: "Declare this many simulated GPUs (no hardware: tests and demos). Shown as simulated everywhere.")
    var simulatedGpus = 0

    @Option(help: "Jobs this node runs at once.")
    var slots = 2

    @Option(help: "Unix group whose members are admins (root always is).")
    var adminGroup = "hearth-admin"

    @Option(help: ArgumentHelp("The hearth-worker executable (default: beside hearthd).", valueName: "path"))
    var worker: String?

    @Option(help: "Seconds a lease lasts without renewal; a node silent this long is declared lost.")
    var leaseSeconds = 30

    @Option(help: "Seconds between lease renewals of running jobs.")
    var heartbeatSeconds = 5.0

    @Option(help: "Seconds a worker gets to checkpoint and exit after SIGTERM.")
    var graceSeconds = 30

    @Option(help: ArgumentHelp(
        "A file holding the log level (debug, info...), read at start and on every reload (SIGHUP, hearthd reload).",
        valueName: "path"))
    var logLevelFile: String?

    @Flag(help: .hidden)
    var allowTestHang = false

    func validate() throws {
        if simulatedGpus < 0 || simulatedGpus > 64 { throw ValidationError("--simulated-gpus must be between 0 and 64") }
        if slots < 1 { throw ValidationError("--slots must be at least 1") }
        if heartbeatSeconds * 2 > Double(leaseSeconds) {
            throw ValidationError("--heartbeat-seconds must be at most half of --lease-seconds, or leases lapse between renewals")
        }
    }

    func run() async throws {
        let logger = makeLogger()
        let location = database.location
        let stateDirectory: URL
        switch location {
        case .embedded(let dir): stateDirectory = dir
        case .server: stateDirectory = database.stateDirectory.map { URL(fileURLWithPath: $0) } ?? StateDirectory.default()
        }
        let config = DaemonConfiguration(
            database: location, stateDirectory: stateDirectory, socketPath: socket, adminGroup: adminGroup,
            nodeName: nodeName ?? ProcessInfo.processInfo.hostName, simulatedGPUs: simulatedGpus, slots: slots,
            workerPath: worker, leaseDuration: .seconds(leaseSeconds),
            heartbeatInterval: .milliseconds(Int(heartbeatSeconds * 1000)), stopGracePeriod: .seconds(graceSeconds))
        var daemon = config
        daemon.logLevel = logLevel
        daemon.logLevelFile = logLevelFile
        daemon.allowTestHang = allowTestHang
        if let level = try daemon.readLogLevel() { logLevel.level = level }
        try await Daemon.run(daemon, logger: logger)
    }
}

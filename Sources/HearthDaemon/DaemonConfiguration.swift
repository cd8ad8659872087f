import Foundation
import HearthClient
import HearthScheduler
import HearthSystemd
import Logging

/// Everything `hearthd run` needs to know. Documented key by key in Docs/configuration.md.
public struct DaemonConfiguration: Sendable {
    /// The database: a server, or the embedded default under ``stateDirectory``.
    public var database: Database.Location
    /// Where job directories (and the embedded cluster) live.
    public var stateDirectory: URL
    /// The control socket. Defaults to `/run/hearth/hearth.sock` as root, else `$XDG_RUNTIME_DIR/hearth.sock`.
    public var socketPath: String
    /// Members of this Unix group (and root) are admins. Defaults to `hearth-admin`.
    public var adminGroup: String
    /// This node's name in the fleet. Defaults to the host name.
    public var nodeName: String
    /// Simulated GPUs to declare where none exist (tests, demos): shown as simulated everywhere.
    public var simulatedGPUs: Int
    /// Jobs this node runs at once (each also takes the GPUs it asks for). Defaults to `2`.
    public var slots: Int
    /// The worker executable. Defaults to `hearth-worker` beside `hearthd`.
    public var workerPath: String
    /// How long a claim or heartbeat keeps a lease. Defaults to 30 seconds.
    public var leaseDuration: Duration
    /// How often running jobs renew their lease. Defaults to 5 seconds.
    public var heartbeatInterval: Duration
    /// How long a worker may take to checkpoint and exit after SIGTERM. Defaults to 30 seconds.
    public var stopGracePeriod: Duration
    /// How often an idle node polls the queue when no notification wakes it. Defaults to 2 seconds.
    public var pollInterval: Duration
    /// The log level shared by every handler, changed by a reload (SIGHUP); `nil`: reloads change no level.
    public var logLevel: LogLevelControl?
    /// A file holding one log level name (`debug`, `info`...), read at start and at every reload.
    public var logLevelFile: String?
    /// Test-only: SIGUSR2 wedges the work loop so the watchdog's recovery can be tested (``FaultInjection``).
    public var allowTestHang = false

    /// Where the outcome of the last reload is written for `hearthd reload`:
    /// `$RUNTIME_DIRECTORY/reload-status` under systemd, else `STATE/reload-status`.
    public var reloadStatusPath: String {
        Self.reloadStatusPath(stateDirectory: stateDirectory)
    }

    /// ``reloadStatusPath`` for a state directory (shared with `hearthd reload`).
    public static func reloadStatusPath(
        stateDirectory: URL, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String {
        if let runtime = environment["RUNTIME_DIRECTORY"]?.split(separator: ":").first {
            return String(runtime) + "/reload-status"
        }
        return stateDirectory.appendingPathComponent("reload-status").path
    }

    /// The configuration file the daemon started with (`--config`, or the default path), whose
    /// `log_level` a reload re-reads.
    public var configFile: String?

    /// The level a reload applies: ``logLevelFile`` when one is configured, else the
    /// configuration file's `log_level` (unless `HEARTH_LOG_LEVEL` fixes it); `nil` = nothing to change.
    /// - Throws: when the file names no level, or the configuration file no longer parses
    ///   (the message names its line); the previous level then stays.
    public func readLogLevel(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Logger.Level? {
        if let path = logLevelFile {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
            let word = text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            guard let level = Logger.Level(rawValue: word) else {
                throw JobRunner.Error(message: """
                    \(path) says "\(word)", which is no log level; write one of \
                    \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))
                    """)
            }
            return level
        }
        guard environment["HEARTH_LOG_LEVEL"] == nil, let path = configFile else { return nil }
        do {
            return try ConfigFile.load(path: path, required: false)?.logLevel.flatMap(Logger.Level.init(rawValue:))
        } catch {
            throw JobRunner.Error(message: error.description)
        }
    }
    /// The fair-share scheduler's weights and limits (used by whichever node is the leader).
    /// Defaults to `SchedulerPolicy.default` with its preemption grace set to ``stopGracePeriod``.
    public var schedulerPolicy: SchedulerPolicy
    /// The account that donated this node (created as a donor if missing); `nil` = lab-owned.
    public var donor: String?
    /// Serve Prometheus metrics at `GET /metrics` on the control socket. Defaults to `false`.
    public var metrics: Bool = false
    /// The address serve jobs on this node listen on (`serve_bind_address`). Defaults to `127.0.0.1`.
    public var serveBindAddress = "127.0.0.1"
    /// The most bytes of fleet artifacts kept in `STATE/artifacts` (`artifact_cache_gib`). Defaults to 20 GiB.
    public var artifactCacheBytes: Int64 = 20 << 30
    /// How often the leader deletes unused artifact blobs (`artifact_collect_interval_minutes`);
    /// `nil` = never (0 in the file). Defaults to 60 minutes.
    public var artifactCollectInterval: Duration? = .seconds(3600)
    /// How old an unused blob must be to be collected (`artifact_collect_grace_minutes`). Defaults to 60 minutes.
    public var artifactCollectGrace: Duration = .seconds(3600)
    /// Who jobs run as and their cgroups' limits (Docs/isolation.md).
    public var isolation = IsolationPolicy()

    public init(database: Database.Location, stateDirectory: URL, socketPath: String? = nil, adminGroup: String = "hearth-admin",
                nodeName: String = ProcessInfo.processInfo.hostName, simulatedGPUs: Int = 0, slots: Int = 2,
                workerPath: String? = nil, leaseDuration: Duration = .seconds(30), heartbeatInterval: Duration = .seconds(5),
                stopGracePeriod: Duration = .seconds(30), pollInterval: Duration = .seconds(2)) {
        self.database = database
        self.stateDirectory = stateDirectory
        self.socketPath = socketPath ?? Self.defaultSocketPath()
        self.adminGroup = adminGroup
        self.nodeName = nodeName
        self.simulatedGPUs = simulatedGPUs
        self.slots = max(1, slots)
        self.workerPath = workerPath ?? Self.besideExecutable("hearth-worker")
        self.leaseDuration = leaseDuration
        self.heartbeatInterval = heartbeatInterval
        self.stopGracePeriod = stopGracePeriod
        self.pollInterval = pollInterval
        var policy = SchedulerPolicy.default
        policy.preemptionGrace = Double(stopGracePeriod.components.seconds)
        self.schedulerPolicy = policy
        self.donor = nil
    }

    /// `/run/hearth/hearth.sock` for root; `$XDG_RUNTIME_DIR/hearth.sock` (or `/tmp/hearth-UID.sock`) otherwise:
    /// ``ControlSocketPath/forDaemon(uid:environment:)``, the rule the CLI looks by.
    public static func defaultSocketPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        ControlSocketPath.forDaemon(uid: geteuid(), environment: environment)
    }

    static func besideExecutable(_ name: String) -> String {
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let candidate = exe.deletingLastPathComponent().appendingPathComponent(name).path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : name
    }
}

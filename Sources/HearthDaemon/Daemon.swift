import Foundation
import Synchronization
import HearthArtifacts
import HearthClient
import HearthScheduler
import HearthStore
import HearthSystemd
import Hummingbird
import Logging
import ServiceLifecycle
import UnixSignals

/// `hearthd run`: one ServiceGroup of the node's agent, the leader duties and the control socket.
public enum Daemon {
    /// Runs the daemon until SIGTERM or SIGINT, then drains: the control socket closes, running
    /// workers checkpoint and are requeued, the leader lock is released, the database closes.
    ///
    /// Under systemd it reports through `sd_notify` (``DaemonStatus``) and serves on the socket
    /// systemd passed, if any; elsewhere it binds ``DaemonConfiguration/socketPath`` itself.
    public static func run(_ configuration: DaemonConfiguration, logger: Logger) async throws {
        let notifier = Notifier()
        // Taken first: libsystemd unsets LISTEN_* and marks the descriptor close-on-exec.
        let activated = SocketActivation.takeControlSocket()
        // A daemon already serving this socket is named as such, before the state lock (which a
        // daemon on the same directory holds too) would name it by its directory.
        if activated == nil, ControlSocket.isListening(configuration.socketPath) {
            throw JobRunner.Error(message: "another hearthd is already listening on \(configuration.socketPath); stop it or choose --socket")
        }
        let lock = try StateLock.acquire(stateDirectory: configuration.stateDirectory)
        defer { lock.release() }
        notifier.extendTimeout(.seconds(120), status: "starting: opening the database")
        var db = try await openWaiting(configuration.database, notifier: notifier, logger: logger)
        do {
            try await migrate(&db, configuration: configuration, notifier: notifier, logger: logger)
            try await serve(configuration, db: db, notifier: notifier, activated: activated, logger: logger)
            // Only now is the daemon really exiting (systemd 252 treats STOPPING=1 as "stop now").
            notifier.stopping(status: "stopping: closing the database")
            try db.close()
        } catch {
            try? db.close()
            throw error
        }
    }

    /// Opens the database; a fleet server that is down now (refused, timed out, starting up) is
    /// waited for, with `STATUS=` saying so, rather than failing the start: the unit would only
    /// be restarted into the same outage until systemd's start limit gave up on it. What waiting
    /// cannot fix (a bad password, a missing database, the embedded cluster) fails at once.
    static func openWaiting(_ location: Database.Location, notifier: Notifier, logger: Logger) async throws -> Database {
        var pause: Duration = .milliseconds(500)
        var since: Date?
        while true {
            do {
                let db = try await Database.open(location, maxConnections: 8, logger: logger)
                if since != nil { logger.notice("the database answers; starting", metadata: ["hearth.event": "database-reachable"]) }
                return db
            } catch let error as PostgresError where error.isServerDown {
                if since == nil {
                    since = Date()
                    logger.error("the database is unreachable at start: \(error); waiting for it", metadata: [
                        "hearth.event": "database-unreachable"])
                }
                let at = since.map { DatabaseHealth.clockTime($0) } ?? ""
                notifier.extendTimeout(pause + .seconds(30), status: "starting: waiting for the database (unreachable since \(at))")
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(10))
            }
        }
    }

    /// Applies pending migrations with the owner's pool, then (embedded) moves the node's work to
    /// its own login role. A node holding only its node login cannot migrate: it refuses to start
    /// on a database older than itself, saying who can.
    static func migrate(_ db: inout Database, configuration: DaemonConfiguration, notifier: Notifier, logger: Logger) async throws {
        notifier.extendTimeout(.seconds(120), status: "starting: applying migrations")
        if let owner = db.owner {
            let applied = try await Migrator(client: owner).migrate()
            for m in applied { logger.info("applied migration \(m.fileName)") }
            // Root and the account running a daemon with the owner's credentials (user hearth
            // under systemd) installed the fleet: they are fleet admins, so a fresh install can do
            // everything at once. Root elsewhere is admin of its node only (no owner pool there).
            var installers = ["root"]
            if let pw = getpwuid(geteuid()) { installers.append(String(cString: pw.pointee.pw_name)) }
            for name in Set(installers) {
                try await owner.query("SELECT hearth_account_bootstrap_admin(\(name)::text)")
            }
        } else if let pending = try await Migrator(client: db.client).pending().first {
            throw JobRunner.Error(message: """
                the fleet's database lacks migration \(pending.fileName), and this node's login (an enrolled node's) \
                cannot apply migrations: run `hearthd migrate --database-url URL` with the database owner's URL, then start this node
                """)
        }
        try await db.actAsNode(hostname: configuration.nodeName, donor: configuration.donor)
    }

    private static func serve(
        _ configuration: DaemonConfiguration, db: Database, notifier: Notifier, activated: SocketActivation.Socket?, logger: Logger
    ) async throws {
        var queueConfig = JobQueue.Configuration()
        queueConfig.leaseDuration = configuration.leaseDuration
        let queue = JobQueue(client: db.client, configuration: queueConfig)
        let nodes = NodeStore(client: db.client)
        var gpus = GPUDiscovery.discover()
        if gpus.isEmpty {
            gpus = (0..<configuration.simulatedGPUs).map {
                NodeStore.GPU(index: $0, model: "simulated", memoryBytes: 16 << 30, simulated: true)
            }
        } else if configuration.simulatedGPUs > 0 {
            logger.notice("this node has \(gpus.count) real GPU(s); --simulated-gpus is ignored")
        }
        let accounts = AccountStore(client: db.client)
        var donorID: Int64?
        if let donor = configuration.donor { donorID = try await accounts.ensure(name: donor, role: .donor) }
        let nodeID = try await nodes.register(
            hostname: configuration.nodeName, cpus: ProcessInfo.processInfo.activeProcessorCount,
            memoryBytes: Int64(ProcessInfo.processInfo.physicalMemory), gpus: gpus, donorID: donorID)
        let log: Logger = {
            var l = logger
            l[metadataKey: "node.name"] = "\(configuration.nodeName)"
            return l
        }()

        let leaderFlag = LeaderFlag()
        let health = DatabaseHealth()
        let status = DaemonStatus(notifier: notifier, nodeName: configuration.nodeName, leader: leaderFlag, health: health)
        health.onChange { _ in status.refresh() }
        let faults = FaultInjection(allowed: configuration.allowTestHang)
        // Uploads and fetches hold a connection for seconds to minutes: a pool of their own, so
        // they never starve the lifecycle's heartbeats and transitions.
        var artifactPool = db.client.configuration
        artifactPool.maxConnections = 3
        artifactPool.applicationName += "-artifacts"
        let artifactClient = try PostgresClient(configuration: artifactPool)
        let artifactServices = ArtifactServices(
            store: PostgresBlobStore(client: artifactClient), catalog: ArtifactCatalog(client: db.client),
            cache: try ArtifactCache(
                directory: configuration.stateDirectory.appendingPathComponent("artifacts"),
                store: PostgresBlobStore(client: artifactClient), maxBytes: configuration.artifactCacheBytes))
        let runner = JobRunner(
            queue: queue,
            configuration: .init(
                workerPath: configuration.workerPath,
                jobsDirectory: configuration.stateDirectory.appendingPathComponent("jobs"),
                heartbeatInterval: configuration.heartbeatInterval, stopGracePeriod: configuration.stopGracePeriod,
                measureEnergy: gpus.contains { !$0.simulated }, isolation: {
                    var isolation = configuration.isolation
                    isolation.transientUnits = IsolationPolicy.underSystemd()
                    return isolation
                }(), serveBindAddress: configuration.serveBindAddress,
                artifacts: artifactServices),
            logger: log)
        // The agent's listener also tells the identity cache when accounts change, and the
        // listing cache when anything does.
        let accountChanges = ChangeEpoch(), jobChanges = ChangeEpoch()
        let agent = Agent(
            queue: queue, nodes: nodes, nodeID: nodeID, gpuIndices: gpus.map(\.index), configuration: configuration,
            runner: runner, wakeups: JobWakeups(configuration: db.client.configuration, reasons: Agent.wakeReasons,
                                                accountChanges: accountChanges, jobChanges: jobChanges), status: status, faults: faults, logger: log)
        let scheduler = Scheduler(policy: configuration.schedulerPolicy)
        let snapshots = SnapshotLoader(client: db.client, halfLife: configuration.schedulerPolicy.usageHalfLife)
        let leader = Leader(
            configuration: db.client.configuration, queue: queue, nodeDownAfter: configuration.leaseDuration,
            interval: .seconds(1), logger: log, isLeader: leaderFlag,
            scheduling: SchedulingPass(loader: snapshots, scheduler: scheduler, queue: queue, nodeID: nodeID, logger: log))
        var control = ControlServer(
            queue: queue, accounts: accounts, queries: APIQueries(client: db.client),
            adminGroup: configuration.adminGroup, logger: log, scheduler: scheduler, snapshots: snapshots,
            metrics: configuration.metrics ? MetricsEndpoint(client: db.client) : nil)
        control.artifacts = artifactServices
        control.health = HealthEndpoint(health: health, status: status, embedded: db.embedded != nil)
        control.fleet = db.owner
        control.nodeName = configuration.nodeName
        control.identities = IdentityCache(changes: accountChanges)
        control.listings = ListingCache(changes: jobChanges)

        let trapped = await SignalHandlers.trapping(faults: faults)
        let socketPath = configuration.socketPath
        let endpoint: ControlListener<RouterResponder<ControlContext>>.Endpoint
        if let activated {
            endpoint = .inherited(descriptor: activated.descriptor, path: socketPath)
            log.debug("serving on the socket systemd passed", metadata: ["socket.fd": "\(activated.descriptor)"])
        } else {
            try ControlSocket.prepare(path: socketPath)
            endpoint = .path(socketPath)
        }
        let bound = Mutex<ControlSocket.FileIdentity?>(nil)
        let listener = ControlListener(endpoint: endpoint, responder: control.makeRouter().buildResponder(), logger: log) {
            if activated == nil {
                ControlSocket.setPermissions(path: socketPath, logger: log)
                bound.withLock { $0 = ControlSocket.identity(path: socketPath) }
            }
            log.info("ready", metadata: ["socket": "\(socketPath)", "node.id": "\(nodeID)"])
            status.ready()
        }
        let signals = SignalHandlers(configuration: configuration, status: status, faults: faults, signals: trapped, logger: log)
        // The database's watchers: the probe (any server) and the embedded cluster's supervisor,
        // whose giving up ends the group with an error (hearthd exits non-zero; systemd restarts it).
        var services: [any Service] = [leader, agent, signals, listener, DatabaseProbe(database: db.client.configuration, health: health, logger: log)]
        services.append(CacheLocalityRecorder(cache: artifactServices.cache, database: db.client.configuration, nodeID: nodeID, logger: log))
        if let every = configuration.artifactCollectInterval {
            services.append(ArtifactCollector(
                database: db.client.configuration, interval: every, grace: configuration.artifactCollectGrace,
                isLeader: leaderFlag, logger: log))
        }
        if let cluster = db.embedded, let postmaster = db.postmaster {
            services.append(DatabaseSupervisor(cluster: cluster, first: postmaster, client: db.client, health: health, logger: log))
        }
        var groupConfiguration = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: log)
        // The drain's bound: workers get the grace period to checkpoint, then 15 s for the rest.
        // hearthd.service's TimeoutStopSec= (75 s) stays above it and the database's shutdown.
        groupConfiguration.maximumGracefulShutdownDuration = configuration.stopGracePeriod + .seconds(15)
        let group = ServiceGroup(configuration: groupConfiguration)
        try await group.run()
        // An inherited socket belongs to systemd's .socket unit: never unlink it.
        if activated == nil, let ours = bound.withLock({ $0 }) { ControlSocket.remove(path: socketPath, ifStill: ours) }
    }
}

/// The control socket's file: its directory, a stale file from a crash, and its permissions.
enum ControlSocket {
    /// Creates the directory, and removes a socket file that nobody listens on any more.
    /// - Throws: when another daemon is listening there.
    static func prepare(path: String) throws {
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        guard FileManager.default.fileExists(atPath: path) else { return }
        if isListening(path) {
            throw JobRunner.Error(message: "another hearthd is already listening on \(path); stop it or choose --socket")
        }
        unlink(path)
    }

    /// Mode 0660 and group `hearth`: that group's members may use the CLI. Without such a group
    /// (a developer's machine) every local user may connect, each known by their own uid.
    static func setPermissions(path: String, logger: Logger) {
        if let group = getgrnam("hearth") {
            _ = chown(path, geteuid(), group.pointee.gr_gid)
            chmod(path, 0o660)
        } else {
            chmod(path, 0o666)
            logger.notice("no 'hearth' group: the control socket is open to every local user (groupadd --system hearth to restrict it)")
        }
    }

    /// Which file a path names (device and inode).
    struct FileIdentity: Equatable, Sendable {
        var device: UInt64
        var inode: UInt64
    }

    static func identity(path: String) -> FileIdentity? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let device = (attributes[.systemNumber] as? NSNumber)?.uint64Value,
              let inode = (attributes[.systemFileNumber] as? NSNumber)?.uint64Value else { return nil }
        return FileIdentity(device: device, inode: inode)
    }

    /// Removes the socket file only if it is still the one this daemon bound: another daemon
    /// may have bound a new one there while this one was stopping.
    static func remove(path: String, ifStill ours: FileIdentity) {
        if identity(path: path) == ours { unlink(path) }
    }

    static func isListening(_ path: String) -> Bool {
        UnixSocket.accepts(path)
    }
}

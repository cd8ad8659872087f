import Foundation
import HearthScheduler
import HearthStore

extension DaemonConfiguration {
    /// What `hearthd run`'s flags said; `nil` = not given.
    public struct Flags: Sendable {
        public var databaseURL: String?
        public var stateDirectory: String?
        public var socket: String?
        public var nodeName: String?
        public var donor: String?
        public var simulatedGPUs: Int?
        public var slots: Int?
        public var adminGroup: String?
        public var worker: String?
        public var leaseSeconds: Int?
        public var heartbeatSeconds: Double?
        public var graceSeconds: Int?
        public var metrics = false
        public var logLevelFile: String?
        public var allowTestHang = false
        /// `--allow-root-jobs`: run jobs root submits (as root).
        public var allowRootJobs = false
        public init() {}
    }

    /// A setting whose value breaks a rule: ``description`` names the setting (and where it came
    /// from) and the rule. Nothing has been written when it is thrown.
    public struct SettingError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The daemon's configuration from flags, then environment variables, then the configuration
    /// file, then defaults (Docs/configuration.md), every value checked against its rule.
    /// - Parameters:
    ///   - configFile: the file's path, for reloads and for naming it in errors.
    /// - Throws: ``SettingError`` naming the first bad setting.
    public static func resolve(
        flags: Flags, environment: [String: String] = ProcessInfo.processInfo.environment, file: ConfigFile?, configFile: String
    ) throws(SettingError) -> DaemonConfiguration {
        let inFile = "in \(configFile)"
        func origin(_ flag: String, _ env: String? = nil, key: String, flagGiven: Bool, envGiven: Bool = false) -> String {
            if flagGiven { return "--\(flag)" }
            if envGiven, let env { return env }
            return "\(key) \(inFile)"
        }
        let env = environment

        // Where the database is (shared with hearthd migrate).
        let location = databaseLocation(flag: flags.databaseURL, stateDirectory: flags.stateDirectory, environment: env, file: file)
        if case .server(let conninfo) = location {
            do { try PostgresConnection.validate(conninfo: conninfo) } catch {
                let from = origin("database-url", "HEARTH_DATABASE_URL", key: "database_url", flagGiven: flags.databaseURL != nil,
                                  envGiven: env["HEARTH_DATABASE_URL"] != nil)
                throw SettingError(description: "\(from): \(error)")
            }
        }
        let state = stateDirectory(flag: flags.stateDirectory, environment: env, file: file)
        guard state.path.hasPrefix("/") else {
            throw SettingError(description: "the state directory \(state.path) must be an absolute path")
        }

        let lease = flags.leaseSeconds ?? file?.leaseSeconds ?? 30
        let heartbeat = flags.heartbeatSeconds ?? file?.heartbeatSeconds ?? 5
        let grace = flags.graceSeconds ?? file?.graceSeconds ?? 30
        if !(2...86_400).contains(lease) {
            throw SettingError(description: "\(origin("lease-seconds", key: "lease_seconds", flagGiven: flags.leaseSeconds != nil)) is \(lease); use 2 to 86400 seconds")
        }
        if !(heartbeat >= 0.05) {
            throw SettingError(description: "\(origin("heartbeat-seconds", key: "heartbeat_seconds", flagGiven: flags.heartbeatSeconds != nil)) is \(heartbeat); use at least 0.05 seconds")
        }
        if heartbeat * 2 > Double(lease) {
            throw SettingError(description: "the heartbeat (\(heartbeat) s) must be at most half of the lease (\(lease) s), or leases lapse between renewals")
        }
        if grace < 1 {
            throw SettingError(description: "\(origin("grace-seconds", key: "grace_seconds", flagGiven: flags.graceSeconds != nil)) must be at least 1")
        }
        let gpus = flags.simulatedGPUs ?? file?.simulatedGPUs ?? 0
        if !(0...64).contains(gpus) {
            throw SettingError(description: "\(origin("simulated-gpus", key: "simulated_gpus", flagGiven: flags.simulatedGPUs != nil)) is \(gpus); use 0 to 64")
        }
        let slots = flags.slots ?? file?.slots ?? 2
        if !(1...1024).contains(slots) {
            throw SettingError(description: "\(origin("slots", key: "slots", flagGiven: flags.slots != nil)) is \(slots); use 1 to 1024")
        }

        let socketFromEnv = env["HEARTH_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        let socket = flags.socket ?? socketFromEnv ?? file?.socket
        if let socket {
            let from = origin("socket", "HEARTH_SOCKET", key: "socket", flagGiven: flags.socket != nil, envGiven: socketFromEnv != nil)
            if !socket.hasPrefix("/") { throw SettingError(description: "\(from) \"\(socket)\" must be an absolute path") }
            // sockaddr_un holds 108 bytes, the terminating NUL included.
            if socket.utf8.count > 107 {
                throw SettingError(description: "\(from) is \(socket.utf8.count) bytes long; a Unix socket path holds at most 107: choose a shorter one")
            }
        }

        let nodeName = flags.nodeName ?? file?.nodeName ?? ProcessInfo.processInfo.hostName
        if let rule = Rules.nodeName(nodeName) {
            throw SettingError(description: "\(origin("node-name", key: "node_name", flagGiven: flags.nodeName != nil)) \"\(nodeName)\" \(rule)")
        }
        let donor = flags.donor ?? file?.donor
        if let donor, let rule = Rules.accountName(donor) {
            throw SettingError(description: "\(origin("donor", key: "donor", flagGiven: flags.donor != nil)) \"\(donor)\" \(rule)")
        }
        let adminGroup = flags.adminGroup ?? file?.adminGroup ?? "hearth-admin"
        if adminGroup.isEmpty || adminGroup.contains(where: { $0.isWhitespace || $0 == ":" || $0 == "/" }) {
            throw SettingError(description: "\(origin("admin-group", key: "admin_group", flagGiven: flags.adminGroup != nil)) \"\(adminGroup)\" is not a Unix group name: no spaces, ':' or '/'")
        }
        let worker = flags.worker ?? file?.worker
        if let worker, worker.contains("/"), !FileManager.default.isExecutableFile(atPath: worker) {
            throw SettingError(description: "\(origin("worker", key: "worker", flagGiven: flags.worker != nil)) \(worker) is not an executable file; point it at hearth-worker")
        }

        var config = DaemonConfiguration(
            database: location, stateDirectory: state, socketPath: socket, adminGroup: adminGroup, nodeName: nodeName,
            simulatedGPUs: gpus, slots: slots, workerPath: worker, leaseDuration: .seconds(lease),
            heartbeatInterval: .milliseconds(Int(heartbeat * 1000)), stopGracePeriod: .seconds(grace))
        config.donor = donor
        if let file { config.schedulerPolicy = file.scheduler }
        config.schedulerPolicy.preemptionGrace = Double(grace)
        config.metrics = flags.metrics || file?.metrics == true
        config.logLevelFile = flags.logLevelFile
        config.configFile = configFile
        config.allowTestHang = flags.allowTestHang
        if let address = file?.serveBindAddress { config.serveBindAddress = address }
        if let gib = file?.artifactCacheGiB { config.artifactCacheBytes = Int64(gib) << 30 }
        if let minutes = file?.artifactCollectIntervalMinutes {
            config.artifactCollectInterval = minutes > 0 ? .milliseconds(Int64(minutes * 60_000)) : nil
        }
        if let minutes = file?.artifactCollectGraceMinutes { config.artifactCollectGrace = .milliseconds(Int64(minutes * 60_000)) }
        config.isolation = file?.isolation ?? config.isolation
        if flags.allowRootJobs { config.isolation.allowRootJobs = true }
        return config
    }

    /// The database: flag, then `HEARTH_DATABASE_URL`, then the file, then the credentials
    /// `hearthd enroll` left in the state directory; unset everywhere = the embedded cluster
    /// under the state directory.
    public static func databaseLocation(
        flag: String?, stateDirectory: String?, environment: [String: String] = ProcessInfo.processInfo.environment, file: ConfigFile?
    ) -> Database.Location {
        if let url = flag ?? environment["HEARTH_DATABASE_URL"] ?? file?.databaseURL { return .server(url) }
        let state = Self.stateDirectory(flag: stateDirectory, environment: environment, file: file)
        if let enrolled = NodeCredentials.read(stateDirectory: state) { return .server(enrolled) }
        return .embedded(stateDirectory: state)
    }

    /// The state directory: flag, then the file, then the default (`$STATE_DIRECTORY`, ...).
    public static func stateDirectory(flag: String?, environment: [String: String] = ProcessInfo.processInfo.environment, file: ConfigFile?) -> URL {
        (flag ?? file?.stateDirectory).map { URL(fileURLWithPath: $0) } ?? StateDirectory.default(environment: environment)
    }

    /// The rules names must follow, as sentences; the database enforces the same ones.
    enum Rules {
        /// An account name is a Unix user name (accounts_name_check in Migrations/0001_schema.sql).
        static func accountName(_ name: String) -> String? {
            let ok = !name.isEmpty && name.utf8.count <= 64
                && name.first.map { ("a"..."z").contains($0) || $0 == "_" } == true
                && name.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || "_.-".contains($0) }
            return ok ? nil : """
                is not a valid account name: use 1 to 64 lower-case letters, digits, '_', '.' or '-', \
                starting with a letter or '_' (the donor's Unix user name)
                """
        }

        /// A node name: 1 to 253 printable characters without spaces or '/', like a host name.
        static func nodeName(_ name: String) -> String? {
            let ok = !name.isEmpty && name.utf8.count <= 253
                && name.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7f && $0 != "/" }
            return ok ? nil : "is not a valid node name: use 1 to 253 printable ASCII characters without spaces or '/', like a host name"
        }
    }
}

import Foundation

/// A private PostgreSQL cluster under Hearth's state directory, made with the installed server
/// binaries: the default when no database is configured.
///
/// `initdb` runs once; `start()` starts the server with no TCP listener (a Unix socket in a
/// directory only its owner can enter) and creates the database; `stop()` shuts it down cleanly.
/// PostgreSQL refuses to run as root, so when Hearth runs as root the cluster belongs to an
/// unprivileged system user (``Configuration/systemUser``, created if missing) and the server
/// binaries run through `runuser`.
public struct EmbeddedPostgres: Sendable {
    public struct Configuration: Sendable {
        /// The directory holding the cluster (`postgres/`); created if missing.
        public var stateDirectory: URL
        /// The database to create and connect to. Defaults to `"hearth"`.
        public var database: String
        /// The owner of the cluster when running as root. Defaults to `"hearth"`.
        public var systemUser: String
        /// Where `initdb`, `pg_ctl` and `postgres` live; `nil` finds the newest installed version.
        public var binDirectory: String?
        /// Durable by default; tests turn it off (fsync=off, synchronous_commit=off) for speed.
        public var durable: Bool
        /// Extra `postgresql.conf` lines (for example `max_connections = 200`).
        public var extraSettings: [String]
        /// `pg_hba.conf` lines placed before the default `local all all trust`.
        public var extraAuthenticationRules: [String]

        public init(
            stateDirectory: URL, database: String = "hearth", systemUser: String = "hearth",
            binDirectory: String? = nil, durable: Bool = true, extraSettings: [String] = [],
            extraAuthenticationRules: [String] = []
        ) {
            self.extraAuthenticationRules = extraAuthenticationRules
            self.stateDirectory = stateDirectory
            self.database = database
            self.systemUser = systemUser
            self.binDirectory = binDirectory
            self.durable = durable
            self.extraSettings = extraSettings
        }
    }

    /// A step of setting up the cluster that failed; `message` says what to do.
    public struct Error: Swift.Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    public let configuration: Configuration
    let root: URL
    var dataDirectory: URL { root.appendingPathComponent("data") }
    /// The directory holding the server's Unix socket.
    public var socketDirectory: URL { root.appendingPathComponent("run") }
    var logFile: URL { root.appendingPathComponent("server.log") }

    public init(configuration: Configuration) {
        self.configuration = configuration
        self.root = configuration.stateDirectory.appendingPathComponent("postgres")
    }

    /// The libpq conninfo of the cluster's database (Unix socket only).
    public var conninfo: String {
        "host=\(socketDirectory.path) dbname=\(configuration.database) user=\(owner)"
    }

    /// The conninfo of the cluster's database as role `user` (a node's login: Unix socket, trust).
    public func conninfo(user: String) -> String {
        "host=\(socketDirectory.path) dbname=\(configuration.database) user=\(user)"
    }

    /// The conninfo for maintenance connections (the `postgres` database).
    public var maintenanceConninfo: String {
        "host=\(socketDirectory.path) dbname=postgres user=\(owner)"
    }

    /// The server's owner: the system user when root, else whoever runs Hearth.
    public var owner: String {
        geteuid() == 0 ? configuration.systemUser : (ProcessInfo.processInfo.environment["USER"] ?? currentUserName())
    }

    /// Makes the cluster if needed, starts the server (adopting one left running by a crashed
    /// daemon), and creates the database. Returns the conninfo to use.
    @discardableResult
    public func start() async throws -> String {
        try await offThePool { try startServer() }
        try await createDatabase()
        return conninfo
    }

    /// Runs blocking set-up work on a dispatch thread, not on Swift's cooperative pool.
    private func offThePool(_ body: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Swift.Error>) in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }

    private func startServer() throws {
        let bin = try binaries()
        try prepareDirectories()
        if !FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("PG_VERSION").path) {
            try run(bin + "/initdb", [
                "-D", dataDirectory.path, "-U", owner, "--auth-local=trust", "--auth-host=reject",
                "-E", "UTF8", "--no-locale",
            ] + (configuration.durable ? [] : ["--no-sync"]), what: "create the PostgreSQL cluster (initdb)")
        }
        try writeSettings()
        if (try? run(bin + "/pg_ctl", ["status", "-D", dataDirectory.path], what: "check the server")) == nil {
            try run(bin + "/pg_ctl", [
                "start", "-w", "-t", "60", "-D", dataDirectory.path, "-l", logFile.path,
            ], what: "start PostgreSQL (its log is \(logFile.path))")
        }
    }

    /// Stops the server (fast shutdown: sessions are disconnected, nothing is lost).
    public func stop() throws {
        let bin = try binaries()
        if (try? run(bin + "/pg_ctl", ["status", "-D", dataDirectory.path], what: "check the server")) != nil {
            try run(bin + "/pg_ctl", ["stop", "-w", "-t", "60", "-m", "fast", "-D", dataDirectory.path],
                    what: "stop PostgreSQL")
        }
    }

    private func createDatabase() async throws {
        let connection = try await PostgresConnection.connect(conninfo: maintenanceConninfo, applicationName: "hearth-embedded")
        defer { connection.close() }
        let exists = try await connection.query("SELECT 1 FROM pg_database WHERE datname = \(configuration.database)")
        if exists.isEmpty {
            try await connection.query("CREATE DATABASE \(identifier: configuration.database)")
        }
    }

    // MARK: Set-up steps

    /// Finds the server binaries: the configured directory, `pg_config --bindir`, or the newest
    /// `/usr/lib/postgresql/N/bin` (Debian keeps them off the PATH).
    public func binaries() throws -> String {
        let fm = FileManager.default
        if let dir = configuration.binDirectory { return dir }
        let versions = (try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for v in versions.compactMap(Int.init).sorted(by: >) {
            let dir = "/usr/lib/postgresql/\(v)/bin"
            if fm.isExecutableFile(atPath: dir + "/initdb") { return dir }
        }
        for dir in ["/usr/local/bin", "/usr/bin", "/usr/local/pgsql/bin"] where fm.isExecutableFile(atPath: dir + "/initdb") {
            return dir
        }
        throw Error(message: """
            no PostgreSQL server binaries (initdb, pg_ctl) found: install them with \
            'apt-get install -y postgresql', or configure a database with --database-url
            """)
    }

    func prepareDirectories() throws {
        let fm = FileManager.default
        let socketPath = socketDirectory.appendingPathComponent(".s.PGSQL.5432").path
        if socketPath.utf8.count > 100 {
            throw Error(message: "the state directory path is too long for a Unix socket (\(socketPath)); choose a shorter --state-dir")
        }
        try fm.createDirectory(at: configuration.stateDirectory, withIntermediateDirectories: true)
        for dir in [root, dataDirectory, socketDirectory] {
            try fm.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        guard geteuid() == 0 else { return }
        let (uid, gid) = try systemUserIDs()
        for dir in [root, dataDirectory, socketDirectory] {
            if chown(dir.path, uid, gid) != 0 {
                throw Error(message: "cannot give \(dir.path) to user \(configuration.systemUser): \(String(cString: strerror(errno)))")
            }
        }
        // The unprivileged owner must be able to reach its directory from /.
        var dir = configuration.stateDirectory
        while dir.path != "/" {
            var st = stat()
            if stat(dir.path, &st) == 0, st.st_mode & 0o001 == 0, st.st_uid != uid {
                throw Error(message: """
                    user \(configuration.systemUser) cannot enter \(dir.path) (mode \(String(st.st_mode & 0o777, radix: 8))), \
                    which holds the embedded PostgreSQL cluster: use a state directory under /var/lib or /tmp
                    """)
            }
            dir = dir.deletingLastPathComponent()
        }
    }

    func writeSettings() throws {
        var lines = [
            "# Written by Hearth at every start; edit hearth-local.conf instead.",
            "listen_addresses = ''",
            "unix_socket_directories = '\(socketDirectory.path)'",
            "unix_socket_permissions = 0700",
            "max_connections = 200",
            "idle_in_transaction_session_timeout = '5min'",
            // Autovacuum looks for work every 10 s, not every minute: listings of a queue just
            // grown or cleared by a large array are slow until it has been (Migrations/0024).
            "autovacuum_naptime = '10s'",
        ]
        if !configuration.durable {
            lines += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        }
        lines += configuration.extraSettings
        lines.append("include_if_exists 'hearth-local.conf'")
        // Only the socket exists, in a 0700 directory: local trust reaches only its owner and root.
        let hba = dataDirectory.appendingPathComponent("pg_hba.conf")
        let rules = ["# Written by Hearth at every start."] + configuration.extraAuthenticationRules + ["local all all trust"]
        try (rules.joined(separator: "\n") + "\n").write(to: hba, atomically: true, encoding: .utf8)
        let settings = dataDirectory.appendingPathComponent("hearth.conf")
        try (lines.joined(separator: "\n") + "\n").write(to: settings, atomically: true, encoding: .utf8)
        let main = dataDirectory.appendingPathComponent("postgresql.conf")
        let text = try String(contentsOf: main, encoding: .utf8)
        if !text.contains("include 'hearth.conf'") {
            try (text + "\ninclude 'hearth.conf'\n").write(to: main, atomically: true, encoding: .utf8)
        }
        if geteuid() == 0 {
            let (uid, gid) = try systemUserIDs()
            _ = chown(settings.path, uid, gid)
            _ = chown(hba.path, uid, gid)
            _ = chown(main.path, uid, gid)
        }
    }
}

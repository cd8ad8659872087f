import Foundation
import HearthStore

/// The one PostgreSQL server of a test process, and the migrated template databases are copied from.
actor TestServer {
    static let shared = TestServer()

    struct Ready: Sendable {
        var conninfo: String
        var embedded: Bool
    }

    private var ready: Ready?
    /// Actors are reentrant: concurrent first callers share one start instead of racing.
    private var starting: Task<Ready, any Error>?
    private var counter = 0
    private var template: String { "hearth_template_\(getpid())" }

    func ready() async throws -> Ready {
        if let ready { return ready }
        if let starting { return try await starting.value }
        let task = Task { try await self.start() }
        starting = task
        return try await task.value
    }

    private func start() async throws -> Ready {
        let made: Ready
        if let url = ProcessInfo.processInfo.environment["HEARTH_TEST_DATABASE_URL"], !url.isEmpty {
            made = Ready(conninfo: url, embedded: false)
        } else {
            made = Ready(conninfo: try await startEmbedded(), embedded: true)
        }
        try await makeTemplate(on: made.conninfo)
        ready = made
        return made
    }

    func createDatabase() async throws -> String {
        counter += 1
        let name = "hearth_test_\(getpid())_\(counter)"
        try await maintenance { try await $0.query("CREATE DATABASE \(identifier: name) TEMPLATE \(identifier: self.template)") }
        return name
    }

    func dropDatabase(_ name: String) async {
        _ = try? await maintenance { try await $0.query("DROP DATABASE IF EXISTS \(identifier: name) WITH (FORCE)") }
    }

    @discardableResult
    private func maintenance<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        guard let conninfo = ready?.conninfo ?? pendingConninfo else { throw PostgresError(code: .misuse, message: "test server not ready") }
        let connection = try await PostgresConnection.connect(conninfo: conninfo, applicationName: "hearth-tests", database: "postgres")
        defer { connection.close() }
        return try await body(connection)
    }

    private var pendingConninfo: String?

    private func makeTemplate(on conninfo: String) async throws {
        pendingConninfo = conninfo
        try await maintenance { c in
            try await c.query("DROP DATABASE IF EXISTS \(identifier: self.template) WITH (FORCE)")
            try await c.query("CREATE DATABASE \(identifier: self.template)")
        }
        let client = try PostgresClient(configuration: .init(conninfo: conninfo, maxConnections: 1, database: template))
        defer { client.shutdown() }
        try await Migrator(client: client).migrate()
        if TestDatabase.usesEmbeddedServer {
            let role = TestDatabase.passwordRole
            _ = try? await client.query("DROP ROLE IF EXISTS \(identifier: role.name)")
            try await client.withConnection { c in
                try await c.execute(unsafeSQL: "CREATE ROLE \(role.name) LOGIN PASSWORD '\(role.password)'")
            }
        }
    }

    private func startEmbedded() async throws -> String {
        let directory = URL(fileURLWithPath: "/tmp/hearth-tests-\(getpid())")
        removeStaleClusters()
        let cluster = EmbeddedPostgres(configuration: .init(
            stateDirectory: directory, database: "postgres", durable: false,
            // Every suite runs at once, each test with its pools and daemons: a full run peaked at
            // 199 client connections (2026-12-06), at the default limit of 200.
            extraSettings: ["max_connections = 400"],
            // Node logins need their password here, as on a fleet's server (Docs/security.md).
            extraAuthenticationRules: ["local all \(TestDatabase.passwordRole.name) scram-sha-256",
                                       "local all +hearth_node scram-sha-256"]))
        try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        let conninfo = try await cluster.start()
        TestCleanup.register(cluster)
        return conninfo
    }

    /// Clusters left by test processes that died without stopping them.
    private func removeStaleClusters() {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []
        for entry in entries where entry.hasPrefix("hearth-tests-") {
            guard let pid = Int32(entry.dropFirst("hearth-tests-".count)), pid != getpid(), kill(pid, 0) != 0 else { continue }
            let dir = URL(fileURLWithPath: "/tmp/" + entry)
            try? EmbeddedPostgres(configuration: .init(stateDirectory: dir)).stop()
            try? FileManager.default.removeItem(at: dir)
        }
    }
}

/// Stops the test cluster when the test process exits.
enum TestCleanup {
    nonisolated(unsafe) private static var cluster: EmbeddedPostgres?

    static func register(_ cluster: EmbeddedPostgres) {
        self.cluster = cluster
        atexit {
            guard let cluster = TestCleanup.cluster else { return }
            try? cluster.stop()
            try? FileManager.default.removeItem(at: cluster.configuration.stateDirectory)
        }
    }
}

import Foundation
import HearthStore

/// A fresh, migrated PostgreSQL database for each test.
///
/// The server is `HEARTH_TEST_DATABASE_URL` when set (its role needs CREATEDB), otherwise a
/// private cluster that this test process creates under `/tmp` with the installed server
/// binaries (the same code as Hearth's embedded default) and stops when it exits. Each test
/// gets its own database, copied from a template migrated once per process, and dropped after.
public enum TestDatabase {
    /// Runs `body` with a pool on a new database, then drops the database.
    ///
    /// At most ``TestGate``'s limit of tests run their body at once; the others wait their turn
    /// (the drop happens after the turn is passed on).
    /// - Parameter body: receives the pool and the conninfo + database name for opening more.
    public static func with<T: Sendable>(
        maxConnections: Int = 8,
        _ body: (PostgresClient, TestDatabaseInfo) async throws -> T
    ) async throws -> T {
        let server = try await TestServer.shared.ready()
        let (name, result) = try await TestGate.withPermit { () async throws -> (String, Result<T, any Error>) in
            let name = try await TestServer.shared.createDatabase()
            let info = TestDatabaseInfo(conninfo: server.conninfo, database: name, embedded: server.embedded)
            do {
                let client = try PostgresClient(configuration: .init(
                    conninfo: server.conninfo, maxConnections: maxConnections, applicationName: "hearth-tests", database: name))
                defer { client.shutdown() }
                return (name, .success(try await body(client, info)))
            } catch {
                return (name, .failure(error))
            }
        }
        await TestServer.shared.dropDatabase(name)
        return try result.get()
    }

    /// Whether tests use the private cluster (no `HEARTH_TEST_DATABASE_URL`).
    public static var usesEmbeddedServer: Bool {
        (ProcessInfo.processInfo.environment["HEARTH_TEST_DATABASE_URL"] ?? "").isEmpty
    }

    /// A role on the test server that must log in with a password (embedded server only), for
    /// testing authentication failures.
    public static let passwordRole = (name: "hearth_password_test", password: "right-password")
}

/// Where a test database lives.
public struct TestDatabaseInfo: Sendable {
    /// The server's conninfo (without the database).
    public var conninfo: String
    /// The test's database name.
    public var database: String
    /// Whether the server is the private cluster made for this test run.
    public var embedded: Bool
    /// Makes the login of node `hostname` (a member of `hearth_node` with a password) through the
    /// owner's pool `owner`, and opens a pool on this database connected as it.
    /// - Returns: the pool, the login role's name and its password.
    public func makeNodeClient(owner: PostgresClient, hostname: String, donorID: Int64? = nil,
                               maxConnections: Int = 4) async throws -> (client: PostgresClient, role: String, password: String) {
        let password = try PostgresConninfo.randomPassword()
        let role = try await NodeLogins(client: owner).create(
            hostname: hostname,
            passwordVerifier: try await owner.withConnection { try $0.scramVerifier(password: password, user: hostname) },
            by: "tests", donorID: donorID, reuse: false)
        return (try nodeClient(role: role, password: password, maxConnections: maxConnections), role, password)
    }

    /// A pool on this database connected as `role` with `password`.
    public func nodeClient(role: String, password: String, maxConnections: Int = 4) throws -> PostgresClient {
        let conninfo = try PostgresConninfo.rewrite(conninfo, overriding: ["user": role, "password": password, "dbname": database])
        return try PostgresClient(configuration: .init(conninfo: conninfo, maxConnections: maxConnections, applicationName: "hearth-node"))
    }

    /// Opens another pool on the same database (a second "node").
    public func makeClient(maxConnections: Int = 8) throws -> PostgresClient {
        try PostgresClient(configuration: .init(
            conninfo: conninfo, maxConnections: maxConnections, applicationName: "hearth-tests", database: database))
    }
}

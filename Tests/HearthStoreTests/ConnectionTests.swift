import Foundation
import HearthStore
import HearthTesting
import Testing

@Suite(.timeLimit(.minutes(10))) struct ConnectionTests {
    @Test func runsStatementsWithBoundParameters() async throws {
        try await TestDatabase.with { client, _ in
            let evil = "'; DROP TABLE jobs; --"
            let rows = try await client.query("SELECT \(evil)::text AS v, \(41)::int + 1 AS n, \(nil as String?)::text AS z")
            #expect(try rows[0].decode("v", as: String.self) == evil)
            #expect(try rows[0].decode("n", as: Int.self) == 42)
            #expect(try rows[0].decode("z", as: String?.self) == nil)
            // The table is still there.
            #expect(try await client.query("SELECT count(*) AS n FROM jobs")[0].decode("n", as: Int.self) == 0)
        }
    }

    @Test func serverErrorsCarryTheSQLStateButNotTheValues() async throws {
        try await TestDatabase.with { client, _ in
            _ = try await client.query("INSERT INTO accounts (name) VALUES (\("secret_name"))")
            let error = await #expect(throws: PostgresError.self) {
                try await client.query("INSERT INTO accounts (name) VALUES (\("secret_name"))")
            }
            #expect(error?.code == .server)
            #expect(error?.sqlState == "23505")
            #expect(error?.description.contains("secret_name") == false)
            #expect(error?.debugDescription.contains("secret_name") == true)
        }
    }

    @Test func transactionsRollBackWhenTheBodyThrows() async throws {
        struct Boom: Error {}
        try await TestDatabase.with { client, _ in
            await #expect(throws: Boom.self) {
                try await client.withTransaction { c in
                    try await c.query("INSERT INTO accounts (name) VALUES ('alice')")
                    throw Boom()
                }
            }
            #expect(try await client.query("SELECT count(*) AS n FROM accounts")[0].decode("n", as: Int.self) == 0)
            try await client.withTransaction { c in
                try await c.query("INSERT INTO accounts (name) VALUES ('alice')")
            }
            #expect(try await client.query("SELECT count(*) AS n FROM accounts")[0].decode("n", as: Int.self) == 1)
        }
    }

    @Test func badConninfoIsOneClearLine() throws {
        let error = #expect(throws: PostgresError.self) {
            try PostgresClient(configuration: .init(conninfo: "host=/tmp nonsense_option=1"))
        }
        #expect(error?.code == .invalidConnectionString)
        #expect(error?.description.contains("invalid connection option \"nonsense_option\"") == true)
        #expect(error?.description.contains("\n") == false)
        let url = #expect(throws: PostgresError.self) {
            try PostgresClient(configuration: .init(conninfo: "postgresql://localhost/db?nonsense=1"))
        }
        #expect(url?.code == .invalidConnectionString)
        #expect(url?.description.contains("nonsense") == true)
    }

    @Test func aServerThatIsDownIsOneClearLine() async throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-no-server-\(getpid())")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let error = await #expect(throws: PostgresError.self) {
            try await PostgresConnection.connect(conninfo: "host=\(empty.path) dbname=x connect_timeout=2")
        }
        #expect(error?.code == .connectionFailed)
        #expect(error?.description.contains("No such file or directory") == true)
        #expect(error?.description.contains("Check that the server is running") == true)
        #expect(error?.description.contains("\n") == false)
    }

    @Test(.enabled(if: TestDatabase.usesEmbeddedServer, "needs the private cluster, which has a password-only role"))
    func aWrongPasswordIsOneClearLine() async throws {
        try await TestDatabase.with { _, info in
            let role = TestDatabase.passwordRole
            let error = await #expect(throws: PostgresError.self) {
                try await PostgresConnection.connect(
                    conninfo: info.conninfo + " user=\(role.name) password=wrong-password", database: info.database)
            }
            #expect(error?.code == .connectionFailed)
            #expect(error?.description.contains("password authentication failed for user \"\(role.name)\"") == true)
            #expect(error?.description.contains("wrong-password") == false)
            #expect(error?.description.contains("\n") == false)
            // The right password gets in: the failure above was about the password only.
            let ok = try await PostgresConnection.connect(
                conninfo: info.conninfo + " user=\(role.name) password=\(role.password)", database: info.database)
            ok.close()
        }
    }

    @Test func theEmbeddedClusterListensOnNoTCPPort() async throws {
        try await TestDatabase.with { client, info in
            guard info.embedded else { return }
            let rows = try await client.query("SHOW listen_addresses")
            #expect(try rows[0].decode("listen_addresses", as: String.self) == "")
        }
    }

    @Test func aPoolReplacesAKilledConnection() async throws {
        try await TestDatabase.with(maxConnections: 1) { client, info in
            let pid = try await client.withConnection { $0.backendPID }
            let admin = try info.makeClient(maxConnections: 1)
            defer { admin.shutdown() }
            try await admin.query("SELECT pg_terminate_backend(\(pid))")
            // The next lend finds the dead connection, fails once, and the one after works.
            _ = try? await client.query("SELECT 1")
            let pid2 = try await client.withConnection { $0.backendPID }
            #expect(pid2 != pid)
            #expect(try await client.query("SELECT 1 AS one")[0].decode("one", as: Int.self) == 1)
        }
    }
}

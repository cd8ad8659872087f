@testable import HearthDaemon
import HearthStore
import HearthTesting
import Logging
import Testing

/// The database probe asks on a connection of its own: a daemon's pool with every connection
/// busy is not a database outage, and a database that does not answer still is one.
@Suite struct DatabaseProbeTests {
    /// Samples `health` every 50 ms for `duration`; whether it read reachable every time.
    static func alwaysReachable(_ health: DatabaseHealth, for duration: Duration) async -> Bool {
        let clock = ContinuousClock()
        let end = clock.now + duration
        while clock.now < end {
            if !health.snapshot.reachable { return false }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return true
    }

    @Test func aPoolWithEveryConnectionBusyIsNotAnOutage() async throws {
        try await TestDatabase.with { _, info in
            // The daemon's pool: two connections, both held by 2.5-second statements.
            let pool = try info.makeClient(maxConnections: 2)
            defer { pool.shutdown() }
            let health = DatabaseHealth()
            let probe = DatabaseProbe(database: pool.configuration, health: health, logger: Logger(label: "test"),
                                      interval: .milliseconds(100), timeout: .milliseconds(500))
            let running = Task { try await probe.run() }
            defer { running.cancel() }
            let busy = (0..<2).map { _ in Task { try await pool.query("SELECT pg_sleep(2.5)") } }
            try await Task.sleep(for: .milliseconds(200))
            // Every pooled connection is taken: a statement on the pool would wait for 2 s more.
            let started = ContinuousClock.now
            #expect(await Self.alwaysReachable(health, for: .seconds(2)), "\(health.snapshot)")
            for task in busy { _ = try await task.value }
            #expect(ContinuousClock.now - started >= .seconds(2))
        }
    }

    @Test func aDatabaseThatDoesNotAnswerIsAnOutage() async throws {
        // No server listens in this directory.
        let nowhere = PostgresClient.Configuration(conninfo: "host=/nonexistent/hearth-probe-test dbname=x connect_timeout=1")
        let health = DatabaseHealth()
        let probe = DatabaseProbe(database: nowhere, health: health, logger: Logger(label: "test"),
                                  interval: .milliseconds(100), timeout: .milliseconds(500))
        let running = Task { try await probe.run() }
        defer { running.cancel() }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        while health.snapshot.reachable && clock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!health.snapshot.reachable)
        #expect(health.snapshot.detail != nil)
    }
}

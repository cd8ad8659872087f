import Foundation
@testable import HearthDaemon
import HearthStore
import HearthTesting
import Logging
import Testing

/// The database probe asks on a connection of its own: a daemon's pool with every connection
/// busy is not a database outage, and a database that does not answer still is one.
///
/// Both tests wait for what they look for (up to a minute) instead of timing it: beside the
/// other suites on 2 cores, a task can wait seconds for a thread.
@Suite struct DatabaseProbeTests {
    @Test func aPoolWithEveryConnectionBusyIsNotAnOutage() async throws {
        try await TestDatabase.with { owner, info in
            // The daemon's pool: two connections, both held by statements that sleep for a minute.
            let pool = try info.makeClient(maxConnections: 2)
            defer { pool.shutdown() }
            let busy = (0..<2).map { _ in Task { try? await pool.query("SELECT pg_sleep(60) /* probe-test */") } }
            func sleepers() async throws -> Int {
                try await owner.query("""
                    SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60) /* probe-test */%' AND state = 'active'
                    """)[0].decode("n", as: Int.self)
            }
            let clock = ContinuousClock()
            let wait = clock.now + .seconds(60)
            while try await sleepers() < 2 && clock.now < wait { try await Task.sleep(for: .milliseconds(20)) }
            #expect(try await sleepers() == 2, "both pooled connections should be busy")
            let busySince = Date()

            let health = DatabaseHealth()
            let probe = DatabaseProbe(database: pool.configuration, health: health, logger: Logger(label: "test"),
                                      interval: .milliseconds(100), timeout: .seconds(120))
            // The timeout only has to outlast a starved test process: with 3 s, a loaded CI run
            // saw one answer, then a probe that waited 3 s for a thread and read as an outage.
            let running = Task { try await probe.run() }
            // On the pool, the probe's SELECT 1 would wait the minute out; on its own connection it
            // is answered while both pooled connections are still busy.
            while (health.lastAnswer ?? .distantPast) <= busySince && clock.now < wait {
                try await Task.sleep(for: .milliseconds(20))
            }
            let answered = health.lastAnswer
            let reachable = health.snapshot.reachable
            let stillBusy = try await sleepers()
            running.cancel()
            _ = try await owner.query("SELECT pg_cancel_backend(pid) AS c FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60) /* probe-test */%'")
            for task in busy { _ = await task.value }
            #expect(answered.map { $0 > busySince } == true, "the probe had no answer while the pool was busy")
            #expect(stillBusy == 2)
            #expect(reachable)
        }
    }

    @Test func aDatabaseThatDoesNotAnswerIsAnOutage() async throws {
        // No server listens in this directory.
        let nowhere = PostgresClient.Configuration(conninfo: "host=/nonexistent/hearth-probe-test dbname=x connect_timeout=1")
        let health = DatabaseHealth()
        let probe = DatabaseProbe(database: nowhere, health: health, logger: Logger(label: "test"),
                                  interval: .milliseconds(100), timeout: .seconds(600))
        // The connect fails at once (no such socket). The timeout only has to outlast the test
        // process being starved: in a CI run on a loaded machine every suite stalled for 43 s at
        // the start, the probe's 20 s timeout ran out first and the outage read "no answer
        // within 20.0 seconds" instead of naming the socket.
        let running = Task { try await probe.run() }
        defer { running.cancel() }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(300)
        while health.snapshot.reachable && clock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!health.snapshot.reachable)
        #expect(health.snapshot.detail?.contains("/nonexistent/hearth-probe-test") == true, "\(health.snapshot)")
        #expect(health.lastAnswer == nil)
    }
}

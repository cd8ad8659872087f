import Foundation
import HearthStore
import Logging
import Synchronization
import ServiceLifecycle

/// Keeps the embedded PostgreSQL running: sees its postmaster die the moment it does (it is this
/// process's child), starts it again with a backoff (the server replays its WAL itself), tells the
/// pool to drop the connections the crash broke, and carries on. The listeners (`LISTEN`) and the
/// leader's lock reconnect on their own.
///
/// When the server cannot be kept up (it fails to start `maxAttempts` times in a row, or dies
/// `maxCrashes` times within `crashWindow`), the supervisor gives up loudly: a critical journal
/// entry saying what failed and where the server's log is, then an error that makes `hearthd`
/// exit non-zero, so that systemd's `Restart=` takes over.
struct DatabaseSupervisor: Service {
    let cluster: EmbeddedPostgres
    let first: EmbeddedPostgres.Postmaster
    let client: PostgresClient
    let health: DatabaseHealth
    let logger: Logger
    var maxAttempts = 6
    var maxCrashes = 5
    var crashWindow: Duration = .seconds(600)

    struct GaveUp: Error, CustomStringConvertible {
        var description: String
    }

    func run() async throws {
        var postmaster = first
        let clock = ContinuousClock()
        var crashes: [ContinuousClock.Instant] = []
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let watched = postmaster
            let how = await cancelWhenShuttingDown { await watched.exited() }
            guard let how, !Task.isShuttingDownGracefully, !Task.isCancelled else { return }
            let died = clock.now
            crashes = crashes.filter { died - $0 < crashWindow } + [died]
            let what = "the embedded PostgreSQL server (pid \(postmaster.pid)) \(how)"
            health.postmaster(down: "\(what); restarting it")
            logger.error("\(what); restarting it (its log: \(cluster.serverLog))", metadata: [
                "hearth.event": "database-crashed", "db.log": "\(cluster.serverLog)"])
            if crashes.count > maxCrashes {
                throw giveUp("\(what), its \(crashes.count)th crash in \(crashWindow); not restarting it again")
            }
            client.discardIdleConnections()
            var backoff: Duration = .milliseconds(100)
            var attempt = 0
            while true {
                attempt += 1
                do {
                    postmaster = try await cluster.launch(timeout: .seconds(60))
                    break
                } catch {
                    if Task.isShuttingDownGracefully || Task.isCancelled { return }
                    logger.warning("restarting the embedded PostgreSQL failed (attempt \(attempt) of \(maxAttempts)): \(error)")
                    if attempt >= maxAttempts {
                        throw giveUp("the embedded PostgreSQL could not be restarted after it \(how): \(error)")
                    }
                    try? await Task.sleep(for: backoff)
                    backoff = min(backoff * 3, .seconds(5))
                }
            }
            client.discardIdleConnections()
            health.postmaster(down: nil)
            let took = clock.now - died
            let seconds = Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18
            logger.notice("the embedded PostgreSQL is back (pid \(postmaster.pid)) after \(String(format: "%.2f", seconds)) s",
                          metadata: ["hearth.event": "database-restarted"])
        }
    }

    private func giveUp(_ why: String) -> GaveUp {
        let message = "\(why). Giving up so that the service manager restarts hearthd; the server's log is \(cluster.serverLog)"
        logger.critical("\(message)", metadata: ["hearth.event": "database-gave-up", "db.log": "\(cluster.serverLog)"])
        return GaveUp(description: message)
    }
}

/// Asks the database `SELECT 1` every `interval`, and records in ``DatabaseHealth`` whether it
/// answered within `timeout`: how an outage of an external server (a partition, a failover) is
/// seen, and how its end is.
///
/// It asks on a connection of its own, not the daemon's pool: a pool whose every connection is
/// busy (a burst of array expansions beside a long scheduling pass) is not an outage, and on the
/// shared pool one such burst made `hearth queue` say the database was unreachable.
struct DatabaseProbe: Service {
    /// The database's configuration (the probe opens one connection with it).
    let database: PostgresClient.Configuration
    let health: DatabaseHealth
    let logger: Logger
    var interval: Duration = .seconds(1)
    var timeout: Duration = .seconds(3)

    func run() async throws {
        var configuration = database
        configuration.maxConnections = 1
        configuration.applicationName = "hearthd-probe"
        let client = try PostgresClient(configuration: configuration)
        defer { client.shutdown() }
        var wasDown = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let failure = await probeOnce(client)
            health.probe(failure: failure)
            if let failure, !wasDown {
                logger.error("the database is unreachable: \(failure); running jobs continue, new work waits", metadata: [
                    "hearth.event": "database-unreachable"])
            } else if failure == nil, wasDown {
                logger.notice("the database is reachable again", metadata: ["hearth.event": "database-reachable"])
            }
            wasDown = failure != nil
            try? await Task.sleep(for: interval)
        }
    }

    /// `nil` when the database answered in time; otherwise why not. A statement that hangs (a
    /// dead TCP peer) is left to finish in the background and counts as a failure.
    private func probeOnce(_ client: PostgresClient) async -> String? {
        let result = ProbeResult()
        let task = Task {
            do {
                try await client.query("SELECT 1")
                result.set(nil)
            } catch {
                result.set("\(error)")
            }
        }
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if let r = result.get() { return r }
            try? await Task.sleep(for: .milliseconds(20))
        }
        _ = task
        return result.get() ?? "no answer within \(timeout)"
    }
}

/// The probe's outcome: unset, answered (`.some(nil)`), or failed (`.some(message)`).
private final class ProbeResult: Sendable {
    private let value = Mutex<String??>(nil)
    func set(_ v: String?) { value.withLock { $0 = .some(v) } }
    func get() -> String?? { value.withLock { $0 } }
}

import Foundation
import HearthArtifacts
import HearthStore
import Logging
import ServiceLifecycle

/// A leader duty: every `interval`, deletes the fleet's blobs that no artifact uses any more and
/// that are older than `grace` (removed datasets, checkpoints past `keep_checkpoints`, uploads
/// whose artifact was never created). Only the node that holds the leader lock collects; a new
/// leader collects once at once, then every `interval`.
///
/// A service of its own beside ``Leader`` so that a long delete (gigabytes of chunks) never
/// delays a scheduling pass. It wakes every second to notice leadership and shutdown. Each run
/// opens a connection of its own and closes it: a pool would keep one open for good, for a
/// statement run once an hour.
struct ArtifactCollector: Service {
    let database: PostgresClient.Configuration
    let interval: Duration
    let grace: Duration
    let isLeader: LeaderFlag
    let logger: Logger

    func run() async throws {
        let clock = ContinuousClock()
        var last: ContinuousClock.Instant? = nil
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if !isLeader.get() {
                last = nil
            } else if last.map({ clock.now - $0 >= interval }) ?? true {
                last = clock.now
                await collectOnce()
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// One collection, logged; a failure is logged and retried at the next interval.
    func collectOnce() async {
        let start = ContinuousClock.now
        do {
            let connection = try await PostgresConnection.connect(
                conninfo: database.conninfo, applicationName: database.applicationName + "-collect", database: database.database)
            defer { connection.close() }
            let freed = try await ArtifactCatalog.collectUnused(olderThan: grace, on: connection)
            let took = ContinuousClock.now - start
            let level: Logger.Level = freed.blobs > 0 ? .notice : .debug
            logger.log(level: level, "collected \(freed.blobs) unused artifact blob(s), \(freed.bytes) bytes, older than \(grace)", metadata: [
                "hearth.event": "artifacts-collected", "artifact.blobs_freed": "\(freed.blobs)",
                "artifact.bytes_freed": "\(freed.bytes)", "duration": "\(took)"])
        } catch {
            logger.warning("artifact collection failed; retrying in \(interval): \(error)", metadata: [
                "hearth.event": "artifacts-collect-failed"])
        }
    }
}

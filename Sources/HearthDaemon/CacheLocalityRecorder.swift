import Foundation
import HearthArtifacts
import HearthStore
import Logging
import ServiceLifecycle

/// Keeps the fleet's record of which blobs this node's artifact cache holds
/// (`node_cached_blobs`, Migrations/0015) in step with the cache, so the scheduler can prefer,
/// among otherwise equal nodes, the one that already has a job's inputs.
///
/// Records the whole list at start (the cache may have been wiped or filled while the daemon was
/// down), within a second of the cache gaining or evicting a blob (its ``ArtifactCache/generation``
/// moved), and every `refresh` in any case. The record is a hint: a write that fails is retried
/// at the next turn, and a stale entry only costs a fetch. Each record opens a connection of its
/// own and closes it: the daemon's pool, grown by one more concurrent user at start, would keep
/// the extra connection for good (one per node on the fleet's server).
struct CacheLocalityRecorder: Service {
    let cache: ArtifactCache
    let database: PostgresClient.Configuration
    let nodeID: Int64
    let logger: Logger
    var refresh: Duration = .seconds(300)

    func run() async throws {
        let clock = ContinuousClock()
        var recorded: (generation: Int, at: ContinuousClock.Instant)? = nil
        var failing = RepeatingWarning("recording this node's cached blobs", logger: logger)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let generation = await cache.generation
            if recorded.map({ $0.generation != generation || clock.now - $0.at >= refresh }) ?? true {
                do {
                    // Hex names, no commas: one text parameter split by the server.
                    let blobs = await cache.blobNames().joined(separator: ",")
                    let connection = try await PostgresConnection.connect(
                        conninfo: database.conninfo, applicationName: database.applicationName + "-cache", database: database.database)
                    defer { connection.close() }
                    let n = try await connection.query("""
                        SELECT hearth_node_cache_record(\(nodeID)::bigint, string_to_array(\(blobs)::text, ',')) AS n
                        """)[0].decode("n", as: Int.self)
                    recorded = (generation, clock.now)
                    logger.debug("recorded this node's cached blobs", metadata: ["artifact.cached_blobs": "\(n)"])
                    failing.succeeded()
                } catch {
                    failing.failed("could not record this node's cached blobs (retrying): \(error)")
                }
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}

import Foundation
import HearthStore
import Logging

/// The daemon's PostgreSQL: a configured server, or the embedded default.
public struct Database: Sendable {
    /// Which server to use.
    public enum Location: Sendable, Hashable {
        /// A libpq conninfo string or URL (`""` means the `PG*` environment).
        case server(String)
        /// A private cluster under this state directory, created on first use.
        case embedded(stateDirectory: URL)
    }

    /// The connection pool.
    public let client: PostgresClient
    /// The embedded cluster, if this database is one; stop it with ``close()``.
    public let embedded: EmbeddedPostgres?
    /// The embedded cluster's server as first started (``DatabaseSupervisor`` watches it and
    /// starts the next one when it dies).
    public var postmaster: EmbeddedPostgres.Postmaster? = nil

    /// Opens the database: starts the embedded cluster when needed, then checks the connection.
    /// - Parameters:
    ///   - location: where the database is.
    ///   - maxConnections: the pool size. Defaults to `8`.
    ///   - applicationName: shown in `pg_stat_activity`.
    public static func open(
        _ location: Location, maxConnections: Int = 8, applicationName: String = "hearthd", logger: Logger
    ) async throws -> Database {
        switch location {
        case .server(let conninfo):
            let client = try PostgresClient(configuration: .init(
                conninfo: conninfo, maxConnections: maxConnections, applicationName: applicationName))
            try await client.query("SELECT 1")
            return Database(client: client, embedded: nil)
        case .embedded(let stateDirectory):
            let cluster = EmbeddedPostgres(configuration: .init(stateDirectory: stateDirectory))
            logger.debug("starting embedded PostgreSQL", metadata: ["db.directory": "\(stateDirectory.path)/postgres"])
            let postmaster = try await cluster.launch()
            let client = try PostgresClient(configuration: .init(
                conninfo: cluster.conninfo, maxConnections: maxConnections, applicationName: applicationName))
            return Database(client: client, embedded: cluster, postmaster: postmaster)
        }
    }

    /// Closes the pool and stops the embedded cluster, if any.
    public func close() throws {
        client.shutdown()
        try embedded?.stop()
    }
}

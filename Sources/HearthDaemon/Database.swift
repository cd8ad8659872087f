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

    /// The connection pool of the node's work: as the node's own login role on the embedded
    /// default (after ``actAsNode(hostname:)``) and with an enrolled node's credentials, else the
    /// configured role.
    public private(set) var client: PostgresClient
    /// The owner's pool (migrations, fleet-wide admin actions), where this node holds the owner's
    /// credentials: the embedded cluster, or a configured role that is not a node's login. `nil`
    /// on an enrolled node, whose database role cannot act fleet-wide.
    public private(set) var owner: PostgresClient?
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
            let node = try await NodeLogins(client: client).sessionIsNode()
            return Database(client: client, owner: node ? nil : client, embedded: nil)
        case .embedded(let stateDirectory):
            let cluster = EmbeddedPostgres(configuration: .init(stateDirectory: stateDirectory))
            logger.debug("starting embedded PostgreSQL", metadata: ["db.directory": "\(stateDirectory.path)/postgres"])
            let postmaster = try await cluster.launch()
            let client = try PostgresClient(configuration: .init(
                conninfo: cluster.conninfo, maxConnections: maxConnections, applicationName: applicationName))
            return Database(client: client, owner: client, embedded: cluster, postmaster: postmaster)
        }
    }

    /// On the embedded cluster (after migrations): the node's work moves to a pool connected as
    /// its own login role, made on first start, so the daemon's own node is bound like any other
    /// (Docs/security.md). Elsewhere nothing changes: the configured role is what it is.
    /// - Parameter donor: the configured donor account (created as a donor if new).
    public mutating func actAsNode(hostname: String, donor: String? = nil, applicationName: String = "hearthd",
                                   maxConnections: Int = 8) async throws {
        guard let cluster = embedded, let owner else { return }
        var donorID: Int64?
        if let donor { donorID = try await AccountStore(client: owner).ensure(name: donor, role: .donor) }
        let role = try await NodeLogins(client: owner).create(
            hostname: hostname, passwordVerifier: nil, by: "local", donorID: donorID, reuse: true)
        let node = try PostgresClient(configuration: .init(
            conninfo: cluster.conninfo(user: role), maxConnections: maxConnections, applicationName: applicationName))
        try await node.query("SELECT 1")
        client = node
    }

    /// Closes the pools and stops the embedded cluster, if any.
    public func close() throws {
        client.shutdown()
        if let owner, owner !== client { owner.shutdown() }
        try embedded?.stop()
    }
}

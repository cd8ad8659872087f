import Foundation
import HearthStore

extension ArtifactCatalog {
    /// What one collection removed.
    public struct Collected: Sendable, Hashable {
        /// Blobs deleted (each with its chunks).
        public var blobs: Int64
        /// Their bytes.
        public var bytes: Int64
    }

    /// Deletes the blobs no artifact uses that are older than `grace`, with their chunks, and
    /// says how many and how large (`hearth_artifact_collect_counted`, Migrations/0015). A node's
    /// login may not pass a grace under 10 minutes.
    @discardableResult
    public func collectUnused(olderThan grace: Duration) async throws -> Collected {
        try await client.withConnection { try await Self.collectUnused(olderThan: grace, on: $0) }
    }

    /// ``collectUnused(olderThan:)`` on a connection of the caller's (a duty that runs once an
    /// hour opens its own rather than growing a pool for good).
    @discardableResult
    public static func collectUnused(olderThan grace: Duration, on connection: PostgresConnection) async throws -> Collected {
        let row = try await connection.query("SELECT blobs, bytes FROM hearth_artifact_collect_counted(\(grace)::interval)")[0]
        return Collected(blobs: try row.decode("blobs"), bytes: try row.decode("bytes"))
    }
}

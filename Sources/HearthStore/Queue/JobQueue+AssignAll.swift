import Foundation
import HearthCore

extension JobQueue {
    /// One placement decided by a scheduling pass.
    public struct Placement: Sendable, Hashable {
        public var jobID: Int64
        public var nodeID: Int64
        public var gpuIndices: [Int]

        public init(jobID: Int64, nodeID: Int64, gpuIndices: [Int]) {
            self.jobID = jobID
            self.nodeID = nodeID
            self.gpuIndices = gpuIndices
        }
    }

    /// Every placement of one scheduling pass, each exactly as ``assign(jobID:nodeID:gpuIndices:)``
    /// makes it (`hearth_place`; a refusal is `nil` in its place), in one transaction: one commit
    /// and one WAL flush for the pass instead of one per job, and the nodes' agents woken once.
    /// Placing 30 freed slots one commit at a time took 400–500 ms on a loaded 2-core node, and
    /// slots freed meanwhile waited for it. The transaction holds the placed rows' locks until it
    /// commits (a cancel of one of them waits those few milliseconds).
    ///
    /// A statement that fails (not a refusal: an error) rolls the batch back; the placements are
    /// then made one by one as before, so one bad job cannot hold up the others.
    public func assignAll(_ placements: [Placement]) async throws -> [Lease?] {
        guard placements.count > 1 else {
            return try await placements.asyncMap { try await assign(jobID: $0.jobID, nodeID: $0.nodeID, gpuIndices: $0.gpuIndices) }
        }
        do {
            return try await client.withTransaction { connection in
                var leases: [Lease?] = []
                for p in placements {
                    let rows = try await connection.query("""
                        SELECT r_attempt, r_epoch, r_expires_at
                        FROM hearth_place(\(p.jobID)::bigint, \(p.nodeID)::bigint, \(p.gpuIndices)::int[], \(configuration.leaseDuration)::interval)
                        """)
                    leases.append(try rows.first.map { row in
                        Lease(jobID: p.jobID, nodeID: p.nodeID, attempt: try row.decode("r_attempt"),
                              epoch: try row.decode("r_epoch"), expiresAt: try row.decode("r_expires_at"))
                    })
                }
                return leases
            }
        } catch let error as PostgresError where error.code == .server {
            return try await placements.asyncMap { try await assign(jobID: $0.jobID, nodeID: $0.nodeID, gpuIndices: $0.gpuIndices) }
        }
    }
}

private extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        out.reserveCapacity(count)
        for element in self { out.append(try await transform(element)) }
        return out
    }
}

import Foundation
import HearthCore
import HearthStore
import HearthTesting

/// An account and two nodes on a fresh database, and the queue over it.
struct QueueFixture {
    let client: PostgresClient
    let queue: JobQueue
    let account: Int64
    let node: Int64
    let otherNode: Int64

    init(client: PostgresClient, configuration: JobQueue.Configuration = .init()) async throws {
        self.client = client
        self.queue = JobQueue(client: client, configuration: configuration)
        self.account = try await AccountStore(client: client).ensure(name: "alice", uid: 1000)
        let nodes = NodeStore(client: client)
        let gpu = { (i: Int) in NodeStore.GPU(index: i, model: "simulated-A100", memoryBytes: 80 << 30, simulated: true) }
        self.node = try await nodes.register(hostname: "node-a", cpus: 2, memoryBytes: 8 << 30, gpus: (0..<4).map(gpu))
        self.otherNode = try await nodes.register(hostname: "node-b", cpus: 2, memoryBytes: 8 << 30, gpus: (0..<4).map(gpu))
    }

    func submit(_ kind: JobKind = .train, gpus: Int = 1, priority: Int = 0, maxAttempts: Int = 3, key: String? = nil,
                spec: String = #"{"steps": 10}"#) async throws -> Job {
        try await queue.enqueue(NewJob(
            kind: kind, accountID: account, specJSON: spec, priority: priority, gpus: gpus, idempotencyKey: key,
            maxAttempts: maxAttempts)).job
    }

    /// Places the next queued job on a node through `assign`, the leader's production path.
    func place(on node: Int64? = nil, gpus: [Int] = [0, 1, 2, 3]) async throws -> (Job, Lease)? {
        try await queue.placeNext(nodeID: node ?? self.node, freeGPUIndices: gpus)
    }

    /// Moves a held job's lease into the past, as if its node stopped heartbeating long ago.
    func expireLease(of jobID: Int64, secondsAgo: Int = 60) async throws {
        try await client.query("""
            UPDATE jobs SET lease_expires_at = now() - make_interval(secs => \(secondsAgo)) WHERE id = \(jobID)
            """)
    }

    func count(_ sql: PostgresQuery) async throws -> Int {
        try await client.query(sql)[0].decode("n", as: Int.self)
    }
}

import Foundation
import HearthCore
import HearthStore
import HearthTesting
import Testing

/// A node that stops gracefully takes no more placements, and a job only placed on a node that
/// went away (never started there) is requeued without spending one of its attempts.
@Suite(.timeLimit(.minutes(10))) struct NodeStoppingTests {
    @Test func aStoppingNodeIsMarkedDownAndTakesNothingUntilItRegistersAgain() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            let nodes = NodeStore(client: client)
            #expect(try await nodes.stopping(nodeID: f.node) == .down)
            _ = try await f.submit()
            #expect(try await f.place(on: f.node) == nil, "a stopping node gets no placement")
            #expect(try await f.place(on: f.otherNode) != nil, "the other node does")
            // The next start registers it up again.
            _ = try await nodes.register(hostname: "node-a", cpus: 2, memoryBytes: 8 << 30, gpus: [])
            let state: String = try await client.query("SELECT state FROM nodes WHERE id = \(f.node)")[0].decode("state")
            #expect(state == "up")
            // A draining node stays draining (the admin's word outlives a restart).
            #expect(try await nodes.setState(hostname: "node-b", to: .draining) == .up)
            #expect(try await nodes.stopping(nodeID: f.otherNode) == .draining)
            #expect(try await nodes.stopping(nodeID: 9999) == nil)
        }
    }

    @Test func aJobOnlyPlacedOnANodeThatWentAwayKeepsItsAttempts() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            // One attempt only: charged, it would fail for good.
            let placed = try await f.submit(maxAttempts: 1)
            _ = try #require(try await f.place(on: f.node, gpus: [0]))
            let ran = try await f.submit(maxAttempts: 2)
            let (_, lease) = try #require(try await f.place(on: f.node, gpus: [1]))
            try await f.queue.start(lease)

            let released = try await f.queue.releaseHeldJobs(nodeID: f.node)
            #expect(Set(released.map(\.jobID)) == [placed.id, ran.id])
            let a = try #require(try await f.queue.job(placed.id))
            #expect(a.state == .queued)
            #expect(a.failures == 0)
            #expect(a.lastError?.contains("went away before starting it") == true, "\(a.lastError ?? "nil")")
            let b = try #require(try await f.queue.job(ran.id))
            #expect(b.state == .queued)
            #expect(b.failures == 1, "a job that ran when its node restarted spends an attempt, as before")

            // The same through a lapsed lease: a placed job is not charged either.
            _ = try #require(try await f.place(on: f.otherNode, gpus: [0]))
            try await f.expireLease(of: placed.id, secondsAgo: 5)
            #expect(try await f.queue.rescueExpired().map(\.jobID) == [placed.id])
            let again = try #require(try await f.queue.job(placed.id))
            #expect(again.state == .queued && again.failures == 0)
        }
    }
}

import Foundation
import HearthCore
import HearthStore
import HearthTesting
import Testing

/// The scheduler's writes: placements on a chosen node with chosen GPUs, dependencies at
/// submission, and a donor's reclaim.
@Suite(.timeLimit(.minutes(10))) struct JobQueueAssignTests {
    @Test func aPlacementHoldsExactlyTheChosenGPUsAndTheNodeFindsIt() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            let job = try await f.submit(gpus: 2)
            let lease = try #require(try await f.queue.assign(jobID: job.id, nodeID: f.otherNode, gpuIndices: [3, 1]))
            #expect(lease.epoch == 1 && lease.attempt == 1 && lease.nodeID == f.otherNode)

            let placed = try await f.queue.assignments(nodeID: f.otherNode)
            #expect(placed.map(\.job.id) == [job.id])
            #expect(placed.first?.gpuIndices == [3, 1] && placed.first?.lease == lease)
            #expect(try await f.queue.assignments(nodeID: f.node).isEmpty, "nothing was placed on the other node")
            #expect(try await f.queue.assignments(nodeID: f.otherNode, excluding: [job.id]).isEmpty, "already running here")
            #expect(try await f.queue.events(jobID: job.id).map(\.event) == ["submitted", "placed"])
            let ledger = try await f.queue.allocations(jobID: job.id)
            #expect(ledger.count == 1 && ledger[0].gpuIndices == [3, 1] && ledger[0].nodeID == f.otherNode && ledger[0].endedAt == nil)

            // Placing it again (a stale snapshot) changes nothing.
            #expect(try await f.queue.assign(jobID: job.id, nodeID: f.node, gpuIndices: [0, 1]) == nil)
            try await f.queue.start(lease)
            try await f.queue.succeed(lease)
            #expect(try await f.queue.allocations(jobID: job.id).map(\.endReason) == [.succeeded])
        }
    }

    @Test func aGPUHeldByAnOpenLedgerRowIsNeverPlacedTwice() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            let first = try await f.submit(gpus: 2)
            let second = try await f.submit(gpus: 2)
            #expect(try await f.queue.assign(jobID: first.id, nodeID: f.node, gpuIndices: [0, 1]) != nil)
            #expect(try await f.queue.assign(jobID: second.id, nodeID: f.node, gpuIndices: [1, 2]) == nil, "GPU 1 is taken")
            #expect(try await f.queue.job(second.id)?.state == .queued)
            #expect(try await f.queue.assign(jobID: second.id, nodeID: f.node, gpuIndices: [2, 3]) != nil)
            // A request for 2 GPUs is not placed on 1.
            let third = try await f.submit(gpus: 2)
            #expect(try await f.queue.assign(jobID: third.id, nodeID: f.otherNode, gpuIndices: [0]) == nil)
        }
    }

    @Test func drainedAndReclaimedNodesTakeNoPlacement() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            let nodes = NodeStore(client: client)
            let job = try await f.submit(gpus: 1)
            try await nodes.setState(hostname: "node-a", to: .draining)
            #expect(try await f.queue.assign(jobID: job.id, nodeID: f.node, gpuIndices: [0]) == nil)
            #expect(try await nodes.reclaim(hostname: "node-b") == [])
            #expect(try await f.queue.assign(jobID: job.id, nodeID: f.otherNode, gpuIndices: [0]) == nil)
            #expect(try await nodes.release(hostname: "node-b"))
            #expect(try await f.queue.assign(jobID: job.id, nodeID: f.otherNode, gpuIndices: [0]) != nil)
            #expect(try await nodes.reclaim(hostname: "no-such-node") == nil)
        }
    }

    @Test func reclaimAsksEveryJobOnTheNodeToPreemptAtOnce() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            let a = try await f.submit(gpus: 1)
            let b = try await f.submit(gpus: 1)
            let elsewhere = try await f.submit(gpus: 1)
            let la = try #require(try await f.queue.assign(jobID: a.id, nodeID: f.node, gpuIndices: [0]))
            _ = try #require(try await f.queue.assign(jobID: b.id, nodeID: f.node, gpuIndices: [1]))
            _ = try #require(try await f.queue.assign(jobID: elsewhere.id, nodeID: f.otherNode, gpuIndices: [0]))
            try await f.queue.start(la)
            let preempting = try await NodeStore(client: client).reclaim(hostname: "node-a")
            #expect(preempting == [a.id, b.id])
            #expect(try await f.queue.heartbeat(la).preemptRequested)
            #expect(try await f.queue.job(elsewhere.id)?.preemptRequestedAt == nil)
            try await f.queue.requeuePreempted(la)
            let back = try #require(try await f.queue.job(a.id))
            #expect(back.state == .queued && back.preemptions == 1)
            #expect(try await f.queue.allocations(jobID: a.id).map(\.endReason) == [.preempted])
        }
    }

    @Test func dependenciesMustNameExistingJobs() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            let train = try await f.submit()
            let eval = try await f.queue.enqueue(NewJob(
                kind: .eval, accountID: f.account, gpus: 1, afterOK: [train.id], timeLimitSeconds: 600, preemptible: false,
                gpuModel: "simulated-A100", gpuMemoryBytes: 40 << 30)).job
            #expect(eval.afterOK == [train.id] && eval.timeLimitSeconds == 600 && eval.preemptible == false)
            #expect(eval.gpuModel == "simulated-A100" && eval.gpuMemoryBytes == 40 << 30)
            let error = await #expect(throws: QueueError.self) {
                try await f.queue.enqueue(NewJob(kind: .eval, accountID: f.account, afterOK: [train.id, 999, 998]))
            }
            #expect(error?.code == .invalidJob)
            #expect(error?.message.contains("998, 999") == true, "\(error?.message ?? "")")
            let bad = await #expect(throws: QueueError.self) {
                try await f.queue.enqueue(NewJob(kind: .train, accountID: f.account, gpus: 0, gpuModel: "H100"))
            }
            #expect(bad?.message.contains("asks for no GPUs") == true)
        }
    }
}

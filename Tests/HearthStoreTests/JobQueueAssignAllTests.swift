import HearthCore
import HearthTesting
import Testing

@testable import HearthStore

/// A scheduling pass's placements in one transaction (`assignAll`): each is what `assign` makes,
/// a refusal stays a refusal without undoing the others, and the GPUs are never double-booked.
@Suite(.serialized) struct JobQueueAssignAllTests {
    @Test func placesEveryJobOfAPassInOneCall() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            var jobs: [Job] = []
            for _ in 0..<4 { jobs.append(try await f.submit(gpus: 1)) }
            let leases = try await f.queue.assignAll([
                .init(jobID: jobs[0].id, nodeID: f.node, gpuIndices: [0]),
                .init(jobID: jobs[1].id, nodeID: f.node, gpuIndices: [1]),
                // GPU 1 is the previous placement's: refused, like assign would.
                .init(jobID: jobs[2].id, nodeID: f.node, gpuIndices: [1]),
                .init(jobID: jobs[3].id, nodeID: f.otherNode, gpuIndices: [0]),
            ])
            #expect(leases.map { $0 != nil } == [true, true, false, true])
            #expect(leases[0]?.attempt == 1 && leases[3]?.nodeID == f.otherNode)
            for (job, state) in zip(jobs, [JobState.scheduled, .scheduled, .queued, .scheduled]) {
                #expect(try await f.queue.job(job.id)?.state == state)
            }
            #expect(try await f.count("SELECT count(*) AS n FROM allocations WHERE ended_at IS NULL") == 3)
            #expect(try await f.count("SELECT count(*) AS n FROM job_events WHERE event = 'placed'") == 3)
            // What the agents read is what assign would have made.
            let placed = try await f.queue.assignments(nodeID: f.node)
            #expect(placed.map(\.job.id) == [jobs[0].id, jobs[1].id] && placed.map(\.gpuIndices) == [[0], [1]])
            #expect(placed[0].lease.epoch == leases[0]?.epoch)
        }
    }

    @Test func aJobPlacedMeanwhileIsRefusedAndAnEmptyPassDoesNothing() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            let a = try await f.submit(gpus: 1), b = try await f.submit(gpus: 1)
            #expect(try await f.queue.assign(jobID: a.id, nodeID: f.node, gpuIndices: [0]) != nil)
            // A stale snapshot places a again (and b): a is refused, b is placed.
            let leases = try await f.queue.assignAll([
                .init(jobID: a.id, nodeID: f.otherNode, gpuIndices: [0]), .init(jobID: b.id, nodeID: f.otherNode, gpuIndices: [0]),
            ])
            #expect(leases.map { $0 != nil } == [false, true])
            #expect(try await f.queue.job(a.id)?.nodeID == f.node)
            #expect(try await f.queue.assignAll([]).isEmpty)
        }
    }
}

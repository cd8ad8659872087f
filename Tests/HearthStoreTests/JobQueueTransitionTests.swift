import Foundation
import HearthCore
import HearthStore
import HearthTesting
import Testing

@Suite(.timeLimit(.minutes(10))) struct JobQueueTransitionTests {
    @Test func theHappyPathWritesEventsAndOneClosedLedgerRow() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            let job = try await f.submit(gpus: 2)
            #expect(job.state == .queued && job.attempt == 0 && job.leaseEpoch == 0)

            let (claimed, lease) = try #require(try await f.place(gpus: [1, 3, 0]))
            #expect(claimed.id == job.id && claimed.state == .scheduled && claimed.nodeID == f.node)
            #expect(lease.epoch == 1 && lease.attempt == 1)
            try await f.queue.start(lease)
            let reply = try await f.queue.heartbeat(lease)
            #expect(!reply.cancelRequested && !reply.preemptRequested)
            try await f.queue.succeed(lease, resultJSON: #"{"loss": 1.5}"#)

            let done = try #require(try await f.queue.job(job.id))
            #expect(done.state == .succeeded && done.nodeID == nil && done.leaseExpiresAt == nil && done.finishedAt != nil)
            #expect(done.resultJSON == #"{"loss": 1.5}"#)
            #expect(try await f.queue.events(jobID: job.id).map(\.event) == ["submitted", "placed", "started", "succeeded"])
            let ledger = try await f.queue.allocations(jobID: job.id)
            #expect(ledger.count == 1)
            #expect(ledger[0].gpus == 2 && ledger[0].gpuIndices == [1, 3] && ledger[0].endReason == .succeeded)
            #expect(ledger[0].endedAt! >= ledger[0].startedAt)
        }
    }

    @Test func refusedTransitionsSayWhy() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            let job = try await f.submit()
            let (_, lease) = try #require(try await f.place())
            // Succeeding a job that never started.
            var error = await #expect(throws: QueueError.self) { try await f.queue.succeed(lease) }
            #expect(error?.code == .invalidTransition)
            #expect(error?.message.contains("it is scheduled, and only a running job can be") == true)
            try await f.queue.start(lease)
            // Starting twice.
            error = await #expect(throws: QueueError.self) { try await f.queue.start(lease) }
            #expect(error?.code == .invalidTransition)
            try await f.queue.succeed(lease)
            // Anything after the end.
            error = await #expect(throws: QueueError.self) { _ = try await f.queue.fail(lease, error: "late") }
            #expect(error?.code == .invalidTransition)
            error = await #expect(throws: QueueError.self) { try await f.queue.requeuePreempted(lease) }
            #expect(error?.code == .invalidTransition)
            // An unknown job.
            let ghost = Lease(jobID: 999_999, nodeID: f.node, attempt: 1, epoch: 1, expiresAt: Date())
            error = await #expect(throws: QueueError.self) { try await f.queue.start(ghost) }
            #expect(error?.code == .notFound)
            #expect(try await f.queue.cancel(jobID: job.id) == .alreadyFinished(.succeeded))
            // Refusals wrote nothing.
            #expect(try await f.queue.events(jobID: job.id).map(\.event) == ["submitted", "placed", "started", "succeeded"])
        }
    }

    @Test func failuresRetryWithExponentialBackoffThenFailForGood() async throws {
        try await TestDatabase.with { client, _ in
            var config = JobQueue.Configuration()
            // Long enough that "not claimable before its time" holds however slow the machine is.
            config.retryBaseDelay = .seconds(120)
            let f = try await QueueFixture(client: client, configuration: config)
            let job = try await f.submit(maxAttempts: 3)
            var delays: [Double] = []
            for attempt in 1...3 {
                let (_, lease) = try #require(try await f.place(), "attempt \(attempt) is claimable")
                try await f.queue.start(lease)
                let before = Date()
                let outcome = try await f.queue.fail(lease, error: "CUDA out of memory (attempt \(attempt))")
                if attempt < 3 {
                    #expect(outcome.state == .queued)
                    let retryAt = try #require(outcome.retryAt)
                    delays.append(retryAt.timeIntervalSince(before))
                    // Not claimable before its time; make it due now.
                    #expect(try await f.place() == nil)
                    try await client.query("UPDATE jobs SET run_at = now() WHERE id = \(job.id)")
                } else {
                    #expect(outcome.state == .failed && outcome.retryAt == nil)
                }
            }
            #expect(delays.count == 2)
            #expect(abs(delays[0] - 120) < 5 && abs(delays[1] - 240) < 5, "delays \(delays)")
            let final = try #require(try await f.queue.job(job.id))
            #expect(final.state == .failed && final.failures == 3 && final.lastError == "CUDA out of memory (attempt 3)")
            let ledger = try await f.queue.allocations(jobID: job.id)
            #expect(ledger.map(\.attempt) == [1, 2, 3] && ledger.allSatisfy { $0.endReason == .failed })
            #expect(try await f.queue.events(jobID: job.id).filter { $0.event == "retry-scheduled" }.count == 2)
        }
    }

    @Test func aNonRetryableFailureFailsAtOnce() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            _ = try await f.submit(maxAttempts: 5)
            let (_, lease) = try #require(try await f.place())
            let outcome = try await f.queue.fail(lease, error: "bad config: heads do not divide width", retryable: false)
            #expect(outcome.state == .failed)
        }
    }

    @Test func cancellingEachState() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            // Queued: cancelled at once, no ledger row.
            let queued = try await f.submit(priority: -1)
            // Scheduled: cancelled at once; the ledger row closes; the node's late start is fenced.
            let scheduled = try await f.submit(priority: 10)
            let (claimed, lease) = try #require(try await f.place())
            #expect(claimed.id == scheduled.id)
            #expect(try await f.queue.cancel(jobID: scheduled.id) == .cancelled)
            let fenced = await #expect(throws: QueueError.self) { try await f.queue.start(lease) }
            #expect(fenced?.code == .staleLease)
            #expect(try await f.queue.allocations(jobID: scheduled.id).map(\.endReason) == [.cancelled])
            #expect(try await f.queue.cancel(jobID: queued.id) == .cancelled)
            #expect(try await f.queue.allocations(jobID: queued.id).isEmpty)
            #expect(try await f.queue.job(queued.id)?.state == .cancelled)

            // Running: a request the node sees on its next heartbeat, then confirms.
            let running = try await f.submit()
            let (_, runLease) = try #require(try await f.place())
            try await f.queue.start(runLease)
            #expect(try await f.queue.cancel(jobID: running.id) == .requested)
            #expect(try await f.queue.cancel(jobID: running.id) == .requested)
            #expect(try await f.queue.job(running.id)?.state == .running)
            #expect(try await f.queue.heartbeat(runLease).cancelRequested)
            try await f.queue.finishCancelled(runLease)
            #expect(try await f.queue.job(running.id)?.state == .cancelled)
            #expect(try await f.queue.allocations(jobID: running.id).map(\.endReason) == [.cancelled])
            #expect(try await f.queue.events(jobID: running.id).map(\.event)
                == ["submitted", "placed", "started", "cancel-requested", "cancelled"])
            let missing = await #expect(throws: QueueError.self) { _ = try await f.queue.cancel(jobID: 424_242) }
            #expect(missing?.code == .notFound)
        }
    }

    @Test func preemptionRequeuesAndTheNextAttemptGetsANewLedgerRow() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            let job = try await f.submit()
            let (_, lease) = try #require(try await f.place())
            try await f.queue.start(lease)
            #expect(try await f.queue.requestPreemption(jobID: job.id, reason: "higher priority job 7"))
            #expect(try await f.queue.heartbeat(lease).preemptRequested)
            try await f.queue.requeuePreempted(lease)
            let requeued = try #require(try await f.queue.job(job.id))
            #expect(requeued.state == .queued && requeued.preemptions == 1 && requeued.failures == 0)
            #expect(requeued.preemptRequestedAt == nil)
            #expect(try await f.queue.requestPreemption(jobID: job.id, reason: "nothing to preempt") == false)
            let (_, second) = try #require(try await f.place(on: f.otherNode))
            #expect(second.epoch == lease.epoch + 1 && second.attempt == 2)
            let ledger = try await f.queue.allocations(jobID: job.id)
            #expect(ledger.map(\.endReason) == [.preempted, nil])
            #expect(ledger.map(\.nodeID) == [f.node, f.otherNode])
        }
    }

    @Test func claimingRespectsPriorityGPUsAndKinds() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            let big = try await f.submit(gpus: 4, priority: 100)
            let low = try await f.submit(gpus: 1, priority: 1)
            let evalJob = try await f.submit(.eval, gpus: 0, priority: 50)
            // Two free GPUs: the 4-GPU job does not fit; the eval job outranks the low one.
            #expect(try await f.place(gpus: [0, 1])?.0.id == evalJob.id)
            #expect(try await f.queue.placeNext(nodeID: f.node, freeGPUIndices: [0, 1], kinds: ["eval"]) == nil)
            #expect(try await f.place(gpus: [0, 1])?.0.id == low.id)
            // GPU 0 of node a is now held by `low` (a second claim of it is refused: Migrations/0004),
            // so the 4-GPU job goes to the other node's four free GPUs.
            #expect(try await f.place(on: f.otherNode, gpus: [0, 1, 2, 3])?.0.id == big.id)
            #expect(try await f.place() == nil)
        }
    }

    @Test func idempotentSubmission() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            let first = try await f.queue.enqueue(NewJob(kind: .train, accountID: f.account, specJSON: #"{"a": 1}"#, idempotencyKey: "k1"))
            let again = try await f.queue.enqueue(NewJob(kind: .train, accountID: f.account, specJSON: #"{"a":1}"#, idempotencyKey: "k1"))
            #expect(first.created && !again.created && first.job.id == again.job.id)
            let error = await #expect(throws: QueueError.self) {
                try await f.queue.enqueue(NewJob(kind: .train, accountID: f.account, specJSON: #"{"a": 2}"#, idempotencyKey: "k1"))
            }
            #expect(error?.code == .idempotencyConflict)
            #expect(try await f.count("SELECT count(*) AS n FROM jobs") == 1)
            #expect(try await f.count("SELECT count(*) AS n FROM job_events") == 1)
        }
    }

    @Test("bad submissions are refused and write nothing", arguments: [
        (NewJob(kind: .train, accountID: 0, gpus: 500), "0 to 64 GPUs"),
        (NewJob(kind: .train, accountID: 0, specJSON: "not json"), "JSON object"),
        (NewJob(kind: .train, accountID: 0, specJSON: "[1, 2]"), "JSON object"),
        (NewJob(kind: .train, accountID: 0, specJSON: #""a string""#), "JSON object"),
        (NewJob(kind: .train, accountID: 424_242), "no account with id 424242"),
    ])
    func badSubmissions(new: NewJob, message: String) async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            var job = new
            if job.accountID == 0 { job.accountID = f.account }
            let error = await #expect(throws: QueueError.self) { try await f.queue.enqueue(job) }
            #expect(error?.code == .invalidJob)
            #expect(error?.message.contains(message) == true, "\(String(describing: error))")
            #expect(try await f.count("SELECT count(*) AS n FROM jobs") == 0)
        }
    }
}

import Foundation
import HearthCore
import HearthStore
import HearthTesting
import Testing

@Suite(.timeLimit(.minutes(10))) struct JobQueueRobustnessTests {
    /// 8 claimers race over 2,000 jobs: every job is claimed exactly once and none is lost.
    @Test func concurrentClaimersNeverShareAJob() async throws {
        try await TestDatabase.with(maxConnections: 4) { client, info in
            let f = try await QueueFixture(client: client)
            try await client.query("""
                INSERT INTO jobs (kind, account_id, spec_sha256) SELECT 'train', \(f.account), 'x' FROM generate_series(1, 2000)
                """)
            let claimers = try (0..<8).map { _ in try info.makeClient(maxConnections: 1) }
            defer { claimers.forEach { $0.shutdown() } }
            let claimed = try await withThrowingTaskGroup(of: [Int64].self) { group in
                for (i, c) in claimers.enumerated() {
                    group.addTask {
                        let queue = JobQueue(client: c)
                        let node = i % 2 == 0 ? f.node : f.otherNode
                        var mine: [Int64] = []
                        while let (job, lease) = try await queue.placeNext(nodeID: node) {
                            try await queue.start(lease)
                            try await queue.succeed(lease)
                            mine.append(job.id)
                        }
                        return mine
                    }
                }
                return try await group.reduce(into: [[Int64]]()) { $0.append($1) }
            }
            let all = claimed.flatMap { $0 }
            #expect(all.count == 2000)
            #expect(Set(all).count == 2000)
            #expect(claimed.filter { !$0.isEmpty }.count >= 2, "the claimers really ran side by side")
            #expect(try await f.count("SELECT count(*) AS n FROM jobs WHERE state = 'succeeded' AND attempt = 1") == 2000)
            #expect(try await f.count("SELECT count(*) AS n FROM allocations WHERE end_reason = 'succeeded'") == 2000)
            #expect(try await f.count("SELECT count(DISTINCT job_id) AS n FROM allocations") == 2000)
        }
    }

    /// A backend killed in the middle of a transaction leaves neither the job change nor the ledger row.
    @Test func aKilledTransactionLeavesNothingHalfWritten() async throws {
        try await TestDatabase.with { client, info in
            let f = try await QueueFixture(client: client)
            let job = try await f.submit()
            let admin = try info.makeClient(maxConnections: 1)
            defer { admin.shutdown() }
            let error = await #expect(throws: PostgresError.self) {
                try await client.withTransaction { c in
                    try await c.query("""
                        UPDATE jobs SET state = 'scheduled', node_id = \(f.node), attempt = 1, lease_epoch = 1,
                               lease_expires_at = now() + interval '1 minute' WHERE id = \(job.id)
                        """)
                    try await c.query("INSERT INTO allocations (job_id, attempt, node_id, gpus) VALUES (\(job.id), 1, \(f.node), 1)")
                    try await admin.query("SELECT pg_terminate_backend(\(c.backendPID))")
                    try await c.query("INSERT INTO job_events (job_id, event) VALUES (\(job.id), 'claimed')")
                }
            }
            #expect(error?.code == .connectionClosed)
            let after = try #require(try await f.queue.job(job.id))
            #expect(after.state == .queued && after.attempt == 0 && after.nodeID == nil)
            #expect(try await f.queue.allocations(jobID: job.id).isEmpty)
            #expect(try await f.queue.events(jobID: job.id).map(\.event) == ["submitted"])
            // The pool recovered and the job is still claimable.
            #expect(try await f.place()?.0.id == job.id)
        }
    }

    /// A node that vanished: its job is requeued at the lease's expiry, the ledger row closed as
    /// `lost` at that instant, and the old attempt is fenced off if it comes back.
    @Test func expiredLeasesAreRescuedAndStaleEpochsRefused() async throws {
        try await TestDatabase.with { client, _ in
            // The default lease (tens of seconds) stays live however loaded the machine is.
            let f = try await QueueFixture(client: client)
            let job = try await f.submit()
            let (_, lease) = try #require(try await f.place())
            try await f.queue.start(lease)
            #expect(try await f.queue.rescueExpired().isEmpty, "a live lease is left alone")
            // The node goes silent: its lease runs out 300 ms from now, after the attempt started.
            try await client.query("UPDATE jobs SET lease_expires_at = now() + interval '300 ms' WHERE id = \(job.id)")
            let expiredAt = try #require(try await f.queue.job(job.id)?.leaseExpiresAt)
            try await Task.sleep(for: .seconds(1))

            let rescued = try await f.queue.rescueExpired()
            #expect(rescued.map(\.jobID) == [job.id] && rescued[0].state == .queued && rescued[0].nodeID == f.node)
            let ledger = try await f.queue.allocations(jobID: job.id)
            #expect(ledger.count == 1 && ledger[0].endReason == .lost)
            #expect(abs(ledger[0].endedAt!.timeIntervalSince(expiredAt)) < 0.001, "closed at the expiry, not at discovery")

            // The old node wakes up: every write with its epoch is refused.
            let hb = await #expect(throws: QueueError.self) { _ = try await f.queue.heartbeat(lease) }
            #expect(hb?.code == .staleLease)
            #expect(hb?.message.contains("lease epoch 1 is stale") == true)
            let late = await #expect(throws: QueueError.self) { try await f.queue.succeed(lease) }
            #expect(late?.code == .staleLease)

            // The next attempt runs elsewhere, with exactly one open ledger row.
            let (_, second) = try #require(try await f.place(on: f.otherNode))
            #expect(second.epoch == 3, "bumped by the rescue and by the new claim")
            #expect(try await f.count("SELECT count(*) AS n FROM allocations WHERE job_id = \(job.id) AND ended_at IS NULL") == 1)
            #expect(try await f.queue.job(job.id)?.failures == 1)
        }
    }

    @Test func aRescuedJobWithAPendingCancelEndsCancelled() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            let job = try await f.submit()
            let (_, lease) = try #require(try await f.place())
            try await f.queue.start(lease)
            #expect(try await f.queue.cancel(jobID: job.id) == .requested)
            try await f.expireLease(of: job.id)
            #expect(try await f.queue.rescueExpired().map(\.state) == [.cancelled])
            #expect(try await f.queue.job(job.id)?.state == .cancelled)
        }
    }

    @Test func theLedgerIsAppendOnly() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            _ = try await f.submit()
            let (_, lease) = try #require(try await f.place())
            try await f.queue.start(lease)
            try await f.queue.succeed(lease)
            let delete = await #expect(throws: PostgresError.self) { try await client.query("DELETE FROM allocations") }
            #expect(delete?.message.contains("never deleted") == true)
            let rewrite = await #expect(throws: PostgresError.self) {
                try await client.query("UPDATE allocations SET end_reason = 'failed'")
            }
            #expect(rewrite?.message.contains("already closed") == true)
            let second = await #expect(throws: PostgresError.self) {
                try await client.query("INSERT INTO allocations (job_id, attempt, node_id, gpus) SELECT id, 1, node_id, 1 FROM allocations")
            }
            #expect(second?.sqlState == "23505", "one row per attempt")
        }
    }

    @Test func aSubmissionWakesAWaitingClaimer() async throws {
        try await TestDatabase.with { client, info in
            let f = try await QueueFixture(client: client)
            let wakeups = JobWakeups(configuration: client.configuration)
            let listener = Task { await wakeups.run() }
            defer { listener.cancel() }
            // The "now listening" wake-up. Under a loaded full run connecting can take seconds, so
            // this waits for the event, not for a wall-clock bound.
            let listening = ContinuousClock.now + .seconds(60)
            var connected = false
            while !connected, ContinuousClock.now < listening { connected = await wakeups.wait(timeout: .seconds(5)) }
            try #require(connected, "the listener never connected")
            _ = wakeups.takeReasons()
            _ = try await f.submit()
            // What woke the waiter must be the submission's own notification: the polling fallback
            // (a timeout) records no reason, and a reconnect records `.unknown` only.
            var reasons: Set<JobWakeups.Reason> = []
            let deadline = ContinuousClock.now + .seconds(60)
            while !reasons.contains(.submitted), ContinuousClock.now < deadline {
                if await wakeups.wait(timeout: .seconds(5)) { reasons.formUnion(wakeups.takeReasons()) }
            }
            #expect(reasons.contains(.submitted), "woken for \(reasons), never for the submission")
            // Without a submission, the wait falls back to polling after its timeout (once any
            // wake-up still pending from the submission, or from a reconnect, is consumed).
            var pending = 0
            while await wakeups.wait(timeout: .milliseconds(200)), pending < 5 { pending += 1 }
            #expect(pending < 5, "a wait with nothing submitted kept being woken")
        }
    }

}

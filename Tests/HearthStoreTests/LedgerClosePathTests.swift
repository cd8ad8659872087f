import Foundation
import HearthCore
import HearthStore
import HearthTesting
import Testing

/// Every path that ends an attempt closes its ledger row, through the queue's own statements;
/// a daemon restart in the middle (the restarted daemon releases what its node held) changes
/// nothing already reported, and the final report equals the sum of the ledger rows.
@Suite(.timeLimit(.minutes(10))) struct LedgerClosePathTests {
    @Test func everyPathClosesItsRowAndACrashChangesNoFigures() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            let donor = try await AccountStore(client: client).ensure(name: "dana", role: .donor)
            try await client.query("UPDATE nodes SET donor_id = \(donor)")
            let t0: Date = try await client.query("SELECT now() - interval '1 second' AS t")[0].decode("t")
            let q = f.queue

            // Succeeded, with the worker's rusage.
            _ = try await f.submit(gpus: 2)
            let (j1, l1) = try #require(try await f.place(gpus: [0, 1]))
            try await q.start(l1)
            try await q.succeed(l1, usage: AttemptUsage(cpuSeconds: 1.5, peakRSSBytes: 4096))
            // Failed for good.
            _ = try await f.submit(maxAttempts: 1)
            let (j2, l2) = try #require(try await f.place(gpus: [0]))
            try await q.start(l2)
            _ = try await q.fail(l2, error: "boom", retryable: false, usage: AttemptUsage(cpuSeconds: 0.5))
            // Cancelled while scheduled, and while running.
            _ = try await f.submit()
            let (j3, _) = try #require(try await f.place(gpus: [0]))
            #expect(try await q.cancel(jobID: j3.id) == .cancelled)
            _ = try await f.submit()
            let (j4, l4) = try #require(try await f.place(gpus: [0]))
            try await q.start(l4)
            #expect(try await q.cancel(jobID: j4.id) == .requested)
            try await q.finishCancelled(l4)
            // Preempted, then finished on the next attempt.
            _ = try await f.submit()
            let (j5, l5) = try #require(try await f.place(gpus: [0]))
            try await q.start(l5)
            #expect(try await q.requestPreemption(jobID: j5.id, reason: "test"))
            try await q.requeuePreempted(l5)
            let (_, l5b) = try #require(try await f.place(gpus: [0]))
            try await q.start(l5b)
            try await q.succeed(l5b)
            // Node b goes silent: the rescuer closes the row at the lease's expiry, not at discovery.
            _ = try await f.submit()
            let (j6, l6) = try #require(try await f.place(on: f.otherNode, gpus: [0]))
            try await q.start(l6)
            try await f.expireLease(of: j6.id, secondsAgo: 5)
            let expiry = try #require(try await q.job(j6.id)?.leaseExpiresAt)
            let rescued = try await q.rescueExpired()
            #expect(rescued.map(\.jobID) == [j6.id])
            let lostRow = try #require(try await q.allocations(jobID: j6.id).first)
            #expect(lostRow.endReason == .lost)
            #expect(abs((lostRow.endedAt ?? .distantFuture).timeIntervalSince(max(expiry, lostRow.startedAt))) < 0.001)
            #expect(try await q.cancel(jobID: j6.id) == .cancelled, "its retry is not wanted here (a queued job has no open row)")

            // Figures so far, then the daemon of node a dies holding job 7 and restarts.
            let tCrash: Date = try await client.query("SELECT now() AS t")[0].decode("t")
            let report = { (to: Date) in
                try await ReportStore(client: client).report(.init(scope: .donor, subject: "dana", from: t0, to: to, period: .month))
            }
            let before = try await report(tCrash)
            _ = try await f.submit()
            let (j7, l7) = try #require(try await f.place(gpus: [2, 3]))
            try await q.start(l7)
            let released = try await q.releaseHeldJobs(nodeID: f.node)
            #expect(released.map(\.jobID) == [j7.id])
            let (_, l7b) = try #require(try await f.place(gpus: [2, 3]))
            try await q.start(l7b)
            try await q.succeed(l7b)
            let after = try await report(tCrash)
            #expect(after.totals == before.totals, "the restart changed nothing already reported")
            #expect(after.usage == before.usage)

            // Nothing open; every reason present; the report equals the ledger's own sum.
            #expect(try await f.count("SELECT count(*) AS n FROM allocations WHERE ended_at IS NULL") == 0)
            let end: Date = try await client.query("SELECT now() + interval '1 second' AS t")[0].decode("t")
            let final = try await report(end)
            #expect(final.totals.endReasons == ["succeeded": 3, "failed": 1, "cancelled": 2, "preempted": 1, "lost": 2])
            #expect(final.totals.allocations == 9)
            #expect(final.totals.jobs == 7)
            let ledger: Double = try await client.query("""
                SELECT sum(gpus * extract(epoch FROM ended_at - started_at))::float8 AS s FROM allocations
                """)[0].decode("s")
            #expect(abs(final.totals.gpuSeconds - ledger) < 1e-6)
            #expect(abs((final.totals.cpuSeconds ?? 0) - 2.0) < 1e-9, "1.5 + 0.5 measured CPU seconds")
            let row1 = try #require(try await q.allocations(jobID: j1.id).first)
            #expect(row1.usage.cpuSeconds == 1.5 && row1.usage.peakRSSBytes == 4096)
            #expect(try await q.allocations(jobID: j2.id).first?.usage.cpuSeconds == 0.5)
            // No GPU held twice at once, anywhere.
            #expect(try await f.count("""
                SELECT count(*) AS n FROM allocations x JOIN allocations y
                  ON x.node_id = y.node_id AND x.id < y.id AND x.gpu_indices && y.gpu_indices
                 AND x.started_at < coalesce(y.ended_at, 'infinity') AND y.started_at < coalesce(x.ended_at, 'infinity')
                """) == 0)
        }
    }
}

import Foundation
import HearthCore
import HearthStore
import HearthTesting
import Testing

/// The hash-chained ledger (Migrations/0013_node_roles.sql): what the superuser can still do to
/// the rows, and what `hearth_ledger_verify` finds.
@Suite(.timeLimit(.minutes(10))) struct LedgerChainTests {
    /// Runs `count` jobs to success on node-a, one at a time.
    static func runJobs(_ f: QueueFixture, count: Int) async throws {
        for i in 0..<count {
            _ = try await f.submit(spec: #"{"steps": \#(i)}"#)
            let (_, lease) = try #require(try await f.place())
            try await f.queue.start(lease)
            try await f.queue.succeed(lease, usage: AttemptUsage(cpuSeconds: Double(i) + 0.25))
        }
    }

    @Test func closedRowsFormAChainThatVerifies() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            try await Self.runJobs(f, count: 3)
            let ledger = LedgerStore(client: client)
            let reports = try await ledger.verify()
            let a = try #require(reports.first { $0.node == "node-a" })
            #expect(a.problem == nil && a.brokenAllocation == nil && a.rows == 3)
            let head: String = try await client.query("SELECT row_hash FROM ledger_heads WHERE node_id = \(f.node)")[0].decode("row_hash")
            #expect(a.head == head && head.count == 64)
            // Each row's prev_hash is its predecessor's hash.
            let rows = try await client.query("SELECT chain_seq, prev_hash, row_hash FROM allocations ORDER BY chain_seq")
            #expect(try rows.map { try $0.decode("chain_seq", as: Int.self) } == [1, 2, 3])
            #expect(try rows[1].decode("prev_hash", as: String.self) == rows[0].decode("row_hash", as: String.self))
            // node-b ran nothing: an empty chain is whole.
            #expect(reports.first { $0.node == "node-b" }?.rows == 0)
        }
    }

    @Test func aRowAlteredByTheSuperuserIsNamed() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            try await Self.runJobs(f, count: 3)
            let second: Int64 = try await client.query("SELECT id FROM allocations WHERE chain_seq = 2")[0].decode("id")
            // The superuser turns the guards off and doubles the row's CPU time.
            try await client.withConnection { c in
                try await c.execute(unsafeSQL: "SET session_replication_role = replica")
                try await c.execute(unsafeSQL: "UPDATE allocations SET cpu_seconds = cpu_seconds * 2 WHERE id = \(second)")
                try await c.execute(unsafeSQL: "SET session_replication_role = origin")
            }
            let a = try #require(try await LedgerStore(client: client).verify().first { $0.node == "node-a" })
            #expect(a.brokenAllocation == second)
            #expect(a.problem?.contains("allocation \(second) (job") == true)
            #expect(a.problem?.contains("no longer give its hash") == true)
        }
    }

    @Test func aRemovedRowAndARewrittenChainAreFound() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            try await Self.runJobs(f, count: 3)
            try await client.withConnection { c in
                try await c.execute(unsafeSQL: "SET session_replication_role = replica")
                try await c.execute(unsafeSQL: "DELETE FROM allocations WHERE chain_seq = 2")
                try await c.execute(unsafeSQL: "SET session_replication_role = origin")
            }
            let a = try #require(try await LedgerStore(client: client).verify().first { $0.node == "node-a" })
            #expect(a.problem?.contains("is link 3 but link 2 is missing") == true)
            // Truncation and deletion stay refused to anyone who keeps the triggers on.
            for sql in ["TRUNCATE allocations CASCADE", "DELETE FROM allocations", "TRUNCATE ledger_heads"] {
                await #expect(throws: PostgresError.self, "\(sql)") {
                    try await client.withConnection { try await $0.execute(unsafeSQL: sql) }
                }
            }
        }
    }

    @Test func ledgerTimesAreTheDatabasesOwn() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            let job = try await f.submit()
            _ = try #require(try await f.place())
            // Even the owner cannot close a row in the future.
            let error = await #expect(throws: PostgresError.self) {
                try await client.query("SELECT hearth_ledger_close(\(job.id)::bigint, 1, 'succeeded', now() + interval '1 day')")
            }
            #expect(error?.message.contains("cannot end in the future") == true)
        }
    }
}

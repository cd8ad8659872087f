import Foundation
import HearthCore
import HearthStore
import HearthTesting
import Testing

/// Connected as a node's own login role (Migrations/0013_node_roles.sql): what a donor with root
/// on their node could do with the credentials they can read there.
@Suite(.timeLimit(.minutes(10))) struct NodeRoleTests {
    /// Two nodes, each with its own login; both registered through their own pools.
    struct Fleet {
        let owner: PostgresClient
        let a: PostgresClient
        let b: PostgresClient
        let roleA: String
        let passwordA: String
        let nodeA: Int64
        let nodeB: Int64
        let account: Int64

        init(_ owner: PostgresClient, _ info: TestDatabaseInfo) async throws {
            self.owner = owner
            (a, roleA, passwordA) = try await info.makeNodeClient(owner: owner, hostname: "node-a")
            (b, _, _) = try await info.makeNodeClient(owner: owner, hostname: "node-b")
            let gpu = NodeStore.GPU(index: 0, model: "simulated", memoryBytes: 1 << 30, simulated: true)
            nodeA = try await NodeStore(client: a).register(hostname: "node-a", cpus: 2, memoryBytes: 1 << 30, gpus: [gpu])
            nodeB = try await NodeStore(client: b).register(hostname: "node-b", cpus: 2, memoryBytes: 1 << 30, gpus: [gpu])
            account = try await AccountStore(client: a).ensure(name: "alice", uid: 1000)
        }

        func shutdown() {
            a.shutdown()
            b.shutdown()
        }
    }

    /// The SQLSTATE a statement fails with, or `nil` when it succeeds.
    static func refusal(_ client: PostgresClient, _ sql: String) async -> String? {
        do {
            try await client.withConnection { try await $0.execute(unsafeSQL: sql) }
            return nil
        } catch let error as PostgresError {
            return error.sqlState ?? "\(error.code)"
        } catch {
            return "\(error)"
        }
    }

    @Test func everyDirectWriteOnTheFleetTablesIsRefused() async throws {
        try await TestDatabase.with { owner, info in
            let f = try await Fleet(owner, info)
            defer { f.shutdown() }
            let job = try await JobQueue(client: f.a).enqueue(NewJob(kind: .train, accountID: f.account, specJSON: "{}")).job
            let writes = [
                "INSERT INTO jobs (kind, account_id, spec_sha256) VALUES ('train', \(f.account), 'x')",
                "UPDATE jobs SET priority = 1000 WHERE id = \(job.id)",
                "DELETE FROM jobs WHERE id = \(job.id)",
                "TRUNCATE jobs CASCADE",
                "INSERT INTO nodes (hostname) VALUES ('forged')",
                "UPDATE nodes SET state = 'draining' WHERE id = \(f.nodeB)",
                "UPDATE nodes SET donor_id = \(f.account) WHERE id = \(f.nodeA)",
                "DELETE FROM nodes WHERE id = \(f.nodeB)",
                "TRUNCATE nodes CASCADE",
                "INSERT INTO allocations (job_id, attempt, node_id, gpus) VALUES (\(job.id), 1, \(f.nodeA), 0)",
                "UPDATE allocations SET cpu_seconds = 1e9",
                "DELETE FROM allocations",
                "TRUNCATE allocations",
                "INSERT INTO accounts (name, role) VALUES ('mallory', 'admin')",
                "UPDATE accounts SET role = 'admin' WHERE id = \(f.account)",
                "DELETE FROM accounts WHERE id = \(f.account)",
                "TRUNCATE accounts CASCADE",
                "INSERT INTO job_logs (job_id, attempt, line) VALUES (\(job.id), 1, 'forged')",
                "INSERT INTO grants (account_id, privilege, granted_by) VALUES (\(f.account), 'qos-high', \(f.account))",
                "SELECT * FROM node_logins",
                "SELECT hearth_ledger_close(\(job.id), 1, 'succeeded', now() + interval '1 year')",
                "SELECT hearth_node_login_create('forged', NULL, 'me', NULL, false)",
                "CREATE TABLE mine (x int)",
                "INSERT INTO job_arrays (id, job, pending) VALUES (\(job.id), '{}', '{1}')",
                "SELECT hearth_array_substitute('x', 1)",
            ]
            for sql in writes {
                let state = await Self.refusal(f.a, sql)
                #expect(state == "42501", "as a node: \(sql) -> \(state ?? "allowed")")
            }
            // Nothing changed: the job is as submitted, node-b is up, alice is a volunteer.
            let row = try await owner.query("""
                SELECT (SELECT priority FROM jobs WHERE id = \(job.id)) AS p, (SELECT state FROM nodes WHERE id = \(f.nodeB)) AS s,
                       (SELECT role FROM accounts WHERE id = \(f.account)) AS r, (SELECT count(*) FROM jobs) AS n
                """)[0]
            #expect(try row.decode("p", as: Int.self) == 0 && row.decode("s", as: String.self) == "up")
            #expect(try row.decode("r", as: String.self) == "volunteer" && row.decode("n", as: Int.self) == 1)
            // Reads the control API needs still work.
            #expect(try await JobQueue(client: f.a).job(job.id)?.state == .queued)
            // Arrays go through their functions (0019), which a node may call like the batch's.
            let array = try await JobQueue(client: f.a).enqueueArray(
                NewJob(kind: .train, accountID: f.account, specJSON: #"{"seed": "{index}"}"#), indexes: [0, 1, 2], parallel: nil).id
            #expect(await Self.refusal(f.a, "DELETE FROM job_arrays WHERE id = \(array)") == "42501")
            // The leader's pass leaves a fresh template to its own daemon, and writes an old one.
            #expect(try await JobQueue(client: f.b).expandArrays(olderThan: .seconds(3600)) == 0)
            _ = try await owner.query("UPDATE job_arrays SET submitted_at = now() - interval '2 hours' WHERE id = \(array)")
            #expect(try await JobQueue(client: f.b).expandArrays(olderThan: .seconds(3600)) == 2)
            #expect(try await owner.query("SELECT count(*) AS n FROM jobs WHERE array_id = \(array)")[0].decode("n", as: Int.self) == 3)
        }
    }

    @Test func aNodeCannotStartHeartbeatOrFinishAnotherNodesPlacement() async throws {
        try await TestDatabase.with { owner, info in
            let f = try await Fleet(owner, info)
            defer { f.shutdown() }
            let queueA = JobQueue(client: f.a), queueB = JobQueue(client: f.b)
            let job = try await queueA.enqueue(NewJob(kind: .train, accountID: f.account, specJSON: "{}")).job
            // Node a, as the leader, places the job on node b: allowed (any node may lead).
            let lease = try #require(try await queueA.assign(jobID: job.id, nodeID: f.nodeB, gpuIndices: []))
            for (what, attempt) in [
                ("start", { try await queueA.start(lease) }),
                ("heartbeat", { _ = try await queueA.heartbeat(lease) }),
                ("fail", { _ = try await queueA.fail(lease, error: "forged") }),
                ("requeue", { try await queueA.requeuePreempted(lease) }),
                ("finish-cancel", { try await queueA.finishCancelled(lease) }),
            ] as [(String, () async throws -> Void)] {
                let error = await #expect(throws: PostgresError.self, "\(what) by node a") { try await attempt() }
                #expect(error?.sqlState == "42501")
                #expect(error?.message.contains("node node-a cannot change job \(job.id): it is held by node node-b") == true)
            }
            // Node a cannot pass node b's held jobs off as its own restart's, nor rescue a live lease.
            let released = await #expect(throws: PostgresError.self) { _ = try await queueA.releaseHeldJobs(nodeID: f.nodeB) }
            #expect(released?.sqlState == "42501")
            #expect(try await queueA.rescueExpired().isEmpty)
            // Node b runs its own attempt; node a cannot report for it or succeed it.
            try await queueB.start(lease)
            await #expect(throws: (any Error).self) { try await queueA.succeed(lease) }
            await #expect(throws: QueueError.self) {
                try await queueA.recordProgress(lease, step: 1, loss: 0.1, lr: nil, tokensPerSecond: nil)
            }
            await #expect(throws: QueueError.self) { try await queueA.appendLog(lease, lines: ["forged"]) }
            try await queueB.recordProgress(lease, step: 1, loss: 2.0, lr: nil, tokensPerSecond: nil)
            try await queueB.appendLog(lease, lines: ["mine"])
            try await queueB.succeed(lease, usage: AttemptUsage(cpuSeconds: 1.5))
            let done = try #require(try await queueA.job(job.id))
            #expect(done.state == .succeeded)
            #expect(try await queueA.allocations(jobID: job.id).first?.usage.cpuSeconds == 1.5)
            #expect(try await queueA.metrics(jobID: job.id).map(\.loss) == [2.0])
        }
    }

    @Test func aNodeChangesOnlyItsOwnRowAndRegistersOnlyUnderItsOwnName() async throws {
        try await TestDatabase.with { owner, info in
            let f = try await Fleet(owner, info)
            defer { f.shutdown() }
            let nodesA = NodeStore(client: f.a)
            // Its own row: drain, heartbeat, policy, reclaim.
            #expect(try await nodesA.setState(hostname: "node-a", to: .draining) == .up)
            #expect(try await nodesA.heartbeat(nodeID: f.nodeA) == .draining)
            #expect(try await nodesA.setPolicy(hostname: "node-a", policyJSON: "{}"))
            #expect(try await nodesA.reclaim(hostname: "node-a") == [])
            // Another node's row, and registering as it.
            for attempt in [
                { _ = try await nodesA.setState(hostname: "node-b", to: .draining) },
                { _ = try await nodesA.setPolicy(hostname: "node-b", policyJSON: "{}") },
                { _ = try await nodesA.reclaim(hostname: "node-b") },
                { _ = try await nodesA.heartbeat(nodeID: f.nodeB) },
                { _ = try await nodesA.register(hostname: "node-b", cpus: 64, memoryBytes: 1, gpus: []) },
                { _ = try await nodesA.register(hostname: "node-c", cpus: 64, memoryBytes: 1, gpus: []) },
            ] as [() async throws -> Void] {
                let error = await #expect(throws: PostgresError.self) { try await attempt() }
                #expect(error?.sqlState == "42501")
            }
            let b = try await owner.query("SELECT state, cpus, policy::text AS p, reclaimed_at IS NULL AS free FROM nodes WHERE id = \(f.nodeB)")[0]
            #expect(try b.decode("state", as: String.self) == "up" && b.decode("cpus", as: Int.self) == 2)
            #expect(try b.decode("free", as: Bool.self))
            // The leader's duty: a node marks a silent node down (and nothing else about it).
            try await owner.query("UPDATE nodes SET last_heartbeat_at = now() - interval '1 hour' WHERE id = \(f.nodeB)")
            #expect(try await nodesA.markDown(notHeardFor: .seconds(60)) == ["node-b"])
            // Right after a rescue: of the nodes that held lapsed leases, the quiet one goes down
            // sooner, one that still heartbeats stays as it is (Migrations/0026).
            // (Heartbeats an hour old and just now, against ten minutes: a loaded run's stalls of
            // a minute cannot blur the two.)
            try await owner.query("UPDATE nodes SET state = 'up', last_heartbeat_at = now() - interval '1 hour' WHERE id = \(f.nodeB)")
            try await owner.query("UPDATE nodes SET last_heartbeat_at = now() WHERE id = \(f.nodeA)")
            #expect(try await nodesA.markDown(holders: [f.nodeA, f.nodeB], notHeardFor: .seconds(600)) == ["node-b"])
            #expect(try await nodesA.markDown(holders: [f.nodeA], notHeardFor: .seconds(600)) == [])
            #expect(try await owner.query("SELECT state FROM nodes WHERE id = \(f.nodeA)")[0].decode("state", as: String.self) == "draining")
        }
    }

    @Test func aRevokedNodeCannotConnectNorActThroughASessionItStillHolds() async throws {
        try await TestDatabase.with { owner, info in
            let f = try await Fleet(owner, info)
            defer { f.shutdown() }
            try await owner.query("UPDATE node_logins SET revoked_at = now(), revoked_by = 'tests' WHERE role_name = \(f.roleA)")
            // A session that survived: every function refuses it.
            let error = await #expect(throws: PostgresError.self) { _ = try await NodeStore(client: f.a).heartbeat(nodeID: f.nodeA) }
            #expect(error?.message.contains("the login of node node-a was revoked") == true)
            // The role cannot log in once NOLOGIN (what `hearth node revoke` does).
            try await owner.withConnection { try await $0.execute(unsafeSQL: "ALTER ROLE \(f.roleA) NOLOGIN") }
            let fresh = try info.nodeClient(role: f.roleA, password: f.passwordA, maxConnections: 1)
            defer { fresh.shutdown() }
            let refused = await #expect(throws: PostgresError.self) { try await fresh.query("SELECT 1") }
            #expect(refused?.code == .connectionFailed)
            #expect(refused?.message.contains("not permitted to log in") == true)
            // With its password and login, node b still connects: the refusal was node a's alone.
            #expect(try await f.b.query("SELECT 1 AS one")[0].decode("one", as: Int.self) == 1)
        }
    }
}

import Foundation
import HearthAPI
import HearthClient
import HearthCore
import HearthProcess
import HearthStore
import HearthTesting
import Testing

/// The fleet database goes away under a running daemon (its connection cut by a relay): the job
/// keeps running, `hearth` gets an immediate sentence, `/health` says degraded; when it returns
/// the daemon reconnects on its own and work goes on. And an embedded cluster that cannot be
/// restarted makes `hearthd` give up loudly, for systemd to take over.
@Suite(.serialized, .timeLimit(.minutes(3))) struct DatabaseOutageTests {
    @Test func aFleetDatabaseOutageIsReportedAndSurvived() async throws {
        try await TestDatabase.with { client, info in
            guard let host = info.conninfo.split(separator: " ").first(where: { $0.hasPrefix("host=/") })?.dropFirst(5) else {
                print("skipped: the test server is not on a Unix socket (\(info.conninfo))")
                return
            }
            let dir = try BuiltProducts.temporaryDirectory("hearth-outage")
            let relay = try SocketRelay(targetSocket: "\(host)/.s.PGSQL.5432", directory: dir.appendingPathComponent("relay").path)
            let user = info.conninfo.split(separator: " ").first { $0.hasPrefix("user=") }.map { " \($0)" } ?? ""
            // A lease long enough that the outage below (noticed, probed, answered, then 3 s more) stays
            // well inside it even on a loaded machine: what is tested is that nothing stops the worker
            // before its lease runs out.
            let node = try await ChaosNode(name: "outage", directory: dir, stateDirectory: dir.appendingPathComponent("state"), arguments: [
                "--database-url", "host=\(relay.directory) dbname=\(info.database)\(user)",
            ], leaseSeconds: 30)
            defer { node.child.signal(SIGKILL) }
            let worker = try #require(BuiltProducts.path("hearth-worker"))
            let data = try JobRunnerTests.Fixture.prepareData(worker: worker, in: dir)
            let spec = dir.appendingPathComponent("spec.json")
            try """
                {"model": {"layers": 1, "heads": 2, "width": 16, "context": 8}, "data": [{"path": "\(data)"}], "batch_size": 4,
                 "steps": 100000, "seed": 7, "threads": 1, "checkpoint_interval": 20000, "log_interval": 5000}
                """.write(to: spec, atomically: true, encoding: .utf8)
            let submitted = try await CLI.run(["submit", "--kind", "train", "--gpus", "1", spec.path], socket: node.socketPath)
            #expect(submitted.stdout == "submitted job 1\n", "\(submitted.stderr)")
            try await EndToEndTests.waitUntil("job 1 runs") { try await EndToEndTests.job(1, via: node.socketPath).state == .running }
            let workers = node.workerPIDs
            #expect(workers.count == 1)

            relay.cut()
            let clock = ContinuousClock()
            let cut = clock.now
            try await EndToEndTests.waitUntil("/health says degraded", timeout: 10) {
                (try? ControlClient(socketPath: node.socketPath).request("GET", "/health"))?.status == 503
            }
            let health = try ControlClient(socketPath: node.socketPath).request("GET", "/health")
            let json = try #require(try JSONSerialization.jsonObject(with: health.body) as? [String: Any])
            #expect(json["status"] as? String == "degraded")
            #expect((json["database"] as? [String: Any])?["reachable"] as? Bool == false)
            #expect((json["status_line"] as? String)?.hasPrefix("degraded: database unreachable since ") == true, "\(json)")
            let before = clock.now
            let jobs = try await CLI.run(["queue"], socket: node.socketPath)
            #expect(clock.now - before < .seconds(3), "the CLI answers at once")
            #expect(jobs.status == .exited(3))
            #expect(jobs.stderr.hasPrefix("hearth: the fleet database is unreachable since "), "\(jobs.stderr)")
            #expect(jobs.stderr.contains("running jobs continue; new work waits until it is back"))
            // Up to its lease (30 s here) the worker runs on.
            try await Task.sleep(for: .seconds(3))
            #expect(clock.now - cut < .seconds(25), "the outage outlasted the test's margin inside the lease")
            #expect(node.workerPIDs == workers, "the running job's worker survives a short outage")

            try relay.restore()
            try await EndToEndTests.waitUntil("/health says healthy", timeout: 15) {
                (try? ControlClient(socketPath: node.socketPath).request("GET", "/health"))?.status == 200
            }
            print("outage of \(clock.now - cut) seen and recovered")
            try await EndToEndTests.waitUntil("job 1 succeeds", timeout: 120) {
                try await EndToEndTests.job(1, via: node.socketPath).state == .succeeded
            }
            let ledger = try await JobQueue(client: client).allocations(jobID: 1)
            #expect(ledger.map(\.endReason) == [.succeeded], "one attempt, through the outage: \(ledger)")
            try EndToEndTests.spec(data, steps: 20).write(to: spec, atomically: true, encoding: .utf8)
            let second = try await CLI.run(["submit", "--kind", "train", spec.path], socket: node.socketPath)
            #expect(second.status == .exited(0), "\(second.stderr)")
            try await EndToEndTests.waitUntil("job 2 succeeds", timeout: 60) {
                try await EndToEndTests.job(2, via: node.socketPath).state == .succeeded
            }
            #expect(node.log.contains("the database is reachable again"))
            // A loop failing every turn (the heartbeat, every 0.5 s here) said so once, not once a
            // turn, and said when it worked again.
            let log = node.log
            #expect(log.components(separatedBy: "node heartbeat failed").count - 1 == 1, "\(log.suffix(4000))")
            #expect(log.contains("the node's heartbeat works again, after "))
            #expect(await node.stop() == .exited(0))
            relay.cut()
        }
    }

    /// Started while the fleet database is down, hearthd waits for it (STATUS= says so) instead of
    /// failing into systemd's start limit, and serves once it answers.
    @Test func aDaemonStartedDuringAnOutageWaitsForTheDatabase() async throws {
        try await TestDatabase.with { _, info in
            guard let host = info.conninfo.split(separator: " ").first(where: { $0.hasPrefix("host=/") })?.dropFirst(5) else { return }
            let dir = try BuiltProducts.temporaryDirectory("hearth-outage-start")
            let relay = try SocketRelay(targetSocket: "\(host)/.s.PGSQL.5432", directory: dir.appendingPathComponent("relay").path)
            relay.cut()
            Thread.detachNewThread {
                sleep(4)
                try? relay.restore()
            }
            let user = info.conninfo.split(separator: " ").first { $0.hasPrefix("user=") }.map { " \($0)" } ?? ""
            let node = try await ChaosNode(name: "late", directory: dir, stateDirectory: dir.appendingPathComponent("state"), arguments: [
                "--database-url", "host=\(relay.directory) dbname=\(info.database)\(user)",
            ])
            defer { node.child.signal(SIGKILL) }
            #expect(node.log.contains("the database is unreachable at start"), "\(node.log.suffix(2000))")
            #expect(node.log.contains("the database answers; starting"))
            let who = try await CLI.run(["whoami"], socket: node.socketPath)
            #expect(who.status == .exited(0), "\(who.stderr)")
            #expect(await node.stop() == .exited(0))
            relay.cut()
        }
    }

    /// The database goes away after hearthd is ready but before its agent has recorded the node
    /// (a server restarting just then): the agent waits for it however long it takes, past the
    /// lease, instead of ending the daemon. The agent's first statement is held on a lock so the
    /// outage lands exactly there.
    @Test func anOutageDuringTheAgentsStartUpIsWaitedOut() async throws {
        try await TestDatabase.with { client, info in
            guard let host = info.conninfo.split(separator: " ").first(where: { $0.hasPrefix("host=/") })?.dropFirst(5) else { return }
            let dir = try BuiltProducts.temporaryDirectory("hearth-outage-agent")
            let relay = try SocketRelay(targetSocket: "\(host)/.s.PGSQL.5432", directory: dir.appendingPathComponent("relay").path)
            let user = info.conninfo.split(separator: " ").first { $0.hasPrefix("user=") }.map { " \($0)" } ?? ""
            let arguments = ["--database-url", "host=\(relay.directory) dbname=\(info.database)\(user)"]
            // A first start applies the migrations (the jobs table must exist to be locked).
            let first = try await ChaosNode(name: "agent", directory: dir, stateDirectory: dir.appendingPathComponent("state"),
                                            arguments: arguments, leaseSeconds: 2)
            #expect(await first.stop() == .exited(0))

            let lock = try await PostgresConnection.connect(conninfo: info.conninfo, applicationName: "outage-test-lock", database: info.database)
            defer { lock.close() }
            try await lock.execute(unsafeSQL: "BEGIN; LOCK TABLE jobs IN EXCLUSIVE MODE")
            let node = try await ChaosNode(name: "agent", directory: dir, stateDirectory: dir.appendingPathComponent("state"),
                                           arguments: arguments, leaseSeconds: 2)
            defer { node.child.signal(SIGKILL) }
            try await EndToEndTests.waitUntil("the agent waits on the lock", timeout: 10) {
                let rows = try await client.query("SELECT count(*)::bigint AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")
                return try rows.first?.decode("n", as: Int64.self) ?? 0 > 0
            }
            relay.cut()
            // Three leases (2 s each) without a database.
            try await Task.sleep(for: .seconds(6))
            var status: Int32 = 0
            #expect(waitpid(node.pid, &status, WNOHANG) == 0, "hearthd is still running: \(node.log.suffix(3000))")
            #expect(node.log.contains("cannot record the jobs held before the restart yet, the database is unreachable"))
            try relay.restore()
            try await lock.execute(unsafeSQL: "COMMIT")
            try await EndToEndTests.waitUntil("the node comes up", timeout: 30) { node.log.contains("hearth.event=node-up") }
            try await EndToEndTests.waitUntil("/health says healthy", timeout: 15) {
                (try? ControlClient(socketPath: node.socketPath).request("GET", "/health"))?.status == 200
            }
            let who = try await CLI.run(["whoami"], socket: node.socketPath)
            #expect(who.status == .exited(0), "\(who.stderr)")
            #expect(await node.stop() == .exited(0))
            relay.cut()
        }
    }

    @Test func anEmbeddedClusterThatCannotBeRestartedMakesHearthdGiveUpLoudly() async throws {
        let dir = try BuiltProducts.temporaryDirectory("hearth-giveup")
        chmod(dir.path, 0o755)
        let node = try await ChaosNode(name: "giveup", directory: dir, stateDirectory: dir.appendingPathComponent("state"), arguments: [])
        defer { node.child.signal(SIGKILL) }
        let pm = try #require(node.postmasterPID)
        // A cluster whose configuration is gone cannot start again.
        let conf = node.stateDirectory.appendingPathComponent("postgres/data/postgresql.conf")
        try FileManager.default.moveItem(at: conf, to: dir.appendingPathComponent("postgresql.conf.away"))
        kill(pm, SIGKILL)
        let status = await node.child.wait()
        #expect(status != .exited(0), "hearthd exits non-zero so systemd's Restart= takes over")
        #expect(node.log.contains("hearth.event=database-gave-up"), "\(node.log.suffix(3000))")
        #expect(node.log.contains("the server's log is \(node.stateDirectory.path)/postgres/server.log"))
    }
}

import Foundation
import HearthAPI
import HearthCore
import HearthDaemon
import HearthProcess
import HearthStore
import HearthTesting
import Testing

/// A donated node joins a fleet with a login of its own, runs a job, is refused fleet-wide
/// actions, and is cut off (Docs/security.md, "The fleet's trust model"): two real `hearthd` on
/// one PostgreSQL, the coordinator with the owner's credentials, the donated node enrolled.
@Suite(.serialized, .timeLimit(.minutes(10))) struct EnrollmentTests {
    /// Runs `hearthd ARGS`, returning its exit status and output.
    static func hearthd(_ arguments: [String], in dir: URL) async throws -> (status: ChildProcess.Termination, output: String) {
        let hearthd = try #require(BuiltProducts.path("hearthd"))
        let out = dir.appendingPathComponent("hearthd-\(UUID().uuidString).out").path
        let fd = open(out, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        let child = try ChildProcess.spawn(hearthd, arguments, environment: ["PATH": "/usr/bin:/bin"], descriptors: [nil, fd, fd])
        close(fd)
        let status = await child.wait()
        return (status, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
    }

    @Test func inviteEnrollRunAJobBeRefusedFleetWideAndBeRevoked() async throws {
        try await TestDatabase.with { owner, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-enroll")
            let worker = try #require(BuiltProducts.path("hearth-worker"))
            let data = try JobRunnerTests.Fixture.prepareData(worker: worker, in: dir)
            let coordinator = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "coord", directory: dir,
                                                extraArguments: ["--heartbeat-seconds", "0.5", "--lease-seconds", "10"])
            defer { coordinator.child.signal(SIGKILL) }
            let me = try await CLI.run(["whoami"], socket: coordinator.socketPath)
            #expect(me.stdout.contains("root (uid 0), admin"), "the installing account is a fleet admin: \(me.stderr)")

            // The admin's invite: one line, the token.
            let invite = try await CLI.run(["node", "invite", "--name", "donated", "--donor", "dana"], socket: coordinator.socketPath)
            #expect(invite.status == .exited(0), "\(invite.stderr)")
            let token = invite.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(token.hasPrefix("hj1.") && !token.contains(" "))

            // The new node enrolls as hearth_enroll, with nothing but the token.
            let url = try PostgresConninfo.rewrite(info.conninfo, overriding: ["dbname": info.database, "user": "hearth_enroll"])
            let state = dir.appendingPathComponent("donated")
            let wrongName = try await Self.hearthd(["enroll", token, "--database-url", url, "--state-dir", state.path,
                                                    "--node-name", "impostor"], in: dir)
            #expect(wrongName.status != .exited(0) && wrongName.output.contains("this join token is for node donated, not impostor"))
            let enrolled = try await Self.hearthd(["enroll", token, "--database-url", url, "--state-dir", state.path,
                                                   "--node-name", "donated"], in: dir)
            #expect(enrolled.status == .exited(0), "\(enrolled.output)")
            let credentials = NodeCredentials.path(stateDirectory: state)
            let mode = try FileManager.default.attributesOfItem(atPath: credentials.path)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            let stored = try #require(NodeCredentials.read(stateDirectory: state))
            #expect(stored.contains("password=") && !stored.contains("hearth_enroll"))
            let again = try await Self.hearthd(["enroll", token, "--database-url", url, "--state-dir",
                                                dir.appendingPathComponent("other").path, "--node-name", "donated"], in: dir)
            #expect(again.status != .exited(0) && again.output.contains("already used"), "one-time: \(again.output)")

            // The donated node runs with its own login; the coordinator drains itself so the job goes there.
            let donated = try await DaemonProcess(conninfo: "", database: "", nodeName: "donated", directory: dir,
                                            extraArguments: ["--heartbeat-seconds", "0.5", "--lease-seconds", "10"], enrolled: true)
            defer { donated.child.signal(SIGKILL) }
            let login = try await owner.query("""
                SELECT l.role_name, n.hostname, d.name AS donor FROM node_logins l JOIN nodes n ON n.id = l.node_id
                LEFT JOIN accounts d ON d.id = n.donor_id WHERE l.hostname = 'donated'
                """)
            #expect(login.count == 1)
            #expect(try login.first?.decode("donor", as: String?.self) == "dana")
            let role: String = try #require(try login.first?.decode("role_name"))
            let sessions: Int = try await owner.query("""
                SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = \(role) AND datname = \(info.database)
                """)[0].decode("n")
            #expect(sessions >= 1, "the donated daemon connects as its own role")
            #expect(try await CLI.run(["node", "drain", "coord"], socket: coordinator.socketPath).status == .exited(0))
            let specFile = dir.appendingPathComponent("spec.json")
            try EndToEndTests.spec(data, steps: 300).write(to: specFile, atomically: true, encoding: .utf8)
            let submitted = try await CLI.run(["submit", "--kind", "train", specFile.path], socket: donated.socketPath)
            #expect(submitted.status == .exited(0), "\(submitted.stderr)")
            try await EndToEndTests.waitUntil("job 1 succeeded", timeout: 120) {
                try await EndToEndTests.job(1, via: coordinator.socketPath).state == .succeeded
            }
            let ledger = try await owner.query("SELECT n.hostname, a.row_hash FROM allocations a JOIN nodes n ON n.id = a.node_id")
            #expect(try ledger.map { try $0.decode("hostname", as: String.self) } == ["donated"])

            // Root on the donated node is admin of it alone.
            let other = try await JobQueue(client: owner).enqueue(.init(
                kind: .train, accountID: try await AccountStore(client: owner).ensure(name: "carol"), specJSON: "{}", gpus: 1)).job
            let cancel = try await CLI.run(["cancel", "\(other.id)"], socket: donated.socketPath)
            #expect(cancel.status == .exited(1) && cancel.stderr.contains("only its owner or a fleet admin can cancel it"))
            #expect(cancel.stderr.contains("node donated holds only its own database login"), "\(cancel.stderr)")
            let drain = try await CLI.run(["node", "resume", "coord"], socket: donated.socketPath)
            #expect(drain.status == .exited(1) && drain.stderr.contains("to resume node coord is a fleet-wide action"), "\(drain.stderr)")
            let fleetReport = try await CLI.run(["report", "--fleet"], socket: donated.socketPath)
            #expect(fleetReport.status == .exited(1) && fleetReport.stderr.contains("only fleet admins can read the fleet report"))
            let ownDrain = try await CLI.run(["node", "drain", "donated"], socket: donated.socketPath)
            #expect(ownDrain.status == .exited(0), "its own node: \(ownDrain.stderr)")
            #expect(try await CLI.run(["node", "resume", "donated"], socket: donated.socketPath).status == .exited(0))

            // Cancels by filter and by element range go through the node's own login too: root's
            // own jobs only, carol's left alone.
            let refusedFilter = try await CLI.run(["cancel", "--user", "carol"], socket: donated.socketPath)
            #expect(refusedFilter.status == .exited(1) && refusedFilter.stderr.contains("only admins can cancel another account's jobs")
                    && refusedFilter.stderr.contains("node donated holds only its own database login"), "\(refusedFilter.stderr)")
            let waiting = dir.appendingPathComponent("waiting.json")
            try #"{"kind": "command", "gpus": 64, "spec": {"argv": ["/bin/true"]}}"#.write(to: waiting, atomically: true, encoding: .utf8)
            #expect(try await CLI.run(["submit", waiting.path], socket: donated.socketPath).status == .exited(0))
            let array = try await CLI.run(["submit", "--kind", "command", "--gpus", "64", "--array", "0-3", "--wrap", "true"], socket: donated.socketPath)
            let arrayID = try #require(Int64(array.stdout.split(separator: " ").dropFirst(2).first ?? ""), "\(array.stdout)\(array.stderr)")
            let some = try await CLI.run(["cancel", "\(arrayID)_[1-2]"], socket: donated.socketPath)
            #expect(some.stdout == "\(arrayID)_[1-2]: 2 cancelled\n", "\(some.stdout)\(some.stderr)")
            let rest = try await CLI.run(["cancel", "\(arrayID)"], socket: donated.socketPath)
            #expect(rest.stdout == "array \(arrayID): 2 cancelled, 2 already finished\n", "\(rest.stdout)\(rest.stderr)")
            let mine = try await CLI.run(["cancel", "--state", "queued"], socket: donated.socketPath)
            #expect(mine.stdout == "cancelled 1 job\n", "\(mine.stdout)\(mine.stderr)")
            #expect(try await JobQueue(client: owner).job(other.id)?.state == .queued, "carol's job is not root's to cancel")

            // The ledger verifies; a row the superuser alters behind the guards is named.
            let verified = try await CLI.run(["ledger", "verify"], socket: coordinator.socketPath)
            #expect(verified.status == .exited(0) && verified.stdout.contains("donated"), "\(verified.stdout)\(verified.stderr)")
            let allocation: Int64 = try await owner.query("SELECT id FROM allocations")[0].decode("id")
            try await owner.withConnection { c in
                try await c.execute(unsafeSQL: "SET session_replication_role = replica")
                try await c.execute(unsafeSQL: "UPDATE allocations SET cpu_seconds = coalesce(cpu_seconds, 0) + 3600")
                try await c.execute(unsafeSQL: "SET session_replication_role = origin")
            }
            let tampered = try await CLI.run(["ledger", "verify", "--donor", "dana"], socket: coordinator.socketPath)
            #expect(tampered.status == .exited(2))
            #expect(tampered.stdout.contains("node donated: allocation \(allocation) (job 1, attempt 1)"), "\(tampered.stdout)")

            // Revoked: the login cannot connect again, whatever the daemon holds.
            let revoke = try await CLI.run(["node", "revoke", "donated"], socket: coordinator.socketPath)
            #expect(revoke.status == .exited(0) && revoke.stdout.contains("node donated is revoked"), "\(revoke.stderr)")
            let cut = try PostgresClient(configuration: .init(conninfo: stored, maxConnections: 1))
            defer { cut.shutdown() }
            let refused = await #expect(throws: PostgresError.self) { try await cut.query("SELECT 1") }
            #expect(refused?.code == .connectionFailed)
            let revoked: Bool = try await owner.query("""
                SELECT revoked_at IS NOT NULL AS r FROM node_logins WHERE hostname = 'donated'
                """)[0].decode("r")
            #expect(revoked)
        }
    }
}

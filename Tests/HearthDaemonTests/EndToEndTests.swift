import Foundation
import HearthAPI
import HearthCore
import HearthProcess
import HearthStore
import HearthTesting
import Testing

/// The real binaries end to end: `hearthd run` processes on a real PostgreSQL, driven by the
/// `hearth` CLI, running real `hearth-worker` children.
@Suite(.serialized, .timeLimit(.minutes(10))) struct EndToEndTests {
    static func spec(_ data: String, steps: Int) -> String {
        """
        {"model": {"layers": 1, "heads": 2, "width": 16, "context": 8}, "data": [{"path": "\(data)"}], "batch_size": 4,
         "steps": \(steps), "seed": 7, "threads": 1, "checkpoint_interval": 2000, "log_interval": 500}
        """
    }

    static func job(_ id: Int64, via socket: String) async throws -> JobView {
        let r = try await CLI.run(["show", "\(id)", "--json"], socket: socket)
        return try APICoding.decoder().decode(JobView.self, from: Data(r.stdout.utf8))
    }

    static func waitUntil(_ what: String, timeout: Double = 60, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while try await !condition() {
            if Date() > deadline { throw TestProcessError("timed out waiting until \(what)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    @Test func submitWatchAndCancelThroughTheCLI() async throws {
        try await TestDatabase.with { client, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-e2e")
            let worker = try #require(BuiltProducts.path("hearth-worker"))
            let data = try JobRunnerTests.Fixture.prepareData(worker: worker, in: dir)
            let daemon = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "e2e-a", directory: dir,
                                           extraArguments: ["--heartbeat-seconds", "0.5", "--lease-seconds", "5"])
            defer { daemon.child.signal(SIGKILL) }

            let me = try await CLI.run(["whoami"], socket: daemon.socketPath)
            #expect(me.status == .exited(0) && me.stdout.contains("root (uid 0), admin"))

            let specFile = dir.appendingPathComponent("spec.json")
            try Self.spec(data, steps: 1500).write(to: specFile, atomically: true, encoding: .utf8)
            let submitted = try await CLI.run(["submit", "--kind", "train", "--name", "short", specFile.path], socket: daemon.socketPath)
            #expect(submitted.status == .exited(0) && submitted.stdout == "submitted job 1\n", "\(submitted.stderr)")
            try await Self.waitUntil("job 1 succeeded") { try await Self.job(1, via: daemon.socketPath).state == .succeeded }
            let done = try await Self.job(1, via: daemon.socketPath)
            #expect(done.step == 1500 && done.node == nil && done.attempt == 1)
            let history = try await CLI.run(["logs", "1"], socket: daemon.socketPath)
            #expect(history.status == .exited(0))
            for expected in ["submitted → queued", "placed on e2e-a → scheduled", "started on e2e-a → running", "step 1500  loss",
                             "checkpoint on e2e-a at step 1500", "succeeded on e2e-a"] {
                #expect(history.stdout.contains(expected), "logs lack \"\(expected)\": \(history.stdout)")
            }
            let followed = try await CLI.run(["logs", "-f", "1"], socket: daemon.socketPath)
            #expect(followed.status == .exited(0) && followed.stdout == history.stdout, "-f of a finished job ends at once")

            try Self.spec(data, steps: 50_000_000).write(to: specFile, atomically: true, encoding: .utf8)
            _ = try await CLI.run(["submit", "--kind", "train", "--name", "long", specFile.path], socket: daemon.socketPath)
            try await Self.waitUntil("job 2 reports progress") { try await Self.job(2, via: daemon.socketPath).step != nil }
            // On a terminal (a real pty from script(1)), `logs -f` draws one live bar with the ETA.
            let hearth = try #require(BuiltProducts.path("hearth"))
            let screen = dir.appendingPathComponent("tty.out").path
            let fd = open(screen, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
            let tty = try ChildProcess.spawn("/usr/bin/timeout", ["4", "/usr/bin/script", "-qec",
                "\(hearth) logs -f 2 --socket \(daemon.socketPath)", "/dev/null"], descriptors: [nil, fd, fd])
            close(fd)
            #expect(await tty.wait() == .exited(124), "still following when timed out")
            let drawn = try String(contentsOfFile: screen, encoding: .utf8)
            #expect(drawn.contains("/50000000  loss") && drawn.contains(" tok/s  ETA "), "\(drawn.suffix(300))")
            let queue = try await CLI.run(["queue"], socket: daemon.socketPath)
            // squeue's fixed columns, printed as the rows arrive.
            let lines = queue.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            #expect(lines.first?.prefix(8) == ["JOBID", "NAME", "USER", "KIND", "STATE", "GPUS", "NODE", "TIME"])
            #expect(lines.dropFirst().first?.prefix(7) == ["2", "long", "root", "train", "running", "0", "e2e-a"], "\(queue.stdout)")
            let cancel = try await CLI.run(["cancel", "2"], socket: daemon.socketPath)
            #expect(cancel.stdout.contains("job 2: cancel requested"))
            try await Self.waitUntil("job 2 cancelled") { try await Self.job(2, via: daemon.socketPath).state == .cancelled }

            let events = try await JobQueue(client: client).events(jobID: 2).map(\.event)
            #expect(events.prefix(3) == ["submitted", "placed", "started"] && events.last == "cancelled")
            // The worker got SIGTERM, so it may have checkpointed between the request and the end.
            #expect(events.drop { $0 != "cancel-requested" }.dropFirst().allSatisfy { $0 == "checkpoint" || $0 == "cancelled" })
            let ledger = try await JobQueue(client: client).allocations(jobID: 2)
            #expect(ledger.map(\.endReason) == [.cancelled])

            // Bad input: a clear 4xx-backed message and exit status 1, nothing written.
            let bad = try await CLI.run(["submit", "--kind", "paint", specFile.path], socket: daemon.socketPath)
            #expect(bad.status == .exited(1) && bad.stderr.contains("unknown job kind \"paint\""))
            #expect(await daemon.stop(SIGTERM) == .exited(0))
            let unreachable = try await CLI.run(["queue"], socket: daemon.socketPath)
            #expect(unreachable.status == .exited(3) && unreachable.stderr.contains("cannot reach hearthd"))
        }
    }

    /// kill -9 of a node's daemon: its worker notices, checkpoints and exits by itself; the
    /// restarted daemon requeues the job at once and it resumes from that checkpoint.
    @Test func aRestartedDaemonRequeuesItsOrphansAndTheyResume() async throws {
        try await TestDatabase.with { client, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-orphan")
            let worker = try #require(BuiltProducts.path("hearth-worker"))
            let data = try JobRunnerTests.Fixture.prepareData(worker: worker, in: dir)
            let args = ["--heartbeat-seconds", "0.5", "--lease-seconds", "60"]
            let first = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "phoenix", directory: dir,
                                          extraArguments: args)
            let specFile = dir.appendingPathComponent("spec.json")
            try Self.spec(data, steps: 50_000_000).write(to: specFile, atomically: true, encoding: .utf8)
            _ = try await CLI.run(["submit", "--kind", "train", specFile.path], socket: first.socketPath)
            try await Self.waitUntil("the job reports progress") { try await Self.job(1, via: first.socketPath).step != nil }
            // A job resumes only from a checkpoint it recorded: wait for one (the one the worker
            // writes on its way out, with no daemon to record it, is not used).
            try await Self.waitUntil("a checkpoint is recorded", timeout: 60) {
                try await JobQueue(client: client).latestCheckpoint(jobID: 1) != nil
            }
            let pidFile = dir.appendingPathComponent("phoenix/jobs/1/worker.pid").path
            let pid = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(await first.stop(SIGKILL) == .signalled(SIGKILL))
            try await Self.waitUntil("the orphaned worker exits by itself", timeout: 30) { kill(pid, 0) != 0 }
            let checkpoints = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("phoenix/jobs/1/work/checkpoints").path)
            #expect(checkpoints.contains { $0.hasPrefix("step-") }, "it checkpointed on the way out: \(checkpoints)")
            // What attempt 2 must resume from: the newest checkpoint recorded before the daemon died.
            let saved = try #require(try await JobQueue(client: client).latestCheckpoint(jobID: 1)).step

            // The lease (60 s) has not expired, yet the restarted node requeues and resumes it now.
            let second = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "phoenix", directory: dir,
                                           extraArguments: args)
            defer { second.child.signal(SIGKILL) }
            try await Self.waitUntil("attempt 2 runs", timeout: 20) {
                let j = try await Self.job(1, via: second.socketPath)
                return j.state == .running && j.attempt == 2
            }
            let events = try await JobQueue(client: client).events(jobID: 1).map(\.event)
            #expect(events.contains("orphaned"))
            #expect(try await JobQueue(client: client).allocations(jobID: 1).map(\.endReason) == [.lost, nil])
            let queue = JobQueue(client: client)
            try await Self.waitUntil("attempt 2 reports progress") { try await queue.metrics(jobID: 1).contains { $0.attempt == 2 } }
            let resumedAt = try #require(try await queue.metrics(jobID: 1).filter { $0.attempt == 2 }.map(\.step).min())
            #expect(resumedAt > saved, "attempt 2 continued from the recorded checkpoint at step \(saved), not from 0")
            #expect(await second.stop(SIGTERM) == .exited(0))
        }
    }

    /// A drained node finishes what it runs and takes nothing new until resumed.
    @Test func aDrainedNodeTakesNoNewJobsUntilResumed() async throws {
        try await TestDatabase.with { _, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-drain")
            let worker = try #require(BuiltProducts.path("hearth-worker"))
            let data = try JobRunnerTests.Fixture.prepareData(worker: worker, in: dir)
            let daemon = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "drainee", directory: dir,
                                           extraArguments: ["--heartbeat-seconds", "0.5", "--lease-seconds", "5"])
            defer { daemon.child.signal(SIGKILL) }
            let drained = try await CLI.run(["node", "drain", "drainee"], socket: daemon.socketPath)
            #expect(drained.stdout.contains("node drainee is draining"), "\(drained.stderr)")
            #expect(try await CLI.run(["nodes"], socket: daemon.socketPath).stdout.contains("drainee  draining"))
            let specFile = dir.appendingPathComponent("spec.json")
            try Self.spec(data, steps: 300).write(to: specFile, atomically: true, encoding: .utf8)
            _ = try await CLI.run(["submit", "--kind", "train", specFile.path], socket: daemon.socketPath)
            try await Self.waitUntil("hearth priority explains job 1 with the drained node", timeout: 30) {
                try await CLI.run(["priority", "1"], socket: daemon.socketPath).stdout.contains("Unsatisfiable")
            }
            #expect(try await Self.job(1, via: daemon.socketPath).state == .queued, "a draining node is given nothing")
            #expect(try await CLI.run(["node", "resume", "drainee"], socket: daemon.socketPath).status == .exited(0))
            try await Self.waitUntil("the job runs after resume") { try await Self.job(1, via: daemon.socketPath).state == .succeeded }
            let missing = try await CLI.run(["node", "drain", "nowhere"], socket: daemon.socketPath)
            #expect(missing.status == .exited(1) && missing.stderr.contains("no node named \"nowhere\""))
        }
    }

    /// Two nodes on one PostgreSQL: jobs spread over both; kill -9 of the leader moves the leader
    /// duties; kill -9 of a node running a job requeues it on the other after the lease expires,
    /// with exactly one open ledger row at any time.
    @Test func twoNodesShareWorkAndSurviveKillNine() async throws {
        try await TestDatabase.with { client, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-e2e2")
            let worker = try #require(BuiltProducts.path("hearth-worker"))
            let data = try JobRunnerTests.Fixture.prepareData(worker: worker, in: dir)
            let args = ["--heartbeat-seconds", "0.5", "--lease-seconds", "3", "--slots", "1"]
            let a = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "node-a", directory: dir, extraArguments: args)
            defer { a.child.signal(SIGKILL) }
            try await Self.waitUntil("node-a leads") { a.log.contains("now the fleet leader") }
            let b = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "node-b", directory: dir, extraArguments: args)
            defer { b.child.signal(SIGKILL) }

            let specFile = dir.appendingPathComponent("spec.json")
            try Self.spec(data, steps: 50_000_000).write(to: specFile, atomically: true, encoding: .utf8)
            for i in 1...2 {
                _ = try await CLI.run(["submit", "--kind", "train", "--name", "long-\(i)", specFile.path], socket: a.socketPath)
            }
            try await Self.waitUntil("both jobs run") {
                let nodes = try await [Self.job(1, via: a.socketPath).node, Self.job(2, via: a.socketPath).node]
                return Set(nodes.compactMap { $0 }) == ["node-a", "node-b"]
            }

            // Kill the leader: the other node takes the lock within seconds.
            let jobOnA = try await Self.job(1, via: b.socketPath).node == "node-a" ? Int64(1) : Int64(2)
            let killedAt = Date()
            #expect(await a.stop(SIGKILL) == .signalled(SIGKILL))
            try await Self.waitUntil("node-b leads", timeout: 20) { b.log.contains("now the fleet leader") }
            let takeover = Date().timeIntervalSince(killedAt)
            #expect(takeover < 10, "took \(takeover) s")

            // node-a's job: requeued after its lease expires; node-b is busy (1 slot), so cancel
            // node-b's job to free it, and the orphan runs there.
            let other = jobOnA == 1 ? Int64(2) : Int64(1)
            var maxOpen = 0
            try await Self.waitUntil("the orphan is rescued", timeout: 30) {
                let open: Int = try await client.query(
                    "SELECT count(*) AS n FROM allocations WHERE job_id = \(jobOnA) AND ended_at IS NULL")[0].decode("n")
                maxOpen = max(maxOpen, open)
                return try await Self.job(jobOnA, via: b.socketPath).state == .queued
            }
            _ = try await CLI.run(["cancel", "\(other)"], socket: b.socketPath)
            try await Self.waitUntil("the orphan runs on node-b", timeout: 30) {
                let open: Int = try await client.query(
                    "SELECT count(*) AS n FROM allocations WHERE job_id = \(jobOnA) AND ended_at IS NULL")[0].decode("n")
                maxOpen = max(maxOpen, open)
                let j = try await Self.job(jobOnA, via: b.socketPath)
                return j.state == .running && j.node == "node-b"
            }
            #expect(maxOpen <= 1)
            let ledger = try await JobQueue(client: client).allocations(jobID: jobOnA)
            #expect(ledger.map(\.endReason) == [.lost, nil])
            #expect(ledger.map(\.nodeID).count == 2 && ledger[0].nodeID != ledger[1].nodeID)
            let down = try await CLI.run(["nodes"], socket: b.socketPath)
            #expect(down.stdout.contains("node-a  down"))
            #expect(await b.stop(SIGTERM) == .exited(0))
        }
    }
}

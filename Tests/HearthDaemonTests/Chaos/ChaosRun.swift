import Foundation
import HearthAPI
import HearthClient
import HearthCore
import HearthProcess
import HearthStore
import HearthTesting

/// The chaos harness: real `hearthd`s (one with its embedded PostgreSQL, optionally a second
/// using that same server through a ``SocketRelay`` and keeping its state on a small tmpfs),
/// a stream of jobs (training with checkpoints, an eval, a serve job), and faults at seeded
/// random instants. Afterwards it checks what must hold whatever happened (``verify()``).
///
/// Replay a run with its seed: `HEARTH_CHAOS_SEED=N swift test --filter ChaosTests` or
/// `./bench chaos --seed N`.
final class ChaosRun: @unchecked Sendable {
    enum Fault: String, CaseIterable, Sendable {
        case killWorker = "kill -9 a worker"
        case killDaemon = "kill -9 hearthd (restarted)"
        case killPostmaster = "kill -9 the postmaster"
        case stopDaemon = "SIGSTOP hearthd past its lease"
        case diskFull = "state disk full, then freed"
        case dropDatabase = "database connection dropped, then restored"
    }

    struct Options: Sendable {
        var seed: UInt64
        /// Two nodes sharing the first one's PostgreSQL, or one.
        var twoNodes = true
        /// Faults are injected during this long; then the run drains.
        var faultWindow: Double = 40
        /// `nil`: every fault kind once, at uniform random instants; else a fault every so many
        /// seconds on average (exponential gaps), kinds drawn at random.
        var meanFaultGap: Double? = nil
        /// Training jobs submitted at the start; a long run keeps this many waiting or running.
        var trainingJobs = 5
        var trainingSteps = 1500
        /// How long the drain may take before the run is declared stuck.
        var drainTimeout: Double = 120
        /// Also an eval job and a serve job (cancelled at the drain).
        var evalAndServe = true
        /// The nodes' lease (the SIGSTOP fault lasts this plus 2 s).
        var leaseSeconds = 6
    }

    struct FaultRecord: Sendable {
        var fault: Fault
        var node: String
        var at: Date
        /// When the fault was over: at once for a kill, at SIGCONT, when the disk was freed or
        /// the connection restored.
        var cleared: Date
        var detail: String
        /// Seconds from the fault's end to the node doing work again (a progress report or a
        /// finished attempt on that node); `nil` when it had nothing to do afterwards.
        var recovery: Double?
    }

    let options: Options
    let directory: URL
    private var rng: SplitMix64
    private(set) var nodes: [ChaosNode] = []
    private var relay: SocketRelay?
    private var tmpfs: String?
    private(set) var faults: [FaultRecord] = []
    private(set) var jobs: [(id: Int64, kind: JobKind, steps: Int?)] = []
    private var client: PostgresClient!
    private var queue: JobQueue!
    private var account: Int64 = 0
    private var data = ""
    private var serveJob: Int64?
    private var seedCheckpoint = ""
    var log: (String) -> Void = { print($0) }
    private var finished = false

    init(_ options: Options) throws {
        self.options = options
        rng = SplitMix64(seed: options.seed)
        directory = try BuiltProducts.temporaryDirectory("hearth-chaos")
        chmod(directory.path, 0o755)
    }

    // MARK: Set-up

    func start() async throws {
        log("chaos: seed \(options.seed) (replay with HEARTH_CHAOS_SEED=\(options.seed)); directory \(directory.path)")
        let worker = try BuiltProducts.path("hearth-worker").orThrow("hearth-worker is not built")
        data = try JobRunnerTests.Fixture.prepareData(worker: worker, in: directory)
        let a = try await ChaosNode(name: "chaos-a", directory: directory, stateDirectory: directory.appendingPathComponent("a"), arguments: [],
                              leaseSeconds: options.leaseSeconds)
        nodes = [a]
        let cluster = EmbeddedPostgres(configuration: .init(stateDirectory: a.stateDirectory))
        client = try PostgresClient(configuration: .init(conninfo: cluster.conninfo, maxConnections: 4, applicationName: "hearth-chaos"))
        queue = JobQueue(client: client)
        if options.twoNodes {
            let relayDirectory = directory.appendingPathComponent("relay").path
            let relay = try SocketRelay(
                targetSocket: cluster.socketDirectory.appendingPathComponent(".s.PGSQL.5432").path, directory: relayDirectory)
            self.relay = relay
            let state = directory.appendingPathComponent("b")
            try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
            // A small disk of its own, so that filling it fills nothing else.
            if geteuid() == 0, mountTmpfs(state.path, size: "48m") { tmpfs = state.path }
            let b = try await ChaosNode(name: "chaos-b", directory: directory, stateDirectory: state, arguments: [
                "--database-url", "host=\(relayDirectory) dbname=hearth user=\(cluster.owner)",
            ], leaseSeconds: options.leaseSeconds)
            nodes.append(b)
        }
        account = try await retrying { try await AccountStore(client: self.client).ensure(name: "chaos", role: .volunteer) }
        // A checkpoint for the eval and serve jobs to use.
        let first = try await submitTraining(steps: 40)
        try await waitUntil("the first training job succeeded", timeout: 90) { try await self.state(of: first) == .succeeded }
        seedCheckpoint = try await retrying { try await self.queue.latestCheckpoint(jobID: first) }.orThrow("no checkpoint").path
        for _ in 0..<options.trainingJobs { _ = try await submitTraining(steps: options.trainingSteps) }
        guard options.evalAndServe else { return }
        let doc = directory.appendingPathComponent("doc.txt").path
        try "the quick brown fox jumps over a lazy dog".write(toFile: doc, atomically: true, encoding: .utf8)
        _ = try await submit(kind: .eval, steps: nil, spec: """
            {"checkpoint": "\(seedCheckpoint)", "tokenizer": "\(data)/tokenizer.json", "text_start": " ",
             "tasks": [{"name": "doc", "type": "perplexity", "path": "\(doc)"}]}
            """)
        serveJob = try await submit(kind: .serve, steps: nil, spec: """
            {"checkpoint": "\(seedCheckpoint)", "tokenizer": "\(data)/tokenizer.json", "port": 0}
            """)
    }

    private func mountTmpfs(_ path: String, size: String) -> Bool {
        guard let child = try? ChildProcess.spawn("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size),mode=0755", "tmpfs", path],
                                                  descriptors: [nil, nil, nil]) else { return false }
        return child.waitBlocking() == .exited(0)
    }

    // MARK: Jobs

    @discardableResult
    func submitTraining(steps: Int) async throws -> Int64 {
        try await submit(kind: .train, steps: steps, gpus: 1, spec: """
            {"model": {"layers": 1, "heads": 2, "width": 16, "context": 8}, "data": [{"path": "\(data)"}], "batch_size": 4,
             "steps": \(steps), "seed": 7, "threads": 1, "checkpoint_interval": \(max(10, steps / 6)), "log_interval": \(max(5, steps / 30))}
            """)
    }

    private func submit(kind: JobKind, steps: Int?, gpus: Int = 0, spec: String) async throws -> Int64 {
        let new = NewJob(kind: kind, accountID: account, name: "chaos-\(kind)", specJSON: spec, gpus: gpus, maxAttempts: 100)
        let id = try await retrying { try await self.queue.enqueue(new).job.id }
        jobs.append((id, kind, steps))
        return id
    }

    func state(of id: Int64) async throws -> JobState? {
        try await retrying { try await self.queue.job(id)?.state }
    }

    // MARK: Faults

    /// Injects the run's faults; returns when the fault window is over.
    func injectFaults() async throws {
        let clock = ContinuousClock()
        let begin = clock.now
        var plan: [(at: Double, fault: Fault)] = []
        let kinds = Fault.allCases.filter { isPossible($0) }
        if let gap = options.meanFaultGap {
            var t = 0.0
            while true {
                t += -gap * log1p(-rng.nextUnit())
                if t > options.faultWindow { break }
                plan.append((t, kinds[Int(rng.next() % UInt64(kinds.count))]))
            }
        } else {
            plan = kinds.map { (3 + rng.nextUnit() * (options.faultWindow - 3), $0) }.sorted { $0.at < $1.at }
        }
        log("chaos: plan " + plan.map { "\(String(format: "%.1f", $0.at))s \($0.fault.rawValue)" }.joined(separator: "; "))
        for (index, step) in plan.enumerated() {
            let due = begin + .milliseconds(Int(step.at * 1000))
            if due > clock.now { try await Task.sleep(until: due, clock: clock) }
            try await reviveExited()
            let node = nodes[Int(rng.next() % UInt64(nodes.count))]
            try await inject(step.fault, on: node, index: index)
            // Work for every node after every fault, so that its recovery shows.
            try await topUp()
        }
    }

    private func isPossible(_ fault: Fault) -> Bool {
        switch fault {
        case .diskFull: return tmpfs != nil
        case .dropDatabase: return relay != nil
        default: return true
        }
    }

    private func inject(_ fault: Fault, on chosen: ChaosNode, index: Int) async throws {
        var node = chosen
        let at = Date()
        var cleared: Date?
        var detail = ""
        switch fault {
        case .killWorker:
            let candidates = nodes.flatMap { n in n.workerPIDs.map { (n, $0) } }
            guard !candidates.isEmpty else { log("chaos: \(fault.rawValue): no worker running; skipped"); return }
            let (n, pid) = candidates[Int(rng.next() % UInt64(candidates.count))]
            node = n
            kill(pid, SIGKILL)
            detail = "worker pid \(pid)"
        case .killDaemon:
            detail = "hearthd pid \(node.pid)"
            try await node.killAndRestart()
            detail += " → \(node.pid)"
        case .killPostmaster:
            node = nodes[0]
            guard let pid = node.postmasterPID else { throw TestProcessError("node \(node.name) has no postmaster.pid") }
            kill(pid, SIGKILL)
            detail = "postmaster pid \(pid)"
            // The node serves again within 15 s of its database's death (the issue's bar), unless
            // its supervisor gave up by design (too many crashes): then "systemd" restarts it.
            let exitsBefore = selfExits.count
            let clock = ContinuousClock()
            let killed = clock.now
            try await waitUntil("\(node.name)'s database is back", timeout: 90) {
                try await self.reviveExited()
                guard let now = node.postmasterPID, now != pid else { return false }
                return await self.health(node)?.reachable == true
            }
            let took = clock.now - killed
            detail += "; serving again in \(String(format: "%.2f", Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18)) s"
            if selfExits.count == exitsBefore && took > .seconds(15) {
                throw TestProcessError("\(node.name)'s database took \(took) to come back after its postmaster was killed")
            }
        case .stopDaemon:
            kill(node.pid, SIGSTOP)
            try await Task.sleep(for: .seconds(options.leaseSeconds + 2))
            kill(node.pid, SIGCONT)
            cleared = Date()
            detail = "hearthd pid \(node.pid) stopped \(options.leaseSeconds + 2) s"
        case .diskFull:
            node = nodes[1]
            let filler = (tmpfs ?? "") + "/filler-\(index)"
            let written = fill(filler)
            let hold = 2 + rng.nextUnit() * 4
            try await Task.sleep(for: .milliseconds(Int(hold * 1000)))
            unlink(filler)
            cleared = Date()
            detail = "\(written >> 20) MiB filler held \(String(format: "%.1f", hold)) s"
        case .dropDatabase:
            node = nodes[1]
            relay?.cut()
            let hold = 3 + rng.nextUnit() * 4
            // While it is away, the node says so at once: /health 503, the CLI a clear sentence.
            let seen = try await answersDegraded(node)
            try await Task.sleep(for: .milliseconds(Int(hold * 1000)))
            try relay?.restore()
            cleared = Date()
            detail = "cut \(String(format: "%.1f", hold)) s; \(seen)"
        }
        faults.append(FaultRecord(fault: fault, node: node.name, at: at, cleared: cleared ?? at, detail: detail, recovery: nil))
        log("chaos: \(String(format: "%6.1f", at.timeIntervalSince(faults.first?.at ?? at)))s \(fault.rawValue) on \(node.name): \(detail)")
    }

    /// Daemons that exited on their own (by design only when the embedded cluster cannot be kept
    /// up), restarted as systemd's `Restart=on-failure` would.
    private(set) var selfExits: [String] = []
    func reviveExited() async throws {
        for node in nodes {
            if let how = try await node.restartIfExited() {
                selfExits.append("\(node.name) \(how)")
                log("chaos: hearthd \(node.name) \(how) on its own; restarted (as systemd's Restart= would)")
            }
        }
    }

    /// Writes zeros until the disk is full; returns the bytes written.
    private func fill(_ path: String) -> Int {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        let block = [UInt8](repeating: 0, count: 1 << 20)
        var total = 0
        while true {
            let n = block.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            total += n
        }
        return total
    }

    /// While the node's database is cut: `/health` says degraded, and `hearth queue` answers at
    /// once with the sentence. Returns what was seen, for the log.
    private func answersDegraded(_ node: ChaosNode) async throws -> String {
        try await waitUntil("\(node.name) reports its database unreachable", timeout: 10) { await self.health(node)?.reachable == false }
        let clock = ContinuousClock()
        let begin = clock.now
        let r = try await CLI.run(["queue"], socket: node.socketPath)
        let took = clock.now - begin
        guard r.status != .exited(0), r.stderr.contains("unreachable since"), r.stderr.contains("running jobs continue") else {
            throw TestProcessError("hearth queue during the outage: \(r.status) \(r.stderr) \(r.stdout)")
        }
        guard took < .seconds(5) else { throw TestProcessError("hearth queue took \(took) during the outage") }
        return "hearth queue answered in \(took.components.seconds * 1000 + took.components.attoseconds / 1_000_000_000_000_000) ms"
    }

    /// The node's `GET /health`, decoded.
    func health(_ node: ChaosNode) async -> (reachable: Bool, status: String)? {
        guard let reply = try? ControlClient(socketPath: node.socketPath).request("GET", "/health"),
              let json = try? JSONSerialization.jsonObject(with: reply.body) as? [String: Any],
              let db = json["database"] as? [String: Any], let reachable = db["reachable"] as? Bool,
              let status = json["status"] as? String else { return nil }
        return (reachable, status)
    }

    /// Keeps the run busy: as many training jobs waiting or running as at the start.
    private func topUp() async throws {
        let unfinished: Int = try await retrying {
            try await self.client.query("""
                SELECT count(*)::int AS n FROM jobs WHERE kind = 'train' AND state IN ('queued', 'scheduled', 'running')
                """)[0].decode("n")
        }
        for _ in unfinished..<max(unfinished, options.trainingJobs) { try await submitTraining(steps: options.trainingSteps) }
    }

    // MARK: Drain and checks

    /// Cancels the serve job, waits for every job to end, computes recovery times, stops the nodes.
    func drain() async throws {
        if let serveJob {
            _ = try await retrying { try await self.queue.cancel(jobID: serveJob) }
        }
        let ids = jobs.map(\.id)
        try await waitUntil("every job ended", timeout: options.drainTimeout) {
            try await self.reviveExited()
            let states = try await self.retrying {
                try await self.client.query("SELECT count(*)::int AS n FROM jobs WHERE id = ANY(\(ids)) AND state NOT IN ('succeeded', 'failed', 'cancelled')")[0]
                    .decode("n", as: Int.self)
            }
            return states == 0
        }
        for i in faults.indices { faults[i].recovery = try await recovery(after: faults[i]) }
    }

    /// Seconds from the fault's end to the first progress report or finished attempt on its node.
    private func recovery(after fault: FaultRecord) async throws -> Double? {
        let at = fault.cleared.timeIntervalSince1970
        let row = try await retrying {
            try await self.client.query("""
                SELECT least(
                  (SELECT min(extract(epoch FROM m.at)) FROM job_metrics m
                     JOIN allocations a ON a.job_id = m.job_id AND a.attempt = m.attempt
                     JOIN nodes n ON n.id = a.node_id
                   WHERE n.hostname = \(fault.node) AND extract(epoch FROM m.at) > \(at)),
                  (SELECT min(extract(epoch FROM a.ended_at)) FROM allocations a JOIN nodes n ON n.id = a.node_id
                   WHERE n.hostname = \(fault.node) AND a.end_reason = 'succeeded' AND extract(epoch FROM a.ended_at) > \(at))
                )::float8 AS t
                """)[0]
        }
        let t: Double? = try row.decode("t")
        return t.map { $0 - at }
    }

    /// The checks that must hold whatever happened; each failure is one sentence.
    func verify() async throws -> [String] {
        var problems: [String] = []
        for job in jobs {
            let state = try await state(of: job.id)
            let expected: JobState = job.id == serveJob ? .cancelled : .succeeded
            if state != expected { problems.append("job \(job.id) (\(job.kind)) ended \(state?.rawValue ?? "missing"), not \(expected.rawValue)") }
            if let steps = job.steps, state == .succeeded {
                let last = try await retrying { try await self.queue.latestCheckpoint(jobID: job.id) }
                if last?.step != steps { problems.append("training job \(job.id) succeeded with its last checkpoint at step \(last?.step ?? -1), not \(steps)") }
                if let path = last?.path, !FileManager.default.fileExists(atPath: path) {
                    problems.append("training job \(job.id)'s final checkpoint \(path) is missing")
                }
            }
        }
        let ids = jobs.map(\.id)
        let overlaps: Int = try await retrying {
            try await self.client.query("""
                SELECT count(*)::int AS n FROM allocations a JOIN allocations b ON a.job_id = b.job_id AND a.id < b.id
                WHERE a.job_id = ANY(\(ids)) AND tstzrange(a.started_at, a.ended_at) && tstzrange(b.started_at, b.ended_at)
                """)[0].decode("n")
        }
        if overlaps > 0 { problems.append("\(overlaps) pairs of ledger rows of the same job overlap in time (a job ran twice at once)") }
        let open: Int = try await retrying {
            try await self.client.query("SELECT count(*)::int AS n FROM allocations WHERE ended_at IS NULL")[0].decode("n")
        }
        if open > 0 { problems.append("\(open) ledger rows are still open") }
        let summed: Double = try await retrying {
            try await self.client.query("""
                SELECT coalesce(sum(gpus * extract(epoch FROM ended_at - started_at)), 0)::float8 AS s FROM allocations
                """)[0].decode("s")
        }
        let f = ISO8601DateFormatter()
        let from = f.string(from: Date().addingTimeInterval(-86_400)), to = f.string(from: Date().addingTimeInterval(86_400))
        let report = try await CLI.run(["report", "--fleet", "--from", from, "--to", to, "--tz", "UTC", "--json"], socket: nodes[0].socketPath)
        let parsed = try? JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any]
        let reported = (parsed?["totals"] as? [String: Any])?["gpu_seconds"] as? Double
        if let reported, abs(reported - summed) < 1e-6, summed > 0 {} else {
            problems.append("the fleet report says \(reported.map { "\($0)" } ?? "nothing (\(report.stderr))") GPU-seconds, the ledger \(summed)")
        }
        return problems
    }

    /// Stops every node gracefully, frees the tmpfs; returns the workers still alive (none expected).
    func finish() async -> [pid_t] {
        if finished { return [] }
        finished = true
        for node in nodes.reversed() { _ = await node.stop() }
        client?.shutdown()
        // A worker outlives its daemon only by a bug; give a dying one a moment.
        var left: [pid_t] = []
        for _ in 0..<50 {
            left = ChaosProcesses.matching("hearth-worker", containing: directory.path)
            if left.isEmpty { break }
            usleep(100_000)
        }
        for pid in left { kill(pid, SIGKILL) }
        // The cluster of node a stopped with its daemon; anything left of it must not outlive the test.
        if let pm = nodes.first?.postmasterPID, kill(pm, 0) == 0 { kill(pm, SIGQUIT) }
        if let tmpfs { _ = try? ChildProcess.spawn("/bin/umount", ["-l", tmpfs], descriptors: [nil, nil, nil]).waitBlocking() }
        return left
    }

    /// The summary printed at the end: faults, jobs, recovery per fault kind (median, worst).
    func summary(duration: Double) -> String {
        var lines = ["chaos: seed \(options.seed), \(nodes.count) node(s), \(String(format: "%.0f", duration)) s, "
            + "\(faults.count) faults injected, \(jobs.count) jobs run, "
            + "\(selfExits.count) daemon exits on its own (restarted as systemd would)"]
        lines.append("fault kind                                   count  recovery median  worst")
        for kind in Fault.allCases {
            let these = faults.filter { $0.fault == kind }
            guard !these.isEmpty else { continue }
            let times = these.compactMap(\.recovery).sorted()
            let median = times.isEmpty ? "n/a" : String(format: "%.2f s", times[times.count / 2])
            let worst = times.last.map { String(format: "%.2f s", $0) } ?? "n/a"
            lines.append(kind.rawValue.padding(toLength: 45, withPad: " ", startingAt: 0)
                + "\(these.count)".padding(toLength: 7, withPad: " ", startingAt: 0)
                + median.padding(toLength: 17, withPad: " ", startingAt: 0) + worst)
        }
        return lines.joined(separator: "\n")
    }

    // MARK: Helpers

    /// Retries a database call through the outages the run itself causes (up to 60 s).
    func retrying<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        let deadline = Date().addingTimeInterval(60)
        while true {
            do { return try await body() } catch let error as PostgresError where error.isUnreachable && Date() < deadline {
                client.discardIdleConnections()
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    func waitUntil(_ what: String, timeout: Double, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while try await !condition() {
            if Date() > deadline { throw TestProcessError("timed out after \(Int(timeout)) s waiting until \(what)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

/// SplitMix64: a small, fully determined generator, so a seed replays the same run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

extension Optional {
    func orThrow(_ message: String) throws -> Wrapped {
        guard let self else { throw TestProcessError(message) }
        return self
    }
}

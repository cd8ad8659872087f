import Foundation
import HearthCore
import HearthDaemon
import HearthProcess
import HearthStore
import HearthTesting
import Logging
import Testing

/// Every job runs as its submitter: real Unix users (made here), the real worker and real
/// programs, real PostgreSQL. Run as root (CI does); the users' files live under a 0755
/// directory in /var/tmp, since the checkout's parents may be closed to other users.
@Suite(.serialized, .timeLimit(.minutes(10)), .enabled(if: geteuid() == 0, "running jobs as other users needs root; CI runs as root"))
struct IsolationTests {
    static let alice = "hearth-t-alice", bob = "hearth-t-bob"

    static func makeUsers() throws {
        for user in [alice, bob] where UnixUser.lookup(name: user) == nil {
            let child = try ChildProcess.spawn("/usr/sbin/useradd", ["--no-create-home", "--shell", "/usr/sbin/nologin", user],
                                               descriptors: [nil, nil, nil])
            _ = child.waitBlocking()
        }
        guard UnixUser.lookup(name: alice) != nil, UnixUser.lookup(name: bob) != nil else {
            throw TestProcessError("could not create the test users")
        }
    }

    /// hearth-worker copied into `dir` (0755, reachable by every user). Other tests fork while
    /// the copy is open for writing, and a child still holding it makes exec fail with ETXTBSY
    /// until that child execs: the copy is used only once a run of it succeeds.
    static func copyWorker(into dir: String) throws -> String {
        let worker = dir + "/hearth-worker"
        let built = try #require(BuiltProducts.path("hearth-worker"), "build hearth-worker first (swift build)")
        let partial = worker + ".partial"
        try? FileManager.default.removeItem(atPath: partial)
        try FileManager.default.copyItem(atPath: built, toPath: partial)
        chmod(partial, 0o755)
        let deadline = Date().addingTimeInterval(10)
        while true {
            if let child = try? ChildProcess.spawn(partial, ["--help"], descriptors: [nil, nil, nil]) {
                _ = child.waitBlocking()
                break
            }
            if Date() > deadline { throw TestProcessError("cannot run the copy of hearth-worker at \(partial)") }
            usleep(20_000)
        }
        guard rename(partial, worker) == 0 || FileManager.default.isExecutableFile(atPath: worker) else {
            throw TestProcessError("cannot move \(partial) into place")
        }
        return worker
    }

    /// A runner whose worker, data and state every user can reach.
    struct Fixture: Sendable {
        let queue: JobQueue
        let client: PostgresClient
        let runner: JobRunner
        let node: Int64
        let dir: URL
        let data: String

        init(client: PostgresClient, policy: IsolationPolicy = IsolationPolicy(), grace: Duration = .seconds(20)) async throws {
            try IsolationTests.makeUsers()
            self.client = client
            var config = JobQueue.Configuration()
            config.leaseDuration = .seconds(5)
            queue = JobQueue(client: client, configuration: config)
            node = try await NodeStore(client: client).register(hostname: "iso-node", cpus: 1, memoryBytes: 0, gpus: [])
            dir = URL(fileURLWithPath: "/var/tmp/hearth-iso-\(getpid())-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            let worker = try IsolationTests.copyWorker(into: dir.path)
            data = try JobRunnerTests.Fixture.prepareData(worker: worker, in: dir)
            _ = chmodTree(data)
            runner = JobRunner(
                queue: queue,
                configuration: .init(workerPath: worker, jobsDirectory: dir.appendingPathComponent("state/jobs"),
                                     heartbeatInterval: .milliseconds(200), stopGracePeriod: grace, isolation: policy),
                logger: Logger(label: "test"))
        }

        func account(_ name: String) async throws -> Int64 { try await AccountStore(client: client).ensure(name: name) }

        func trainSpec(steps: Int, extra: String = "") -> String {
            """
            {"model": {"layers": 1, "heads": 2, "width": 16, "context": 8}, "data": [{"path": "\(data)"}], "batch_size": 4,
             "steps": \(steps), "seed": 7, "threads": 1, "checkpoint_interval": 200, "log_interval": 100\(extra)}
            """
        }

        func submit(_ kind: JobKind, as account: String, spec: String, timeLimit: Int? = nil, maxAttempts: Int = 3) async throws -> Job {
            let new = NewJob(kind: kind, accountID: try await self.account(account), specJSON: spec, maxAttempts: maxAttempts,
                             timeLimitSeconds: timeLimit)
            return try await queue.enqueue(new).job
        }

        /// Claims the next job and runs it in the background.
        func start(gpuIndices: [Int] = []) async throws -> Task<JobRunner.Outcome, Never> {
            let (job, lease) = try #require(try await queue.placeNext(nodeID: node))
            let runner = self.runner
            return Task { await runner.run(job, lease: lease, gpuIndices: gpuIndices) }
        }

        func run(gpuIndices: [Int] = []) async throws -> JobRunner.Outcome {
            await (try await start(gpuIndices: gpuIndices)).value
        }

        func workerPID(_ job: Int64) throws -> pid_t {
            let text = try String(contentsOf: dir.appendingPathComponent("state/jobs/\(job)/worker.pid"), encoding: .utf8)
            return try #require(pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        }

        func log(_ job: Int64, attempt: Int = 1) -> String {
            (try? String(contentsOf: dir.appendingPathComponent("state/jobs/\(job)/attempt-\(attempt).log"), encoding: .utf8)) ?? ""
        }

        func waitFor(_ what: String, timeout: Double = 60, _ condition: () async throws -> Bool) async throws {
            let deadline = Date().addingTimeInterval(timeout)
            while try await !condition() {
                if Date() > deadline { throw TestFailure("timed out waiting for \(what)") }
                try await Task.sleep(for: .milliseconds(50))
            }
        }

        func cleanUp() { try? FileManager.default.removeItem(at: dir) }
    }

    static func status(_ pid: pid_t, _ field: String) -> [String] {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix(field + ":") } ?? ""
        return line.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().map(String.init)
    }

    /// Processes whose command line contains `marker`.
    static func processes(containing marker: String) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { pid_t($0) }.filter { pid in
            guard let data = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")) else { return false }
            return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\0", with: " ").contains(marker)
        }
    }

    @Test func aRunningWorkerIsItsSubmittersUserWithACleanEnvironment() async throws {
        try await TestDatabase.with { client, _ in
            setenv("HEARTH_TEST_DAEMON_SECRET", "daemon-only", 1)
            let f = try await Fixture(client: client)
            defer { f.cleanUp() }
            let alice = try #require(UnixUser.lookup(name: Self.alice))
            let job = try await f.submit(.train, as: Self.alice, spec: f.trainSpec(steps: 50_000_000))
            let task = try await f.start()
            try await f.waitFor("progress") { try await !f.queue.metrics(jobID: job.id).isEmpty }
            let pid = try f.workerPID(job.id)
            #expect(Self.status(pid, "Uid") == Array(repeating: "\(alice.uid)", count: 4))
            #expect(Self.status(pid, "Gid") == Array(repeating: "\(alice.gid)", count: 4))
            #expect(Self.status(pid, "Groups").map { gid_t($0)! }.sorted() == alice.groups.sorted())
            let environ = String(decoding: try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ")), as: UTF8.self)
            #expect(!environ.contains("HEARTH_TEST_DAEMON_SECRET") && environ.contains("USER=\(Self.alice)"))
            // The job's own directory is its user's alone; the default checkpoints live there.
            let work = f.dir.appendingPathComponent("state/jobs/\(job.id)/work").path
            let attributes = try FileManager.default.attributesOfItem(atPath: work)
            #expect((attributes[.ownerAccountID] as? NSNumber)?.uint32Value == alice.uid)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o700)
            try await f.waitFor("a checkpoint") { try await f.queue.latestCheckpoint(jobID: job.id) != nil }
            #expect(try await f.queue.latestCheckpoint(jobID: job.id)?.path.hasPrefix(work + "/checkpoints/") == true)
            _ = try await f.queue.cancel(jobID: job.id)
            #expect(await task.value == .cancelled)
        }
    }

    @Test func aJobCannotWriteWhereItsUserCannot() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await Fixture(client: client)
            defer { f.cleanUp() }
            let target = "/etc/hearth-t-evil-\(getpid())"
            // Three attempts allowed, but a path its user may not write is the job's own mistake
            // (exit 2): it fails at once, and the node is not blamed (not avoided).
            let job = try await f.submit(.train, as: Self.alice, spec: f.trainSpec(steps: 300, extra: #", "checkpoint_dir": "\#(target)""#),
                                         maxAttempts: 3)
            #expect(try await f.run() == .failed(retrying: false))
            let failed = try #require(try await f.queue.job(job.id))
            #expect(failed.lastError?.contains("Permission denied") == true, "\(failed.lastError ?? "")")
            #expect(failed.lastError?.contains("choose a path that user may write") == true, "\(failed.lastError ?? "")")
            #expect(failed.avoidNodes.isEmpty && failed.attempt == 1)
            #expect(!FileManager.default.fileExists(atPath: target))
            // The same as a shell line: the volunteer's program writes as the volunteer, too.
            _ = try await f.submit(.command, as: Self.alice, spec: #"{"shell": "touch \#(target)-cmd"}"#, maxAttempts: 1)
            #expect(try await f.run() == .failed(retrying: false))
            #expect(!FileManager.default.fileExists(atPath: target + "-cmd"))
        }
    }

    @Test func aJobCannotReadOrWriteAnotherVolunteersJobDirectory() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await Fixture(client: client)
            defer { f.cleanUp() }
            let bobs = try await f.submit(.train, as: Self.bob, spec: f.trainSpec(steps: 200))
            #expect(try await f.run() == .succeeded)
            let checkpoint = try #require(try await f.queue.latestCheckpoint(jobID: bobs.id))
            let before = try FileManager.default.contentsOfDirectory(atPath: (checkpoint.path as NSString).deletingLastPathComponent)

            // Resume from (checkpoint_dir) and write into bob's checkpoints: refused by the file system.
            let dirSpec = f.trainSpec(steps: 400, extra: #", "checkpoint_dir": "\#((checkpoint.path as NSString).deletingLastPathComponent)""#)
            let intoBobs = try await f.submit(.train, as: Self.alice, spec: dirSpec, maxAttempts: 1)
            #expect(try await f.run() == .failed(retrying: false))
            #expect(try await f.queue.job(intoBobs.id)?.lastError?.contains("ermission") == true)
            // Start from bob's weights: the same.
            let initSpec = f.trainSpec(steps: 10, extra: #", "init_from": "\#(checkpoint.path)/model.safetensors""#)
            let fromBobs = try await f.submit(.train, as: Self.alice, spec: initSpec, maxAttempts: 1)
            #expect(try await f.run() == .failed(retrying: false))
            #expect(try await f.queue.job(fromBobs.id)?.lastError?.contains("ermission") == true)
            let after = try FileManager.default.contentsOfDirectory(atPath: (checkpoint.path as NSString).deletingLastPathComponent)
            #expect(before == after)
        }
    }

    /// A requeued training job resumes from the checkpoint it recorded, never from one planted
    /// in its directory; and a recorded one that was swapped is refused.
    @Test func aJobResumesOnlyFromTheCheckpointItRecorded() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await Fixture(client: client)
            defer { f.cleanUp() }
            let job = try await f.submit(.train, as: Self.alice, spec: f.trainSpec(steps: 50_000_000))
            let first = try await f.start()
            try await f.waitFor("a checkpoint") { try await f.queue.latestCheckpoint(jobID: job.id) != nil }
            #expect(try await f.queue.requestPreemption(jobID: job.id, reason: "test"))
            #expect(await first.value == .preempted)
            let recorded = try #require(try await f.queue.latestCheckpoint(jobID: job.id))
            // Plant a newer-looking checkpoint (a copy of a real one) that the job never recorded.
            let root = (recorded.path as NSString).deletingLastPathComponent
            let planted = root + "/step-99999999"
            try FileManager.default.copyItem(atPath: recorded.path, toPath: planted)
            let second = try await f.start()
            try await f.waitFor("attempt 2's progress") { try await f.queue.metrics(jobID: job.id).contains { $0.attempt == 2 } }
            let resumedAt = try #require(try await f.queue.metrics(jobID: job.id).filter { $0.attempt == 2 }.map(\.step).min())
            #expect(resumedAt > recorded.step && resumedAt < 99_999_999)
            #expect(try await f.queue.requestPreemption(jobID: job.id, reason: "test"))
            #expect(await second.value == .preempted)
        }
    }

    @Test func anAccountWithNoUserHereRunsUnderItsTransientUID() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await Fixture(client: client)
            defer { f.cleanUp() }
            let job = try await f.submit(.command, as: "hearth-t-nouser", spec: #"{"shell": "echo uid=$(id -u) gid=$(id -g)"}"#)
            #expect(try await f.run() == .succeeded)
            let uid = IsolationPolicy().transientUIDs.lowerBound + UInt32(job.accountID)
            #expect(f.log(job.id).contains("uid=\(uid) gid=\(uid)"), "\(f.log(job.id))")
        }
    }

    @Test func rootsJobsRunOnlyWhereAllowed() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await Fixture(client: client)
            defer { f.cleanUp() }
            let job = try await f.submit(.command, as: "root", spec: #"{"argv": ["/bin/true"]}"#)
            #expect(try await f.run() == .failed(retrying: false))
            #expect(try await f.queue.job(job.id)?.lastError?.contains("set allow_root_jobs = true in hearthd.toml") == true)
        }
    }

    @Test func aCommandJobPastItsTimeLimitFailsSaySo() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await Fixture(client: client, grace: .seconds(2))
            defer { f.cleanUp() }
            let job = try await f.submit(.command, as: Self.alice, spec: #"{"argv": ["/bin/sleep", "300"]}"#, timeLimit: 1)
            let started = Date()
            #expect(try await f.run() == .failed(retrying: false))
            #expect(Date().timeIntervalSince(started) < 15)
            #expect(try await f.queue.job(job.id)?.lastError == "time limit of 1 s reached")
        }
    }

    /// Cancel reaches every process of the job, even one that left its process group and session.
    @Test func cancellingAJobLeavesNoProcessBehind() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await Fixture(client: client, grace: .seconds(2))
            defer { f.cleanUp() }
            let marker = "\(4_000 + Int(getpid() % 1000)).25"
            let spec = #"{"shell": "setsid sh -c 'sleep \#(marker) & sleep \#(marker)' & sleep \#(marker)"}"#
            let job = try await f.submit(.command, as: Self.alice, spec: spec)
            let task = try await f.start()
            try await f.waitFor("the escaped process") { Self.processes(containing: "sleep \(marker)").count >= 3 }
            // Running in the queue too: a cancel before the runner recorded the start ends the
            // attempt as fenced (the job was only scheduled), not cancelled.
            try await f.waitFor("the job to run") { try await f.queue.job(job.id)?.state == .running }
            _ = try await f.queue.cancel(jobID: job.id)
            #expect(await task.value == .cancelled)
            #expect(Self.processes(containing: "sleep \(marker)").isEmpty)
        }
    }

    // MARK: cgroups (hearthd as root, no systemd): the kernel enforces the limits

    @Test func aJobPastItsMemoryLimitFailsForGoodNamingTheLimit() async throws {
        try await TestDatabase.with { client, _ in
            var policy = IsolationPolicy()
            policy.memoryMaxBytes = 64 << 20
            let f = try await Fixture(client: client, policy: policy)
            defer { f.cleanUp() }
            // tail keeps a line with no end in memory: it grows until the limit stops it.
            let job = try await f.submit(.command, as: Self.alice, spec: #"{"argv": ["/usr/bin/tail", "/dev/zero"]}"#)
            #expect(try await f.run() == .failed(retrying: false))
            let failed = try #require(try await f.queue.job(job.id))
            #expect(failed.lastError?.contains("memory limit of 64 MiB") == true, "\(failed.lastError ?? "")")
            #expect(failed.attempt == 1)
        }
    }

    @Test func aForkBombIsContainedAndTheNodeKeepsServing() async throws {
        try await TestDatabase.with { client, _ in
            var policy = IsolationPolicy()
            policy.tasksMax = 64
            let f = try await Fixture(client: client, policy: policy, grace: .seconds(2))
            defer { f.cleanUp() }
            let marker = "hearthbomb\(getpid())"
            // The shell gives up once it cannot fork any more (or the time limit stops it): either
            // way the job fails, once, and none of its processes outlives it.
            let bomb = try await f.submit(.command, as: Self.alice, spec: #"{"shell": "\#(marker)() { \#(marker) | \#(marker) & }; \#(marker); sleep 30"}"#,
                                          timeLimit: 3, maxAttempts: 1)
            let started = Date()
            #expect(try await f.run() == .failed(retrying: false))
            #expect(Date().timeIntervalSince(started) < 20)
            #expect(try await f.queue.job(bomb.id)?.attempt == 1)
            let aliceUID = try #require(UnixUser.lookup(name: Self.alice)).uid
            // Zombies are dead already (waiting for PID 1 to reap them): only live ones count.
            let left = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { pid_t($0) }
                .filter { Self.status($0, "Uid").first == "\(aliceUID)" && Self.status($0, "State").first != "Z" }
            #expect(left.isEmpty, "processes of \(Self.alice) left: \(left)")
            // The node still starts and finishes the next job.
            let next = try await f.submit(.command, as: Self.alice, spec: #"{"argv": ["/bin/echo", "still here"]}"#)
            #expect(try await f.run() == .succeeded)
            #expect(f.log(next.id).contains("still here"))
        }
    }

    /// Simulated GPUs: stand-in device nodes of NVIDIA's major (no driver, so an allowed open
    /// fails with ENXIO); the cgroup lets a job open only the GPUs it holds.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/sys/fs/cgroup/devices/devices.allow"), "needs the cgroup v1 devices controller"))
    func aJobOpensOnlyItsOwnGPUs() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await Fixture(client: client)
            defer { f.cleanUp() }
            let devices = f.dir.appendingPathComponent("dev").path
            try FileManager.default.createDirectory(atPath: devices, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            for minor in [0, 1] { #expect(mknod(devices + "/nvidia\(minor)", S_IFCHR | 0o666, dev_t((195 << 8) | minor)) == 0) }
            let probe = #"{"shell": "cat \#(devices)/nvidia0; cat \#(devices)/nvidia1; true"}"#
            let holding0 = try await f.submit(.command, as: Self.alice, spec: probe)
            #expect(try await f.run(gpuIndices: [0]) == .succeeded)
            let log0 = f.log(holding0.id)
            #expect(log0.contains("nvidia0: No such device or address") && log0.contains("nvidia1: Operation not permitted"), "\(log0)")
            let holding1 = try await f.submit(.command, as: Self.alice, spec: probe)
            #expect(try await f.run(gpuIndices: [1]) == .succeeded)
            let log1 = f.log(holding1.id)
            #expect(log1.contains("nvidia0: Operation not permitted") && log1.contains("nvidia1: No such device or address"), "\(log1)")
        }
    }
}

/// Opens a prepared dataset to every user (files 0644, directories 0755).
@discardableResult
func chmodTree(_ path: String) -> Bool {
    chmod(path, 0o755)
    for entry in (try? FileManager.default.subpathsOfDirectory(atPath: path)) ?? [] {
        var isDir: ObjCBool = false
        FileManager.default.fileExists(atPath: path + "/" + entry, isDirectory: &isDir)
        chmod(path + "/" + entry, isDir.boolValue ? 0o755 : 0o644)
    }
    return true
}

import Foundation
import HearthCore
import HearthDaemon
import HearthProcess
import HearthStore
import HearthTesting
import Logging
import Testing

/// The agent running real `hearth-worker` processes on a real PostgreSQL: the smallest real
/// training job (a one-layer GPT on a generated text), not a fake.
@Suite(.serialized, .timeLimit(.minutes(10))) struct JobRunnerTests {
    struct Fixture: Sendable {
        let queue: JobQueue
        let client: PostgresClient
        let runner: JobRunner
        let node: Int64
        let account: Int64
        let data: String
        let dir: URL

        init(client: PostgresClient, heartbeatInterval: Duration = .milliseconds(200)) async throws {
            self.client = client
            var config = JobQueue.Configuration()
            config.leaseDuration = .seconds(3)
            queue = JobQueue(client: client, configuration: config)
            // These tests are about the worker's life, not isolation (IsolationTests): the jobs
            // are root's, as the test process is, and root's jobs are allowed here.
            account = try await AccountStore(client: client).ensure(name: "root")
            node = try await NodeStore(client: client).register(hostname: "runner-node", cpus: 1, memoryBytes: 0, gpus: [])
            dir = try BuiltProducts.temporaryDirectory("hearth-runner")
            let worker = try #require(BuiltProducts.path("hearth-worker"), "build hearth-worker first (swift build)")
            data = try Self.prepareData(worker: worker, in: dir)
            runner = JobRunner(
                queue: queue,
                configuration: .init(workerPath: worker, jobsDirectory: dir.appendingPathComponent("jobs"),
                                     heartbeatInterval: heartbeatInterval, stopGracePeriod: .seconds(20),
                                     isolation: Self.rootAllowed),
                logger: Logger(label: "test"))
        }

        static var rootAllowed: IsolationPolicy {
            var p = IsolationPolicy()
            p.allowRootJobs = true
            return p
        }

        /// A small dataset made by the real `hearth-worker prepare`.
        static func prepareData(worker: String, in dir: URL) throws -> String {
            let words = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "to", "be", "or", "not"]
            var rng = SystemRandomNumberGenerator()
            let text = (0..<5000).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ")
            let input = dir.appendingPathComponent("input.txt")
            try text.write(to: input, atomically: true, encoding: .utf8)
            let out = dir.appendingPathComponent("data").path
            let child = try ChildProcess.spawn(worker, ["prepare", input.path, "--out", out], descriptors: [nil, nil, 2])
            guard child.waitBlocking() == .exited(0) else { throw TestFailure("prepare failed") }
            return out
        }

        func submit(steps: Int, model: String = #"{"layers": 1, "heads": 2, "width": 16, "context": 8}"#) async throws -> Job {
            let spec = """
                {"model": \(model), "data": [{"path": "\(data)"}], "batch_size": 4, "steps": \(steps), "seed": 7,
                 "threads": 1, "checkpoint_interval": 200, "log_interval": 100}
                """
            return try await queue.enqueue(NewJob(kind: .train, accountID: account, specJSON: spec)).job
        }

        func claimAndRun() async throws -> (Job, Lease, Task<JobRunner.Outcome, Never>) {
            let (job, lease) = try #require(try await queue.placeNext(nodeID: node))
            let runner = self.runner
            return (job, lease, Task { await runner.run(job, lease: lease) })
        }

        /// Waits until the job has a recorded checkpoint (or progress) from the given attempt.
        func waitFor(_ what: String, job: Int64, attempt: Int) async throws {
            for _ in 0..<300 {
                let rows = try await client.query(what == "checkpoint"
                    ? "SELECT count(*) AS n FROM checkpoints WHERE job_id = \(job) AND attempt = \(attempt)"
                    : "SELECT count(*) AS n FROM job_metrics WHERE job_id = \(job) AND attempt = \(attempt)")
                if try rows[0].decode("n", as: Int.self) > 0 { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            throw TestFailure("no \(what) from attempt \(attempt) of job \(job)")
        }
    }

    @Test func aTrainingJobRunsToSuccessWithItsReportsRecorded() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await Fixture(client: client)
            let job = try await f.submit(steps: 600)
            let (_, _, task) = try await f.claimAndRun()
            #expect(await outcome(of: task) == .succeeded)
            let done = try #require(try await f.queue.job(job.id))
            #expect(done.state == .succeeded)
            #expect(done.resultJSON?.contains("\"event\": \"done\"") == true || done.resultJSON?.contains("\"done\"") == true)
            let steps = try await f.queue.metrics(jobID: job.id).map(\.step)
            #expect(steps.contains(600) && steps.contains(100))
            let checkpoint = try #require(try await f.queue.latestCheckpoint(jobID: job.id))
            #expect(checkpoint.step == 600 && FileManager.default.fileExists(atPath: checkpoint.path))
            let ledger = try await f.queue.allocations(jobID: job.id)
            #expect(ledger.map(\.endReason) == [.succeeded])
            // The worker's own rusage (wait4) lands in the row as it closes; no GPU, so no energy.
            let usage = try #require(ledger.first?.usage)
            #expect((usage.cpuSeconds ?? 0) > 0.05 && (usage.peakRSSBytes ?? 0) > 1 << 20)
            #expect(usage.energyJoules == nil && usage.energySource == nil)
            let events = try await f.queue.events(jobID: job.id).map(\.event)
            #expect(events.first == "submitted" && events.last == "succeeded" && events.contains("checkpoint"))
            let log = f.dir.appendingPathComponent("jobs/\(job.id)/attempt-1.log")
            #expect(FileManager.default.fileExists(atPath: log.path))
        }
    }

    /// Preempted after a checkpoint, the job is requeued; its next attempt resumes from that
    /// checkpoint (its first progress is past it), it does not restart from step 0.
    @Test func aPreemptedJobCheckpointsAndResumes() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await Fixture(client: client)
            let job = try await f.submit(steps: 5_000_000)
            let (_, _, first) = try await f.claimAndRun()
            try await f.waitFor("checkpoint", job: job.id, attempt: 1)
            #expect(try await f.queue.requestPreemption(jobID: job.id, reason: "test"))
            #expect(await outcome(of: first) == .preempted)
            let requeued = try #require(try await f.queue.job(job.id))
            #expect(requeued.state == .queued && requeued.preemptions == 1)
            let saved = try #require(try await f.queue.latestCheckpoint(jobID: job.id))

            let (_, _, second) = try await f.claimAndRun()
            try await f.waitFor("progress", job: job.id, attempt: 2)
            #expect(try await f.queue.cancel(jobID: job.id) == .requested)
            #expect(await outcome(of: second) == .cancelled)
            let resumedSteps = try await f.queue.metrics(jobID: job.id).filter { $0.attempt == 2 }.map(\.step)
            #expect(resumedSteps.min()! > saved.step, "attempt 2 started from the checkpoint at step \(saved.step)")
            let ledger = try await f.queue.allocations(jobID: job.id)
            #expect(ledger.map(\.endReason) == [.preempted, .cancelled])
            #expect(ledger.allSatisfy { ($0.usage.cpuSeconds ?? 0) > 0 }, "preempted and cancelled rows carry rusage too")
        }
    }

    /// When another attempt takes the job over (the lease lapsed and was rescued), the old worker
    /// is killed and nothing more is written for it.
    @Test func aWorkerThatLostItsLeaseIsKilledAndFenced() async throws {
        try await TestDatabase.with { client, _ in
            // Heartbeats every 10 minutes: none renews the lease between the expiry and the rescue
            // below, however slowly a loaded machine reaches them (at 30 s, the first heartbeat
            // could land there); the runner learns it was fenced from its next progress record.
            let f = try await Fixture(client: client, heartbeatInterval: .seconds(600))
            let job = try await f.submit(steps: 5_000_000)
            let (_, _, task) = try await f.claimAndRun()
            try await f.waitFor("progress", job: job.id, attempt: 1)
            try await client.query("UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = \(job.id)")
            _ = try await f.queue.rescueExpired()
            #expect(await outcome(of: task) == .fenced)
            let after = try #require(try await f.queue.job(job.id))
            #expect(after.state == .queued && after.leaseEpoch == 2)
            let events = try await f.queue.events(jobID: job.id).map(\.event)
            #expect(events.last == "lease-expired", "\(events)")
        }
    }

    @Test func badInputFailsTheJobWithoutRetry() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await Fixture(client: client)
            let job = try await f.submit(steps: 10, model: #"{"layers": 1, "heads": 3, "width": 16, "context": 8}"#)
            let (_, _, task) = try await f.claimAndRun()
            #expect(await outcome(of: task) == .failed(retrying: false))
            let failed = try #require(try await f.queue.job(job.id))
            #expect(failed.state == .failed)
            #expect(failed.lastError?.contains("heads") == true, "\(failed.lastError ?? "")")
            // What the worker printed is kept for `hearth logs`.
            let lines = try await client.query("SELECT line FROM job_logs WHERE job_id = \(job.id) ORDER BY id")
            #expect(try lines.contains { try $0.decode("line", as: String.self).hasPrefix("hearth-worker: bad input") })
        }
    }
}

/// The attempt's outcome, or — if it has not ended within `limit` — stops it (the runner turns
/// cancellation into SIGTERM), records an issue and returns what it then reports, so a test that
/// goes wrong fails instead of hanging.
func outcome(of task: Task<JobRunner.Outcome, Never>, within limit: Duration = .seconds(90)) async -> JobRunner.Outcome {
    let timer = Task {
        try await Task.sleep(for: limit)
        Issue.record("the attempt did not end within \(limit); stopping it")
        task.cancel()
    }
    let value = await task.value
    timer.cancel()
    return value
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

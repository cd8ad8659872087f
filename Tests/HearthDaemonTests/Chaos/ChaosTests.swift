import Foundation
import HearthCore
import HearthProcess
import HearthStore
import HearthTesting
import Testing

/// Faults at random instants against real daemons, then the invariants (ChaosRun.verify).
/// The seed is printed; `HEARTH_CHAOS_SEED=N` replays a run. `./bench chaos --minutes N` runs
/// the long form (``longRun()``).
@Suite(.serialized) struct ChaosTests {
    static var seed: UInt64 {
        ProcessInfo.processInfo.environment["HEARTH_CHAOS_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...999_999)
    }
    static var minutes: Double? { ProcessInfo.processInfo.environment["HEARTH_CHAOS_MINUTES"].flatMap(Double.init) }

    /// The postmaster of a node's embedded PostgreSQL is killed while a job trains and another
    /// waits: the node does work again within 15 s without a restart of `hearthd`, and nothing
    /// is lost (one ledger row per job, closed, every job succeeded once).
    @Test(.timeLimit(.minutes(3))) func aKilledPostmasterIsRestartedAndNothingIsLost() async throws {
        // A 30 s lease (the default): a restart on a loaded machine must not cost the running job its lease.
        let run = try ChaosRun(.init(seed: 1, twoNodes: false, trainingJobs: 0, evalAndServe: false, leaseSeconds: 30))
        try await run.start()
        defer { Task { _ = await run.finish() } }
        let node = run.nodes[0]
        // Both training jobs (one GPU: one runs, one waits) must be mid-flight when the server dies.
        let running = try await run.submitTraining(steps: 30000)
        let waiting = try await run.submitTraining(steps: 300)
        try await run.waitUntil("job \(running) runs", timeout: 60) { try await run.state(of: running) == .running }
        let postmaster = try #require(node.postmasterPID)
        let daemon = node.pid
        let clock = ContinuousClock()
        let killed = clock.now
        kill(postmaster, SIGKILL)
        try await run.waitUntil("the node's database is back", timeout: 15) {
            guard let now = node.postmasterPID, now != postmaster else { return false }
            return await run.health(node)?.reachable == true
        }
        // Work again: a job submitted after the crash is placed and succeeds.
        let after = try await run.submitTraining(steps: 20)
        try await run.waitUntil("the new job succeeds", timeout: 120) { try await run.state(of: after) == .succeeded }
        try await run.waitUntil("every job succeeds", timeout: 120) {
            let first = try await run.state(of: running), second = try await run.state(of: waiting)
            return first == .succeeded && second == .succeeded
        }
        let back = clock.now - killed
        #expect(node.pid == daemon && kill(daemon, 0) == 0, "hearthd itself was never restarted")
        #expect(node.postmasterPID != postmaster)
        #expect(node.log.contains("restarting it") && node.log.contains("the embedded PostgreSQL is back"))
        let queue = JobQueue(client: try PostgresClient(configuration: .init(
            conninfo: EmbeddedPostgres(configuration: .init(stateDirectory: node.stateDirectory)).conninfo)))
        for id in [running, waiting, after] {
            let ledger = try await run.retrying { try await queue.allocations(jobID: id) }
            #expect(ledger.map(\.endReason) == [.succeeded], "job \(id): \(ledger)")
        }
        let problems = try await run.verify()
        #expect(problems.isEmpty, "\(problems)")
        print("postmaster killed: node worked again; whole recovery with three jobs took \(back)")
        queue.client.shutdown()
        #expect(await run.finish().isEmpty, "no worker left behind")
    }

    /// The short seeded chaos run: two nodes sharing one PostgreSQL, every fault kind once.
    @Test(.timeLimit(.minutes(5))) func aShortSeededChaosRunKeepsEveryInvariant() async throws {
        let seed = Self.seed
        let run = try ChaosRun(.init(seed: seed, twoNodes: true, faultWindow: 40, trainingJobs: 3, trainingSteps: 40000))
        let begin = Date()
        do {
            try await run.start()
            try await run.injectFaults()
            try await run.drain()
        } catch {
            let left = await run.finish()
            Issue.record("seed \(seed): \(error); workers left: \(left); logs in \(run.directory.path)")
            return
        }
        let problems = try await run.verify()
        let left = await run.finish()
        print(run.summary(duration: Date().timeIntervalSince(begin)))
        #expect(problems.isEmpty, "seed \(seed): \(problems)")
        #expect(left.isEmpty, "seed \(seed): workers left behind: \(left)")
    }

    /// `./bench chaos --minutes N`: faults every ~20 s for N minutes with jobs kept coming.
    @Test(.enabled(if: ChaosTests.minutes != nil), .timeLimit(.minutes(240)))
    func longRun() async throws {
        let seed = Self.seed
        let minutes = try #require(Self.minutes)
        let run = try ChaosRun(.init(
            seed: seed, twoNodes: true, faultWindow: minutes * 60, meanFaultGap: 20, trainingJobs: 4, trainingSteps: 100000,
            drainTimeout: 300))
        let begin = Date()
        do {
            try await run.start()
            try await run.injectFaults()
            try await run.drain()
        } catch {
            let left = await run.finish()
            Issue.record("seed \(seed): \(error); workers left: \(left); logs in \(run.directory.path)")
            return
        }
        let problems = try await run.verify()
        let left = await run.finish()
        print(run.summary(duration: Date().timeIntervalSince(begin)))
        for f in run.faults {
            print("  \(f.at) \(f.fault.rawValue) on \(f.node): \(f.detail); recovery \(f.recovery.map { String(format: "%.2f s", $0) } ?? "n/a")")
        }
        #expect(problems.isEmpty, "seed \(seed): \(problems)")
        #expect(left.isEmpty, "seed \(seed): workers left behind: \(left)")
    }
}

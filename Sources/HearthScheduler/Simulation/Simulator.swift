import Foundation
import HearthCore

/// Settings of one simulated run.
public struct SimulationConfig: Sendable {
    public var policy: SchedulerPolicy
    public var start: Date
    /// Simulated seconds. Default one week.
    public var duration: TimeInterval = 7 * 86_400
    /// Seconds between scheduling passes (the daemon's loop period). Default 60.
    public var tick: TimeInterval = 60
    /// Seconds a worker needs to write its checkpoint after SIGTERM (capped at the grace).
    /// Default 60.
    public var checkpointTime: TimeInterval = 60
    /// Donor reclaims: the node is reclaimed over [at, until).
    public var reclaims: [(node: Int64, at: Date, until: Date)] = []
    /// Keep every run segment in the result (for property checks). Default `false`.
    public var recordSegments = false

    public init(policy: SchedulerPolicy, start: Date) {
        self.policy = policy
        self.start = start
    }
}

/// One stretch of a job on GPUs, from placement to completion or preemption exit.
public struct RunSegment: Sendable, Hashable {
    public enum End: Sendable, Hashable { case completed, preempted(PreemptionReason), stillRunning }
    public var jobID: Int64
    public var accountID: Int64
    public var nodeID: Int64
    public var gpuIndices: [Int]
    public var kind: JobKind
    public var start: Date
    public var end: Date
    public var endReason: End
    /// When SIGTERM was sent, if it was.
    public var preemptionRequestedAt: Date?
}

/// A discrete-time fleet simulator driving `Scheduler` exactly as the daemon would: one
/// pass per tick on a snapshot of the simulated queue, decisions applied, jobs finishing
/// at their exact times, preempted training resuming from its checkpoint.
public struct Simulator: Sendable {
    struct JobRecord {
        var spec: SimJobSpec
        var remaining: TimeInterval
        var preemptions = 0
        var firstStart: Date?
        var finishedAt: Date?
    }
    struct Run {
        var jobID: Int64
        var nodeID: Int64
        var gpuIndices: [Int]
        var startedAt: Date
        var preemptAt: Date?
        var preemptReason: PreemptionReason?
        var exitAt: Date?
    }

    public var config: SimulationConfig
    public var nodes: [NodeSnapshot]
    public var accounts: [SimAccount]
    public var shares: ShareTree

    public init(config: SimulationConfig, nodes: [NodeSnapshot], accounts: [SimAccount], projectShares: [Int64: Double] = [:]) {
        self.config = config
        self.nodes = nodes
        self.accounts = accounts
        var tree = ShareTree(projectShares: projectShares)
        for a in accounts { tree.accountShares[Association(projectID: a.projectID, accountID: a.id)] = a.shares }
        self.shares = tree
    }

    /// Runs the simulation over `arrivals` (open-loop jobs, any order) plus the closed-loop
    /// submissions of accounts with a `backlog`, drawn from `generator`.
    public func run(arrivals: [SimJobSpec], generator: WorkloadGenerator) -> SimulationResult {
        var gen = generator
        let scheduler = Scheduler(policy: config.policy)
        let policy = config.policy
        let grace = policy.preemptionGrace
        let end = config.start.addingTimeInterval(config.duration)
        let queue = arrivals.sorted { ($0.submitAt, $0.id) < ($1.submitAt, $1.id) }
        var nextArrival = 0
        var jobs: [Int64: JobRecord] = [:]
        var pending: [Int64] = []
        var running: [Int64: Run] = [:]
        var states: [Int64: JobState] = [:]
        var usage = UsageSnapshot(at: config.start)
        var acc = SimulationAccumulator(accounts: accounts, shares: shares)
        var segments: [RunSegment] = []
        var firstReservation: [Int64: Date] = [:]
        var t = config.start
        var prev = config.start

        func submit(_ spec: SimJobSpec) {
            jobs[spec.id] = JobRecord(spec: spec, remaining: spec.work)
            pending.append(spec.id)
            states[spec.id] = .queued
            acc.submitted(spec)
        }
        func closeSegment(_ r: Run, at e: Date, reason: RunSegment.End) {
            guard config.recordSegments, let j = jobs[r.jobID] else { return }
            segments.append(RunSegment(jobID: r.jobID, accountID: j.spec.accountID, nodeID: r.nodeID,
                gpuIndices: r.gpuIndices, kind: j.spec.kind, start: r.startedAt, end: e, endReason: reason,
                preemptionRequestedAt: r.preemptAt))
        }

        while t < end {
            // 1. Charge the interval (prev, t] and let jobs finish or exit inside it.
            usage = usage.advanced(to: t, halfLife: policy.usageHalfLife)
            for (id, r) in running.sorted(by: { $0.key < $1.key }) {
                guard var j = jobs[id] else { continue }
                let finish = r.startedAt.addingTimeInterval(j.remaining)
                let stop = min(finish, r.exitAt ?? .distantFuture)
                let from = max(r.startedAt, prev), to = min(stop, t)
                if to > from {
                    usage.add(LedgerInterval(accountID: j.spec.accountID, projectID: j.spec.projectID,
                        gpus: r.gpuIndices.count, start: from, end: to), halfLife: policy.usageHalfLife)
                    acc.used(account: j.spec.accountID, gpuSeconds: Double(r.gpuIndices.count) * to.timeIntervalSince(from))
                }
                guard stop <= t else { continue }
                running[id] = nil
                if finish <= stop {
                    j.remaining = 0
                    j.finishedAt = finish
                    states[id] = .succeeded
                    acc.completed(j.spec, at: finish)
                    closeSegment(r, at: finish, reason: .completed)
                } else {
                    // Preempted: training resumes from the checkpoint written before exit.
                    if j.spec.kind == .train {
                        j.remaining -= stop.timeIntervalSince(r.startedAt)
                    }
                    j.preemptions += 1
                    states[id] = .queued
                    pending.append(id)
                    acc.preempted(r.preemptReason)
                    closeSegment(r, at: stop, reason: .preempted(r.preemptReason ?? .donorReclaim))
                }
                jobs[id] = j
            }
            // 2. Arrivals.
            while nextArrival < queue.count && queue[nextArrival].submitAt <= t {
                submit(queue[nextArrival])
                nextArrival += 1
            }
            if accounts.contains(where: { $0.backlog != nil }) {
                var waiting: [Int64: Int] = [:]
                for id in pending { if let j = jobs[id] { waiting[j.spec.accountID, default: 0] += 1 } }
                for a in accounts {
                    guard let b = a.backlog else { continue }
                    for _ in (waiting[a.id] ?? 0)..<max(b, waiting[a.id] ?? 0) { submit(gen.job(for: a, at: t)) }
                }
            }
            // 3. Capacity offered in (prev, t]: GPUs of nodes open at prev and not reclaimed.
            let nodesNow = nodes.map { n -> NodeSnapshot in
                var n = n
                n.reclaimed = config.reclaims.contains { $0.node == n.id && $0.at <= t && t < $0.until }
                return n
            }
            if t > prev {
                for n in nodesNow where !n.reclaimed && (n.policy.availability?.isOpen(at: prev) ?? true) {
                    acc.offered(gpuSeconds: Double(n.gpus.count(where: \.healthy)) * t.timeIntervalSince(prev))
                }
            }
            // 4. One pass.
            let pendingJobs = pending.compactMap { id -> PendingJob? in
                guard let j = jobs[id] else { return nil }
                let ratio = j.spec.timeLimit / max(j.spec.work, 1)
                return PendingJob(id: id, accountID: j.spec.accountID, projectID: j.spec.projectID, kind: j.spec.kind,
                    qos: j.spec.qos, gpus: j.spec.gpus, submittedAt: j.spec.submitAt,
                    timeLimit: (j.remaining * ratio / 60).rounded(.up) * 60, afterOK: j.spec.afterOK,
                    preemptionCount: j.preemptions)
            }
            let runningJobs = running.values.sorted { $0.jobID < $1.jobID }.compactMap { r -> RunningJob? in
                guard let j = jobs[r.jobID] else { return nil }
                let ratio = j.spec.timeLimit / max(j.spec.work, 1)
                return RunningJob(id: r.jobID, accountID: j.spec.accountID, projectID: j.spec.projectID, kind: j.spec.kind,
                    qos: j.spec.qos, nodeID: r.nodeID, gpuIndices: r.gpuIndices, startedAt: r.startedAt,
                    timeLimit: (j.remaining * ratio / 60).rounded(.up) * 60, preemptionCount: j.preemptions,
                    preemptionRequestedAt: r.preemptAt, submittedAt: j.spec.submitAt)
            }
            let deps = Set(pendingJobs.flatMap(\.afterOK))
            let snapshot = Snapshot(pending: pendingJobs, running: runningJobs, nodes: nodesNow, usage: usage,
                shares: shares, dependencyStates: states.filter { deps.contains($0.key) })
            let plan = scheduler.schedule(snapshot, now: t)
            acc.pass(plan)
            var placed: Set<Int64> = []
            var headReservation = true
            for d in plan.decisions {
                switch d {
                case .place(let id, let node, let gpus):
                    acc.checkPlacement(job: id, node: node, gpus: gpus, running: running, now: t)
                    running[id] = Run(jobID: id, nodeID: node, gpuIndices: gpus, startedAt: t)
                    placed.insert(id)
                    states[id] = .running
                    if jobs[id]?.firstStart == nil {
                        jobs[id]?.firstStart = t
                        if let j = jobs[id] { acc.started(j.spec, at: t, reservedAt: firstReservation[id]) }
                    }
                case .preempt(let id, _, let reason, _):
                    guard var r = running[id], r.preemptAt == nil else { continue }
                    r.preemptAt = t
                    r.preemptReason = reason
                    r.exitAt = t.addingTimeInterval(min(config.checkpointTime, grace))
                    running[id] = r
                case .reserve(let id, _, _, let at):
                    // Only the first reservation of a plan (the top blocked job) is tracked.
                    if headReservation && firstReservation[id] == nil { firstReservation[id] = at }
                    headReservation = false
                }
            }
            if !placed.isEmpty { pending.removeAll { placed.contains($0) } }
            prev = t
            // Nothing left to do: no queue, nothing running, no arrivals to come.
            let closedLoop = accounts.contains { $0.backlog != nil }
            if pending.isEmpty && running.isEmpty && nextArrival == queue.count && !closedLoop { break }
            t = t.addingTimeInterval(config.tick)
        }
        for r in running.values { closeSegment(r, at: end, reason: .stillRunning) }
        let unstarted = pending.compactMap { jobs[$0] }.filter { $0.firstStart == nil }.map(\.spec)
        return SimulationResult(report: acc.report(unstarted: unstarted, end: end), segments: segments,
            violations: acc.violations, reservationLateness: acc.reservationLateness)
    }
}

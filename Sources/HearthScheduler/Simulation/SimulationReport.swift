import HearthCore
import Foundation

/// Per-account results of a simulation.
public struct AccountReport: Sendable, Hashable {
    public var accountID: Int64
    public var submitted: Int
    public var completed: Int
    /// Jobs still waiting for their first start at the end.
    public var neverStarted: Int
    public var gpuHours: Double
    /// Wait from submission to first start, seconds; jobs never started count with their
    /// wait so far (a lower bound), so starvation shows.
    public var waitP50: Double
    public var waitP90: Double
    public var waitP99: Double
}

/// What a simulation measured.
public struct SimulationReport: Sendable {
    /// Busy GPU-seconds / GPU-seconds offered (GPUs of nodes online, in window, not reclaimed).
    public var utilisation: Double
    /// Jain's index of x_i = GPU-hours received / weighted max-min fair allocation, over
    /// accounts that submitted work (1 = perfectly fair).
    public var jainIndex: Double
    public var accounts: [AccountReport]
    public var waitP50: Double
    public var waitP90: Double
    public var waitP99: Double
    public var submitted: Int
    public var completed: Int
    /// Preemptions by reason: "priority", "window", "reclaim", "kind".
    public var preemptions: [String: Int]
    public var backfilled: Int
    public var passes: Int
    /// Wait p50 / p99 (seconds, censored like the others) and jobs never started, by GPUs per job.
    public var waitsBySize: [Int: (p50: Double, p99: Double, neverStarted: Int)]

    public var totalPreemptions: Int { preemptions.values.reduce(0, +) }
}

/// A simulation's report plus what the property tests check.
public struct SimulationResult: Sendable {
    public var report: SimulationReport
    public var segments: [RunSegment]
    /// Broken invariants seen while applying decisions (GPU given twice, unknown GPU…).
    public var violations: [String]
    /// For each job that was ever the top blocked job of a pass: seconds between the start
    /// first reserved for it then and its real first start (negative = earlier).
    public var reservationLateness: [Int64: Double]
}

/// Weighted max-min fair allocation of `capacity` among demands (water-filling).
public func maxMinFairAllocation(capacity: Double, demands: [Double], weights: [Double]) -> [Double] {
    var alloc = [Double](repeating: 0, count: demands.count)
    var active = Set(demands.indices.filter { demands[$0] > 0 && weights[$0] > 0 })
    var left = capacity
    while !active.isEmpty && left > 1e-9 {
        let w = active.reduce(0) { $0 + weights[$1] }
        let level = left / w
        let saturated = active.filter { demands[$0] - alloc[$0] <= level * weights[$0] }
        if saturated.isEmpty {
            for i in active { alloc[i] += level * weights[i] }
            left = 0
        } else {
            for i in saturated {
                left -= demands[i] - alloc[i]
                alloc[i] = demands[i]
                active.remove(i)
            }
        }
    }
    return alloc
}

/// Jain's fairness index (Σx)² / (n Σx²); 1 for an empty or all-zero list.
public func jainIndex(_ xs: [Double]) -> Double {
    let s = xs.reduce(0, +), s2 = xs.reduce(0) { $0 + $1 * $1 }
    return s2 > 0 ? s * s / (Double(xs.count) * s2) : 1
}

/// Nearest-rank percentile of unsorted values; 0 for none.
public func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let v = values.sorted()
    let rank = Int((p / 100 * Double(v.count)).rounded(.up))
    return v[min(max(rank - 1, 0), v.count - 1)]
}

/// Running totals of a simulation.
struct SimulationAccumulator {
    let accounts: [SimAccount]
    let shares: ShareTree
    var offeredGPUSeconds = 0.0
    var usedGPUSeconds: [Int64: Double] = [:]
    var demandGPUSeconds: [Int64: Double] = [:]
    var submittedCount: [Int64: Int] = [:]
    var completedCount: [Int64: Int] = [:]
    var waits: [Int64: [Double]] = [:]
    var waitsBySize: [Int: [Double]] = [:]
    var preemptions: [String: Int] = [:]
    var backfilled = 0
    var passes = 0
    var violations: [String] = []
    var reservationLateness: [Int64: Double] = [:]

    init(accounts: [SimAccount], shares: ShareTree) {
        self.accounts = accounts
        self.shares = shares
    }

    mutating func submitted(_ s: SimJobSpec) {
        submittedCount[s.accountID, default: 0] += 1
        demandGPUSeconds[s.accountID, default: 0] += s.work * Double(s.gpus.count)
    }
    mutating func used(account: Int64, gpuSeconds: Double) { usedGPUSeconds[account, default: 0] += gpuSeconds }
    mutating func offered(gpuSeconds: Double) { offeredGPUSeconds += gpuSeconds }
    mutating func completed(_ s: SimJobSpec, at: Date) { completedCount[s.accountID, default: 0] += 1 }
    mutating func started(_ s: SimJobSpec, at t: Date, reservedAt: Date?) {
        waits[s.accountID, default: []].append(t.timeIntervalSince(s.submitAt))
        waitsBySize[s.gpus.count, default: []].append(t.timeIntervalSince(s.submitAt))
        if let r = reservedAt { reservationLateness[s.id] = t.timeIntervalSince(r) }
    }
    mutating func preempted(_ reason: PreemptionReason?) {
        let key: String
        switch reason {
        case .higherPriority?: key = "priority"
        case .donorWindowClosing?, .outsideDonorWindow?: key = "window"
        case .kindNotAllowed?: key = "kind"
        case .donorReclaim?, nil: key = "reclaim"
        }
        preemptions[key, default: 0] += 1
    }
    mutating func pass(_ plan: Plan) {
        passes += 1
        backfilled += plan.backfilled
    }

    mutating func checkPlacement(job: Int64, node: Int64, gpus: [Int], running: [Int64: Simulator.Run], now: Date) {
        if Set(gpus).count != gpus.count { violations.append("job \(job): duplicate GPU indices \(gpus)") }
        if running[job] != nil { violations.append("job \(job) placed while running") }
        for r in running.values where r.nodeID == node && !Set(r.gpuIndices).isDisjoint(with: gpus) {
            violations.append("t=\(now): job \(job) given GPUs \(gpus) of node \(node) held by job \(r.jobID)")
        }
    }

    func report(unstarted: [SimJobSpec], end: Date) -> SimulationReport {
        var allWaits: [Double] = []
        var perAccount: [AccountReport] = []
        let ids = accounts.map(\.id)
        for a in accounts {
            let censored = unstarted.filter { $0.accountID == a.id }.map { end.timeIntervalSince($0.submitAt) }
            let w = (waits[a.id] ?? []) + censored
            allWaits += w
            perAccount.append(AccountReport(accountID: a.id, submitted: submittedCount[a.id] ?? 0,
                completed: completedCount[a.id] ?? 0, neverStarted: censored.count,
                gpuHours: (usedGPUSeconds[a.id] ?? 0) / 3600,
                waitP50: percentile(w, 50), waitP90: percentile(w, 90), waitP99: percentile(w, 99)))
        }
        // Weighted max-min fair allocation of what was delivered, by normalized shares.
        let used = ids.map { usedGPUSeconds[$0] ?? 0 }
        let weights = accounts.map { a -> Double in
            let assoc = Association(projectID: a.projectID, accountID: a.id)
            let projects = Set(accounts.map(\.projectID))
            let ps = shares.shares(project: a.projectID) / projects.reduce(0) { $0 + shares.shares(project: $1) }
            let sib = accounts.filter { $0.projectID == a.projectID }
                .reduce(0) { $0 + shares.shares(Association(projectID: $1.projectID, accountID: $1.id)) }
            return ps * shares.shares(assoc) / max(sib, 1e-12)
        }
        let demands = ids.map { demandGPUSeconds[$0] ?? 0 }
        let fair = maxMinFairAllocation(capacity: used.reduce(0, +), demands: demands, weights: weights)
        let xs = ids.indices.filter { fair[$0] > 0 }.map { used[$0] / fair[$0] }
        let totalUsed = used.reduce(0, +)
        var bySize: [Int: (p50: Double, p99: Double, neverStarted: Int)] = [:]
        for size in Set(waitsBySize.keys).union(unstarted.map(\.gpus.count)) {
            let censored = unstarted.filter { $0.gpus.count == size }.map { end.timeIntervalSince($0.submitAt) }
            let w = (waitsBySize[size] ?? []) + censored
            bySize[size] = (percentile(w, 50), percentile(w, 99), censored.count)
        }
        return SimulationReport(
            utilisation: offeredGPUSeconds > 0 ? totalUsed / offeredGPUSeconds : 0,
            jainIndex: jainIndex(xs), accounts: perAccount,
            waitP50: percentile(allWaits, 50), waitP90: percentile(allWaits, 90), waitP99: percentile(allWaits, 99),
            submitted: submittedCount.values.reduce(0, +), completed: completedCount.values.reduce(0, +),
            preemptions: preemptions, backfilled: backfilled, passes: passes, waitsBySize: bySize)
    }
}

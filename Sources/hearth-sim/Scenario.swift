import HearthCore
import Foundation
import HearthScheduler

/// The default simulated lab: three projects with equal shares, eight accounts, one of
/// which submits four times as often as the others (the "heavy user" every shared cluster
/// has), on a fleet of donated nodes.
struct Scenario {
    var nodes: [NodeSnapshot]
    var accounts: [SimAccount]
    var arrivals: [SimJobSpec]
    var generator: WorkloadGenerator
    var start: Date
    /// Donor reclaims (`hearth node reclaim`): node, from, until.
    var reclaims: [(node: Int64, at: Date, until: Date)]

    /// - Parameters:
    ///   - load: offered GPU-hours / fleet GPU-hours (1.0 = exactly full if always open).
    ///   - reclaims: donor reclaims of 2–8 hours at random times on random donated nodes.
    static func make(
        seed: UInt64, nodeCount: Int, donorFraction: Double, days: Double, load: Double, reclaims: Int = 0
    ) -> Scenario {
        // Monday 2026-11-02 00:00 UTC.
        let start = Date(timeIntervalSince1970: 1_793_577_600)
        let nodes = FleetModel.make(count: nodeCount, donorFraction: donorFraction, seed: seed &+ 1)
        let gpus = Double(nodes.reduce(0) { $0 + $1.gpus.count })
        // Mean GPU-seconds per job of the Philly-like mix, estimated by sampling.
        var probe = WorkloadGenerator(seed: seed &+ 99)
        let probeAccount = SimAccount(id: 0, projectID: 0)
        let meanGPUSeconds = (0..<20_000).reduce(0.0) { s, _ in
            let j = probe.job(for: probeAccount, at: start)
            return s + j.work * Double(j.gpus.count)
        } / 20_000
        let jobsPerSecond = load * gpus / meanGPUSeconds
        let weights: [Double] = [4, 1, 1, 1, 1, 1, 1, 1]
        let projects: [Int64] = [1, 1, 2, 2, 2, 3, 3, 3]
        let total = weights.reduce(0, +)
        let accounts = weights.indices.map { i in
            SimAccount(id: Int64(i + 1), projectID: projects[i],
                meanInterarrival: 1 / (jobsPerSecond * weights[i] / total),
                highQOSFraction: i == 5 ? 0.05 : 0)
        }
        var gen = WorkloadGenerator(seed: seed)
        let arrivals = gen.openLoopArrivals(accounts: accounts, start: start, end: start.addingTimeInterval(days * 86_400))
        var rng = SeededGenerator(seed: seed &+ 7)
        let donated = nodes.filter { $0.policy.availability != nil }.map(\.id)
        let reclaimList: [(node: Int64, at: Date, until: Date)] = donated.isEmpty ? [] : (0..<reclaims).map { _ in
            let node = donated[Int(rng.unit() * Double(donated.count))]
            let at = start.addingTimeInterval(rng.unit() * days * 86_400)
            return (node, at, at.addingTimeInterval(7_200 + rng.unit() * 6 * 3_600))
        }
        return Scenario(nodes: nodes, accounts: accounts, arrivals: arrivals, generator: gen, start: start,
            reclaims: reclaimList)
    }
}

import Foundation
import Testing
@testable import HearthScheduler

@Suite struct SimulationMetricsTests {
    @Test func jainIndexBounds() {
        #expect(jainIndex([1, 1, 1, 1]) == 1)
        #expect(abs(jainIndex([1, 0, 0, 0]) - 0.25) < 1e-12)
        #expect(jainIndex([]) == 1)
    }

    @Test func waterFillingCapsAtDemandAndSplitsTheRestByWeight() {
        // 100 to share; A wants 10, B and C want plenty; C has twice B's weight.
        let a = maxMinFairAllocation(capacity: 100, demands: [10, 1_000, 1_000], weights: [1, 1, 2])
        #expect(abs(a[0] - 10) < 1e-9)
        #expect(abs(a[1] - 30) < 1e-9)
        #expect(abs(a[2] - 60) < 1e-9)
    }

    @Test func percentileIsNearestRank() {
        let v: [Double] = Array(1...100).map(Double.init)
        #expect(percentile(v, 50) == 50)
        #expect(percentile(v, 99) == 99)
        #expect(percentile([], 50) == 0)
    }

    @Test func philyLikeMixIsMostlySingleGPU() {
        var gen = WorkloadGenerator(seed: 5)
        let a = SimAccount(id: 1, projectID: 1)
        let jobs = (0..<5_000).map { _ in gen.job(for: a, at: t0) }
        let single = Double(jobs.filter { $0.gpus.count == 1 }.count) / Double(jobs.count)
        #expect(single > 0.65 && single < 0.75)
        #expect(jobs.allSatisfy { $0.timeLimit >= $0.work && $0.work >= 60 && $0.work <= 3 * 86_400 })
        // Heavy tail: multi-GPU jobs are under a third of jobs but most of the GPU-hours.
        let gpuSeconds = { (js: [SimJobSpec]) in js.reduce(0.0) { $0 + $1.work * Double($1.gpus.count) } }
        #expect(gpuSeconds(jobs.filter { $0.gpus.count > 1 }) > 0.5 * gpuSeconds(jobs))
    }

    @Test func simulationIsDeterministic() {
        let nodes = FleetModel.make(count: 6, donorFraction: 0.5, seed: 3)
        let accounts = [SimAccount(id: 1, projectID: 1, meanInterarrival: 600), SimAccount(id: 2, projectID: 2, meanInterarrival: 900)]
        var gen = WorkloadGenerator(seed: 9)
        let arrivals = gen.openLoopArrivals(accounts: accounts, start: t0, end: t0.addingTimeInterval(86_400))
        var config = SimulationConfig(policy: .default, start: t0)
        config.duration = 86_400
        let sim = Simulator(config: config, nodes: nodes, accounts: accounts)
        let a = sim.run(arrivals: arrivals, generator: gen).report
        let b = sim.run(arrivals: arrivals, generator: gen).report
        #expect(a.accounts == b.accounts)
        #expect(a.utilisation == b.utilisation)
    }
}

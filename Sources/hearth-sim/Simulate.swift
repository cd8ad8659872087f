import ArgumentParser
import Foundation
import HearthScheduler

/// `hearth-sim simulate`: the same trace under FIFO and under the multifactor scheduler.
struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay a Philly-like synthetic workload under FIFO and the Hearth scheduler, side by side.")

    @Option(help: "Random seed of the workload and fleet.") var seed: UInt64 = 1
    @Option(help: "Simulated days.") var days: Double = 7
    @Option(help: "Number of nodes.") var nodes: Int = 64
    @Option(help: "Fraction of nodes with donor windows and policies.") var donorFraction: Double = 0.3
    @Option(help: "Offered load (GPU-hours submitted / fleet GPU-hours).") var load: Double = 1.1
    @Option(help: "Seconds between scheduling passes.") var tick: Double = 60
    @Option(help: "Donor reclaims (2-8 h each) at random times on random donated nodes.") var reclaims: Int = 10
    @Option(help: "Hours after which the oldest waiting job goes first (SchedulerPolicy.starvationAge); off if absent.")
    var starvationHours: Double?
    @Option(help: "Reservations per pass for the Hearth policy (SchedulerPolicy.maxReservations).")
    var reservations: Int = SchedulerPolicy.default.maxReservations

    func run() throws {
        let scenario = Scenario.make(seed: seed, nodeCount: nodes, donorFraction: donorFraction, days: days, load: load,
            reclaims: reclaims)
        let gpus = scenario.nodes.reduce(0) { $0 + $1.gpus.count }
        print("fleet: \(scenario.nodes.count) nodes, \(gpus) GPUs, \(Int(donorFraction * 100))% donated with windows")
        print("trace: \(scenario.arrivals.count) jobs over \(days) days, load \(load), seed \(seed), \(scenario.reclaims.count) donor reclaims\n")
        var results: [(String, SimulationReport, Double)] = []
        var hearth = SchedulerPolicy.default
        hearth.maxReservations = reservations
        hearth.starvationAge = starvationHours.map { $0 * 3_600 }
        for (name, policy) in [("FIFO", SchedulerPolicy.fifo), ("Hearth", hearth)] {
            var config = SimulationConfig(policy: policy, start: scenario.start)
            config.duration = days * 86_400
            config.tick = tick
            config.reclaims = scenario.reclaims
            let sim = Simulator(config: config, nodes: scenario.nodes, accounts: scenario.accounts)
            let clock = ContinuousClock()
            var result: SimulationResult?
            let elapsed = clock.measure { result = sim.run(arrivals: scenario.arrivals, generator: scenario.generator) }
            guard let r = result else { continue }
            if !r.violations.isEmpty { print("\(name): \(r.violations.count) VIOLATIONS, first: \(r.violations[0])") }
            results.append((name, r.report, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18))
        }
        print(ReportTable.render(results))
    }
}

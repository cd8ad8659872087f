import ArgumentParser

/// `hearth-sim`: replay synthetic GPU-cluster workloads through the scheduler, and time
/// scheduling passes.
@main
struct HearthSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hearth-sim",
        abstract: "Fleet simulator and scheduling benchmark for Hearth's scheduler.",
        subcommands: [Simulate.self, Bench.self, Explain.self],
        defaultSubcommand: Simulate.self)
}

import Synchronization

/// Test-only fault injection: lets an integration test wedge the agent's work loop, so that the
/// watchdog's recovery (SIGABRT, restart, requeue) can be shown under a real systemd.
///
/// Off unless `hearthd run --allow-test-hang` was given; then SIGUSR2 wedges the loop for good
/// (no claims, no `WATCHDOG=1`) while everything else keeps running, as a real deadlock would.
/// Never enable it in production units.
final class FaultInjection: Sendable {
    /// Whether SIGUSR2 may wedge the loop (`--allow-test-hang`).
    let allowed: Bool
    private let wedgedFlag = Atomic<Bool>(false)

    init(allowed: Bool) { self.allowed = allowed }

    /// Whether the work loop must stop making progress.
    var isWedged: Bool { wedgedFlag.load(ordering: .relaxed) }

    /// Wedges the work loop (only when ``allowed``); returns whether it did.
    func wedge() -> Bool {
        guard allowed else { return false }
        wedgedFlag.store(true, ordering: .relaxed)
        return true
    }
}

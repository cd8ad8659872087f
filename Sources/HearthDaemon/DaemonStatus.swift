import HearthSystemd
import Synchronization

/// What the daemon tells systemd about itself: `READY=1` once it serves, a one-line `STATUS=`
/// (jobs running, node state, scheduler role), and `WATCHDOG=1` from the agent's work loop, so a
/// wedged loop (a stuck database call, a deadlock) stops the pings and systemd restarts the daemon.
///
/// While the database is unreachable the loop still turns (its calls fail fast), so the watchdog
/// is still fed — a restart would not bring the database back — and the line starts with
/// `degraded: database unreachable since …`, which `systemctl status` shows.
final class DaemonStatus: Sendable {
    private struct State: Sendable {
        var ready = false
        var running = 0
        var nodeState = "up"
        var lastSent = ""
    }

    let notifier: Notifier
    let nodeName: String
    let leader: LeaderFlag
    /// The database's reachability; `nil` = not tracked (always shown healthy).
    let health: DatabaseHealth?
    private let state = Mutex(State())

    init(notifier: Notifier, nodeName: String, leader: LeaderFlag, health: DatabaseHealth? = nil) {
        self.notifier = notifier
        self.nodeName = nodeName
        self.leader = leader
        self.health = health
    }

    /// Jobs running now (as of the work loop's last turn).
    var running: Int { state.withLock { $0.running } }

    /// The status line, e.g. `1 job running; node gpu-3 up; scheduler leader`.
    var line: String {
        let s = state.withLock { $0 }
        let jobs = s.running == 1 ? "1 job running" : "\(s.running) jobs running"
        let line = "\(jobs); node \(nodeName) \(s.nodeState); scheduler \(leader.get() ? "leader" : "standby")"
        guard let h = health?.snapshot, !h.reachable else { return line }
        let since = h.since.map { " since \(DatabaseHealth.clockTime($0))" } ?? ""
        return "degraded: database unreachable\(since); \(line)"
    }

    /// The control socket accepts and migrations are applied: `READY=1`.
    func ready() {
        state.withLock { $0.ready = true }
        let text = line
        state.withLock { $0.lastSent = text }
        notifier.ready(status: text)
    }

    /// A reload starts (`RELOADING=1`); call ``ready()`` when it is done.
    func reloading() {
        notifier.reloading(status: "reloading configuration")
    }

    /// One turn of the agent's work loop: pings the watchdog and refreshes the status line.
    func workLoopTurn(running: Int) {
        state.withLock { $0.running = running }
        notifier.watchdog()
        refresh()
    }

    /// The node's state as the database has it (`up`, `draining`, `down`).
    func nodeState(_ value: String) {
        state.withLock { $0.nodeState = value }
    }

    /// Sends the status line when it changed (and the daemon is ready).
    func refresh() {
        let text = line
        let send = state.withLock { s -> Bool in
            guard s.ready, s.lastSent != text else { return false }
            s.lastSent = text
            return true
        }
        if send { notifier.status(text) }
    }

    /// Replaces the status line with `text` (the fault-injection hook says so when it fires).
    func override(_ text: String) {
        state.withLock { $0.lastSent = text }
        notifier.status(text)
    }
}

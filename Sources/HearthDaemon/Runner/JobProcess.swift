import Foundation
import HearthProcess
import HearthSystemd

/// The running attempt's processes: a child of hearthd (forked, in hearthd's own cgroups for
/// the job), or a transient systemd unit (systemd forked it, in `hearth-jobs.slice`).
enum JobProcess: Sendable {
    case child(ChildProcess)
    case unit(TransientUnit, mainPID: pid_t)

    var pid: pid_t {
        switch self {
        case .child(let c): return c.pid
        case .unit(_, let pid): return pid
        }
    }

    /// Sends `signal` to the process group, or to every process of the unit.
    func signal(_ signal: Int32) {
        switch self {
        case .child(let c): c.signal(signal)
        case .unit(let u, _): try? u.kill(signal, whom: "all")
        }
    }

    /// What ended the attempt's main process and what it used; for a unit also systemd's result
    /// (`timeout` when `RuntimeMaxSec=` stopped it, `oom-kill`...).
    func wait() async -> (termination: ChildProcess.Termination, usage: ResourceUsage?, unitResult: String?) {
        switch self {
        case .child(let c):
            let (t, u) = await c.waitWithUsage()
            return (t, u, nil)
        case .unit(let u, _):
            // Polled: the unit stays loaded after its main process ends (RemainAfterExit=), so
            // its exit status can be read however late the poll comes. A unit whose start job
            // still waits (inactive, never started) or a read systemd did not answer is not an
            // end; only two minutes of either are taken as one (the unit never ran).
            let clock = ContinuousClock()
            var waitingSince: ContinuousClock.Instant?
            var state = try? u.state()
            while !(state?.ended ?? false) {
                if state == nil || state?.notStartedYet == true || state?.answered == false {
                    let since = waitingSince ?? clock.now
                    waitingSince = since
                    if clock.now - since > .seconds(120) { break }
                } else {
                    waitingSince = nil
                }
                try? await Task.sleep(for: .milliseconds(100))
                state = try? u.state()
            }
            let s = state.flatMap { $0.ended ? $0 : nil } ?? TransientUnit.State(
                activeState: "inactive", subState: "dead", result: "resources", mainCode: 0, mainStatus: 0, mainPID: 0)
            let termination: ChildProcess.Termination = s.mainCode == 1 ? .exited(s.mainStatus)
                : s.mainCode == 2 || s.mainCode == 3 ? .signalled(s.mainStatus) : .exited(127)
            let cpu = u.cpuUsageNanoseconds().map { Double($0) / 1e9 }
            return (termination, cpu.map { ResourceUsage(cpuSeconds: $0, maxRSSBytes: 0) }, s.result)
        }
    }
}

import CSystemd
import Foundation

/// Tells the service manager how the daemon is doing, through libsystemd's `sd_notify`:
/// readiness, a one-line status, reloads, watchdog pings, and stopping.
///
/// Outside systemd (no `NOTIFY_SOCKET`) every call does nothing, silently. Under `Type=notify`
/// and `NotifyAccess=main` only the main process may send, so child processes should not
/// inherit `NOTIFY_SOCKET` (see ``Notifier/managerVariables``).
public struct Notifier: Sendable {
    /// The variables systemd hands the main process that children must not inherit.
    public static let managerVariables = [
        "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "JOURNAL_STREAM",
    ]

    /// Whether a service manager listens (`NOTIFY_SOCKET` was set when this notifier was made).
    public let isActive: Bool
    /// How often the manager expects a watchdog ping (`WatchdogSec=`), or `nil` when it does not.
    public let watchdogTimeout: Duration?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        isActive = !(environment["NOTIFY_SOCKET"] ?? "").isEmpty
        var usec: UInt64 = 0
        // sd_watchdog_enabled checks WATCHDOG_PID against our own pid, as it must.
        if isActive, sd_watchdog_enabled(0, &usec) > 0, usec > 0 {
            watchdogTimeout = .microseconds(Int64(usec))
        } else {
            watchdogTimeout = nil
        }
    }

    /// The daemon is ready to serve: sends `READY=1` with a status line.
    public func ready(status: String) { send(["READY=1", "STATUS=" + Self.oneLine(status)]) }

    /// Replaces the status line `systemctl status` shows.
    public func status(_ text: String) { send(["STATUS=" + Self.oneLine(text)]) }

    /// Asks for more start-up (or stop) time: the manager's timeout is pushed to `duration` from now.
    public func extendTimeout(_ duration: Duration, status: String) {
        let usec = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
        send(["EXTEND_TIMEOUT_USEC=\(usec)", "STATUS=" + Self.oneLine(status)])
    }

    /// A reload begins: `RELOADING=1` with the `CLOCK_MONOTONIC` time (systemd 253+ uses it; 252 ignores it).
    public func reloading(status: String) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let usec = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
        send(["RELOADING=1", "MONOTONIC_USEC=\(usec)", "STATUS=" + Self.oneLine(status)])
    }

    /// The work loop made progress: `WATCHDOG=1`. Call it from the code that proves the daemon works.
    public func watchdog() {
        guard watchdogTimeout != nil else { return }
        send(["WATCHDOG=1"])
    }

    /// The process is about to exit: `STOPPING=1`. On systemd 252 this moves the unit to
    /// `deactivating` at once, so send it only when really exiting.
    public func stopping(status: String) { send(["STOPPING=1", "STATUS=" + Self.oneLine(status)]) }

    /// Sends raw `KEY=value` assignments; returns libsystemd's result (1 sent, 0 no manager, < 0 errno).
    @discardableResult
    public func send(_ assignments: [String]) -> Int32 {
        guard isActive else { return 0 }
        return sd_notify(0, assignments.joined(separator: "\n"))
    }

    static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }
}

import Foundation
import Synchronization

/// Wakes idle claimers when jobs are submitted: `LISTEN` on ``JobQueue/notificationChannel``
/// over a dedicated connection.
///
/// Notifications are only a hint. A claimer waits for ``wait(timeout:)``, which returns on a
/// notification *or* after the timeout (the polling fallback), then claims; so a lost
/// notification, or a listener that is reconnecting, costs at most one poll interval.
public final class JobWakeups: Sendable {
    private let configuration: PostgresClient.Configuration
    private let signal = AsyncSignal()
    var signalForNudge: AsyncSignal { signal }

    /// - Parameter configuration: the pool's configuration; the listener opens its own connection.
    public init(configuration: PostgresClient.Configuration) {
        self.configuration = configuration
    }

    /// Listens until the task is cancelled, reconnecting with a backoff when the connection breaks.
    public func run() async {
        var backoff: Duration = .milliseconds(100)
        while !Task.isCancelled {
            do {
                let connection = try await PostgresConnection.connect(
                    conninfo: configuration.conninfo, applicationName: "hearth-listener", database: configuration.database)
                defer { connection.close() }
                try await connection.execute(unsafeSQL: "LISTEN \(JobQueue.notificationChannel)")
                backoff = .milliseconds(100)
                signal.fire()  // anything submitted while we were not listening
                while !Task.isCancelled {
                    let notes = try await connection.waitForNotifications(timeout: .milliseconds(250))
                    if !notes.isEmpty { signal.fire() }
                }
            } catch {
                signal.fire()
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
    }

    /// Returns when a job may have been submitted, or after `timeout` at the latest.
    /// - Returns: `true` when woken by a notification, `false` on timeout.
    @discardableResult
    public func wait(timeout: Duration) async -> Bool {
        await signal.wait(timeout: timeout)
    }
}

/// A latch that wakes every current waiter; a fire with no waiter is remembered once.
final class AsyncSignal: Sendable {
    private struct State {
        var pending = false
        var waiters: [UInt64: CheckedContinuation<Bool, Never>] = [:]
        var next: UInt64 = 0
    }
    private let state = Mutex(State())

    func fire() {
        let waiters = state.withLock { s -> [CheckedContinuation<Bool, Never>] in
            if s.waiters.isEmpty { s.pending = true; return [] }
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        waiters.forEach { $0.resume(returning: true) }
    }

    func wait(timeout: Duration) async -> Bool {
        await withCheckedContinuation { continuation in
            let id = state.withLock { s -> UInt64? in
                if s.pending { s.pending = false; return nil }
                s.next += 1
                s.waiters[s.next] = continuation
                return s.next
            }
            guard let id else { return continuation.resume(returning: true) }
            // The timer is registered after the waiter, so it always finds it unless a fire came first.
            Task { [self] in
                try? await Task.sleep(for: timeout)
                state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: false)
            }
        }
    }
}

extension JobWakeups {
    /// Wakes a waiting claimer from inside the process (capacity was freed).
    public func nudge() { signalForNudge.fire() }
}

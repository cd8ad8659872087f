import Foundation
import Synchronization

/// Wakes idle claimers when jobs are submitted: `LISTEN` on ``JobQueue/notificationChannel``
/// over a dedicated connection.
///
/// Notifications are only a hint. A claimer waits for ``wait(timeout:)``, which returns on a
/// notification *or* after the timeout (the polling fallback), then claims; so a lost
/// notification, or a listener that is reconnecting, costs at most one poll interval.
///
/// Each notification names why it was sent (``Reason``, Migrations/0016), and a listener wakes
/// only for the reasons it acts on: the leader for submissions and freed capacity, not for its
/// own placements; an agent for placements, not for every submission.
public final class JobWakeups: Sendable {
    /// Why a notification was sent: its payload.
    public enum Reason: Sendable, Hashable {
        /// A job or a batch was submitted (payload: the job's id, or `batch`).
        case submitted
        /// A job was placed on a node (`placed`).
        case placed
        /// A job left `scheduled` or `running`: capacity came free (`freed`).
        case freed
        /// Another change of a job's state or node (`changed`).
        case changed
        /// An account's name, uid or role changed, or it was removed (`accounts`): cached
        /// identities are stale (``ChangeEpoch``).
        case accounts
        /// Anything may have happened: the listener (re)connected, an unknown payload, a nudge.
        case unknown

        public init(payload: String) {
            switch payload {
            case "placed": self = .placed
            case "freed": self = .freed
            case "changed": self = .changed
            case "accounts": self = .accounts
            case "batch": self = .submitted
            default: self = !payload.isEmpty && payload.allSatisfy(\.isNumber) ? .submitted : .unknown
            }
        }
    }

    private let configuration: PostgresClient.Configuration
    private let reasons: Set<Reason>
    private let longestWait: Duration
    private let seen = Mutex<Set<Reason>>([])
    private let signal = AsyncSignal()
    private let accountChanges: ChangeEpoch?
    private let jobChanges: ChangeEpoch?

    /// - Parameters:
    ///   - configuration: the pool's configuration; the listener opens its own connection.
    ///   - reasons: the notifications that wake ``wait(timeout:)`` (``Reason/unknown`` always
    ///     does); every one by default.
    ///   - accountChanges: told when this listener connects or drops and when an account
    ///     changes, so a node's cached identities need no listener of their own.
    ///   - jobChanges: the same for every notification on the channel (anything a job listing
    ///     shows may have changed), for the node's cached listing pages.
    ///   - longestWait: the longest the listening connection waits in one call. Cancellation ends a
    ///     wait at once, so it can be long: an idle daemon's listeners each woke four times a
    ///     second with a 250 ms wait.
    public init(configuration: PostgresClient.Configuration,
                reasons: Set<Reason> = [.submitted, .placed, .freed, .changed],
                accountChanges: ChangeEpoch? = nil, jobChanges: ChangeEpoch? = nil, longestWait: Duration = .seconds(10)) {
        self.longestWait = longestWait
        self.configuration = configuration
        self.reasons = reasons.union([.unknown])
        self.accountChanges = accountChanges
        self.jobChanges = jobChanges
    }

    /// The reasons of the wake-ups since the last call (only those this listener wakes for).
    public func takeReasons() -> Set<Reason> {
        seen.withLock { s in defer { s = [] }; return s }
    }

    private func wake(_ reasons: Set<Reason>) {
        let relevant = reasons.intersection(self.reasons)
        guard !relevant.isEmpty else { return }
        seen.withLock { $0.formUnion(relevant) }
        signal.fire()
    }

    /// Listens until the task is cancelled, reconnecting with a backoff when the connection breaks.
    public func run() async {
        var backoff: Duration = .milliseconds(100)
        while !Task.isCancelled {
            do {
                let connection = try await PostgresConnection.connect(
                    conninfo: configuration.conninfo, applicationName: "hearth-listener", database: configuration.database)
                defer { connection.close(); accountChanges?.disconnected(); jobChanges?.disconnected() }
                try await connection.execute(unsafeSQL: "LISTEN \(JobQueue.notificationChannel)")
                accountChanges?.connected()
                jobChanges?.connected()
                backoff = .milliseconds(100)
                wake([.unknown])  // anything that happened while we were not listening
                while !Task.isCancelled {
                    let notes = try await connection.waitForNotifications(timeout: longestWait)
                    guard !notes.isEmpty else { continue }
                    let reasons = Set(notes.map { Reason(payload: $0.payload) })
                    if reasons.contains(.accounts) { accountChanges?.changed() }
                    jobChanges?.changed()
                    wake(reasons)
                }
            } catch {
                wake([.unknown])
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
    public func nudge() { wake([.unknown]) }
}

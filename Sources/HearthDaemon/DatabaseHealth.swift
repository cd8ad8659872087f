import Foundation
import Synchronization

/// Whether this node can reach its database now, and since when it cannot: what `STATUS=`,
/// `GET /health` and the control API's 503 answers say.
///
/// Two sources feed it: the probe (``DatabaseProbe``, a `SELECT 1` every second, which sees an
/// external server go away) and the embedded cluster's supervisor (``DatabaseSupervisor``, which
/// sees the postmaster die at once and knows it is restarting it).
public final class DatabaseHealth: Sendable {
    /// One reading, as reported.
    public struct Snapshot: Sendable, Equatable {
        /// `true` when the database answers.
        public var reachable: Bool
        /// When it stopped answering (`nil` while reachable).
        public var since: Date?
        /// Why, in one line (the last connection error, or "the embedded server is restarting").
        public var detail: String?
        /// Outages since the daemon started, and the last one's length in seconds.
        public var outages: Int
        public var lastOutageSeconds: Double?
    }

    private struct State {
        var probeFailingSince: Date?
        var probeDetail: String?
        var lastAnswer: Date?
        var postmasterDownSince: Date?
        var postmasterDetail: String?
        var outages = 0
        var lastOutageSeconds: Double?
        var downSince: Date?
    }

    private let state = Mutex(State())
    /// Called (outside the lock) whenever reachability flips, with the new snapshot.
    private let observer = Mutex<(@Sendable (Snapshot) -> Void)?>(nil)

    public init() {}

    /// Sets what is called whenever reachability flips (the status line's refresh).
    func onChange(_ body: @escaping @Sendable (Snapshot) -> Void) {
        observer.withLock { $0 = body }
    }

    /// The current reading.
    public var snapshot: Snapshot {
        state.withLock { Self.snapshot($0) }
    }

    private static func snapshot(_ s: State) -> Snapshot {
        let down = s.downSince
        return Snapshot(
            reachable: down == nil, since: down, detail: down == nil ? nil : (s.postmasterDetail ?? s.probeDetail),
            outages: s.outages, lastOutageSeconds: s.lastOutageSeconds)
    }

    /// The probe's result: `nil` = the database answered; otherwise the error.
    func probe(failure: String?) {
        update { s in
            if let failure {
                if s.probeFailingSince == nil { s.probeFailingSince = Date() }
                s.probeDetail = failure
            } else {
                s.probeFailingSince = nil
                s.probeDetail = nil
                s.lastAnswer = Date()
            }
        }
    }

    /// When the probe last had an answer from the database (`nil`: not yet).
    var lastAnswer: Date? { state.withLock { $0.lastAnswer } }

    /// The embedded server died (`detail` says how) or came back (`nil`).
    func postmaster(down detail: String?) {
        update { s in
            if let detail {
                if s.postmasterDownSince == nil { s.postmasterDownSince = Date() }
                s.postmasterDetail = detail
            } else {
                s.postmasterDownSince = nil
                s.postmasterDetail = nil
            }
        }
    }

    private func update(_ body: (inout State) -> Void) {
        let changed = state.withLock { s -> Snapshot? in
            let wasDown = s.downSince != nil
            body(&s)
            let starts = [s.probeFailingSince, s.postmasterDownSince].compactMap { $0 }
            if starts.isEmpty {
                if let since = s.downSince {
                    s.lastOutageSeconds = Date().timeIntervalSince(since)
                    s.downSince = nil
                }
            } else if s.downSince == nil {
                s.downSince = starts.min()
                s.outages += 1
            }
            return wasDown != (s.downSince != nil) ? Self.snapshot(s) : nil
        }
        if let changed, let body = observer.withLock({ $0 }) { body(changed) }
    }

    /// "the fleet database is unreachable since 12:03:04 (…); running jobs continue; new work waits".
    public static func sentence(_ s: Snapshot, embedded: Bool) -> String {
        let what = embedded ? "this node's database (embedded PostgreSQL)" : "the fleet database"
        let since = s.since.map { " since \(clockTime($0))" } ?? ""
        let why = s.detail.map { " (\($0))" } ?? ""
        return "\(what) is unreachable\(since)\(why); running jobs continue; new work waits until it is back"
    }

    /// `HH:MM:SS` in local time, as journalctl shows it.
    static func clockTime(_ date: Date) -> String {
        let f = DateFormatter()
        f.dateFormat = "HH:mm:ss"
        f.locale = Locale(identifier: "en_US_POSIX")
        return f.string(from: date)
    }
}

import Synchronization

/// Whether what a node remembers of the database is still true: an epoch that moves whenever a
/// notification says the remembered tables changed (``JobWakeups`` moves it), whenever this node
/// changed them itself (``changed()``), and whenever the node's listener connects or drops, since
/// a change made while nobody listened is unknown.
///
/// A cache keeps a value with the epoch it read *before* asking the database, and trusts it only
/// while ``current`` still equals that epoch: any change that committed after the read began
/// moves it. With no listener connected, ``current`` is `nil` and nothing may be trusted.
///
/// A node keeps two: one for accounts (their trigger notifies `accounts`, Migrations/0021), one
/// for everything a job listing shows (any notification on the jobs channel).
public final class ChangeEpoch: Sendable {
    private struct State {
        var listening = false
        var epoch: UInt64 = 0
    }
    private let state = Mutex(State())

    public init() {}

    /// The epoch now, or `nil` while no listener is connected.
    public var current: UInt64? {
        state.withLock { $0.listening ? $0.epoch : nil }
    }

    /// The listener is connected and listening (after `LISTEN` succeeded).
    func connected() { state.withLock { $0.listening = true; $0.epoch &+= 1 } }

    /// The listener's connection broke or it stopped.
    func disconnected() { state.withLock { $0.listening = false; $0.epoch &+= 1 } }

    /// Something remembered may have changed: a notification arrived, or this node wrote.
    public func changed() { state.withLock { $0.epoch &+= 1 } }
}

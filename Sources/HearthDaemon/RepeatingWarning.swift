import Foundation
import Logging

/// A warning that a loop may hit on every turn while something it needs is away (the database,
/// most often): logged the first time, then at most once per ``interval`` with how many times it
/// happened since, and once more, as a notice, when the loop succeeds again. An outage is then a
/// few journal lines per loop rather than one every heartbeat.
///
/// A value owned by the one loop it speaks for (a local `var`), not shared between tasks.
struct RepeatingWarning {
    let logger: Logger
    /// What works again, for the notice: "the node's heartbeat".
    let what: String
    /// The least time between two logged repeats.
    var interval: Duration = .seconds(60)

    private let clock = ContinuousClock()
    private var failures = 0
    private var firstAt: Date?
    private var lastLogged: ContinuousClock.Instant?

    init(_ what: String, logger: Logger, interval: Duration = .seconds(60)) {
        self.what = what
        self.logger = logger
        self.interval = interval
    }

    /// How many failures in a row, since the last success.
    var failuresInARow: Int { failures }

    /// One more failure: logs `message` the first time, then only when ``interval`` has passed
    /// since the last logged one (saying how many there were).
    mutating func failed(_ message: String, metadata: Logger.Metadata? = nil) {
        failures += 1
        let now = clock.now
        if firstAt == nil { firstAt = Date() }
        if let lastLogged, now - lastLogged < interval { return }
        lastLogged = now
        if failures == 1 {
            logger.warning("\(message)", metadata: metadata)
        } else {
            logger.warning("\(message) (\(failures) times since \(Self.clockTime(firstAt!)); repeats are logged at most every \(Self.seconds(interval)) s)",
                           metadata: metadata)
        }
    }

    /// The loop's step worked: when it had failed more than once, says so (a notice), and starts over.
    mutating func succeeded() {
        guard failures > 0 else { return }
        if failures > 1, let firstAt {
            logger.notice("\(what) works again, after \(failures) failures since \(Self.clockTime(firstAt))")
        }
        failures = 0
        self.firstAt = nil
        lastLogged = nil
    }

    private static func clockTime(_ date: Date) -> String { DatabaseHealth.clockTime(date) }

    /// `60`, `0.3`: the interval in seconds, as short as it goes.
    private static func seconds(_ d: Duration) -> String {
        String(format: "%g", Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
    }
}

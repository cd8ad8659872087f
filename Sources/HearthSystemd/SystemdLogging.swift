import Logging

/// Picks where the daemon's log goes: the journal's native protocol (structured fields) when
/// stderr is connected to the journal, plain lines on stderr otherwise.
public enum SystemdLogging {
    /// Where log entries go.
    public enum Destination: String, Sendable {
        case journal, stderr
    }

    /// The destination for this process, from `JOURNAL_STREAM` and stderr.
    public static func destination() -> Destination {
        JournalStream.isConnected() ? .journal : .stderr
    }

    /// Bootstraps swift-log once per process; every handler's level follows `control`.
    /// - Returns: where the log goes.
    @discardableResult
    public static func bootstrap(identifier: String, control: LogLevelControl) -> Destination {
        let destination = destination()
        LoggingSystem.bootstrap { label in
            switch destination {
            case .journal: return JournalLogHandler(identifier: identifier, control: control)
            case .stderr: return ControlledStreamHandler(base: StreamLogHandler.standardError(label: label), control: control)
            }
        }
        return destination
    }
}

import CSystemd
import Foundation
import Logging

/// A swift-log handler that writes to systemd-journald through its native protocol
/// (`sd_journal_sendv`), one entry per message with structured fields.
///
/// Each metadata key becomes a journal field (``JournalFields/name(for:)``): `job.id` → `JOB_ID`,
/// `node.name` → `NODE`, `hearth.event` → `HEARTH_EVENT`, so `journalctl -u hearthd JOB_ID=42`
/// finds one job's entries. The level becomes `PRIORITY=` (syslog numbering). Use it only when
/// stderr is connected to the journal (``JournalStream``); elsewhere log plain lines.
public struct JournalLogHandler: LogHandler {
    /// `SYSLOG_IDENTIFIER=` of every entry (what `journalctl -t` matches).
    public let identifier: String
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    /// The level below which messages are dropped; shared with ``LogLevelControl`` when given one.
    public var logLevel: Logger.Level {
        get { control?.level ?? ownLevel }
        set { if let control { control.level = newValue } else { ownLevel = newValue } }
    }
    private var ownLevel: Logger.Level = .info
    private let control: LogLevelControl?

    /// - Parameters:
    ///   - identifier: the `SYSLOG_IDENTIFIER=` (usually the program name).
    ///   - control: a shared level that a reload can change; `nil` for a level of its own.
    public init(identifier: String, control: LogLevelControl? = nil) {
        self.identifier = identifier
        self.control = control
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let given = event.metadata { merged.merge(given) { _, new in new } }
        var fields = [
            "MESSAGE=\(event.message)",
            "PRIORITY=\(Self.priority(event.level))",
            "SYSLOG_IDENTIFIER=\(identifier)",
            "CODE_FILE=\(event.file)",
            "CODE_LINE=\(event.line)",
            "CODE_FUNC=\(event.function)",
        ]
        if let error = event.error { fields.append("ERROR=\(error)") }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            fields.append("\(JournalFields.name(for: key))=\(value)")
        }
        if Self.send(fields) < 0 {
            // The journal went away (journald restarting): keep the line on stderr rather than lose it.
            FileHandle.standardError.write(Data("<\(Self.priority(event.level))>\(event.message)\n".utf8))
        }
    }

    /// Sends one entry made of `KEY=value` fields; values may hold newlines. Returns `sd_journal_sendv`'s result.
    /// (It reports success even when no journald listens: only reading the journal back proves delivery.)
    @discardableResult
    public static func send(_ fields: [String]) -> Int32 {
        // One contiguous buffer, so every iovec points into memory that lives through the call.
        var storage: [UInt8] = []
        var spans: [(offset: Int, count: Int)] = []
        for field in fields {
            let start = storage.count
            storage.append(contentsOf: field.utf8)
            spans.append((start, storage.count - start))
        }
        return storage.withUnsafeMutableBytes { raw -> Int32 in
            guard let base = raw.baseAddress else { return -EINVAL }
            let vectors = spans.map { iovec(iov_base: base + $0.offset, iov_len: $0.count) }
            return sd_journal_sendv(vectors, Int32(vectors.count))
        }
    }

    /// syslog(3) priorities: 7 debug … 2 critical.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }
}

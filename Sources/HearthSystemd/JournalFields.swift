/// How swift-log metadata keys become journal field names.
///
/// journald silently drops fields whose names are not `[A-Z0-9_]`, start with `_` or a digit,
/// or are longer than 64 bytes, so every key is mapped to a valid name: a few well-known keys to
/// the short names admins query (`JOB_ID`, `NODE`, `ACCOUNT`, `PROJECT`, `HEARTH_EVENT`), the rest
/// upper-cased with other characters turned into `_` (`worker.pid` → `WORKER_PID`).
public enum JournalFields {
    /// The names admins type after `journalctl -u hearthd`.
    public static let aliases: [String: String] = [
        "job.id": "JOB_ID",
        "node.name": "NODE",
        "account.name": "ACCOUNT",
        "project.name": "PROJECT",
        "hearth.event": "HEARTH_EVENT",
    ]

    /// Fields the handler sets itself; a metadata key mapping onto one gets a `HEARTH_` prefix.
    static let reserved: Set<String> = [
        "MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "CODE_FILE", "CODE_LINE", "CODE_FUNC", "ERROR", "MESSAGE_ID",
        "ERRNO", "SYSLOG_FACILITY", "SYSLOG_PID", "SYSLOG_TIMESTAMP", "DOCUMENTATION", "TID",
    ]

    /// A valid journal field name for a metadata key.
    public static func name(for key: String) -> String {
        if let alias = aliases[key] { return alias }
        var name = String(key.uppercased().unicodeScalars.map { scalar -> Character in
            switch scalar {
            case "A"..."Z", "0"..."9": return Character(scalar)
            default: return "_"
            }
        })
        while name.first == "_" { name.removeFirst() }
        if name.isEmpty || name.first!.isNumber || reserved.contains(name) { name = "HEARTH_" + name }
        return String(name.prefix(64))
    }
}

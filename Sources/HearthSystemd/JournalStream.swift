import Foundation

/// Whether a descriptor is connected to the journal: systemd sets `JOURNAL_STREAM=DEV:INODE`
/// for the stream it gives a service's stdout/stderr, and only a match (not merely the variable,
/// which children inherit) means the native protocol reaches the same journal.
public enum JournalStream {
    /// True when `descriptor` (stderr by default) is the stream `JOURNAL_STREAM` names.
    public static func isConnected(
        descriptor: Int32 = STDERR_FILENO, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> Bool {
        guard let value = environment["JOURNAL_STREAM"] else { return false }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var st = stat()
        guard fstat(descriptor, &st) == 0 else { return false }
        return UInt64(st.st_dev) == device && UInt64(st.st_ino) == inode
    }
}

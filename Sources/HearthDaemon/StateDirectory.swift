import Foundation

/// Where Hearth keeps its state (the embedded PostgreSQL cluster among it).
public enum StateDirectory {
    /// `$STATE_DIRECTORY` when systemd sets it, `/var/lib/hearth` for root, else
    /// `$XDG_STATE_HOME/hearth` (by default `~/.local/state/hearth`).
    public static func `default`(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let dir = environment["STATE_DIRECTORY"]?.split(separator: ":").first {
            return URL(fileURLWithPath: String(dir))
        }
        if geteuid() == 0 { return URL(fileURLWithPath: "/var/lib/hearth") }
        if let xdg = environment["XDG_STATE_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appendingPathComponent("hearth")
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".local/state/hearth")
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one rule for where the control socket is, used by the daemon (where it listens) and the
/// CLI (where it looks), so that a socket the daemon chose by default is always one the CLI tries.
///
/// - `HEARTH_SOCKET`, when set, wins on both sides.
/// - A daemon run as root listens on ``system``.
/// - A daemon run by another user listens on ``perUser(uid:environment:)``:
///   `$XDG_RUNTIME_DIR/hearth.sock`, or `/tmp/hearth-UID.sock` when that variable is unset.
/// - The CLI tries ``system`` first (the fleet's daemon), then its own user's paths, and names
///   ``system`` in its error when none exists.
public enum ControlSocketPath {
    /// Where the system's daemon (systemd unit, root) listens.
    public static let system = "/run/hearth/hearth.sock"

    /// The path a daemon run by `uid` (not root) listens on by default.
    public static func perUser(uid: UInt32, environment: [String: String]) -> String {
        perUser(uid: uid, variable: { environment[$0] })
    }

    /// Where a daemon run by `uid` listens unless told otherwise.
    public static func forDaemon(uid: UInt32 = geteuid(), environment: [String: String]) -> String {
        if let explicit = environment["HEARTH_SOCKET"], !explicit.isEmpty { return explicit }
        return uid == 0 ? system : perUser(uid: uid, environment: environment)
    }

    /// The paths the CLI tries, in order (``forClient(uid:environment:exists:)`` takes the first that exists).
    public static func candidates(uid: UInt32 = geteuid(), environment: [String: String]) -> [String] {
        candidates(uid: uid, variable: { environment[$0] })
    }

    /// Where the CLI connects: the first candidate that exists, else ``system`` (named in the error).
    public static func forClient(uid: UInt32 = geteuid(), environment: [String: String],
                                 exists: (String) -> Bool = { access($0, F_OK) == 0 }) -> String {
        forClient(uid: uid, variable: { environment[$0] }, exists: exists)
    }

    /// The same, reading the two variables it needs from this process's environment.
    ///
    /// The CLI's path: it reads `HEARTH_SOCKET` and `XDG_RUNTIME_DIR` with `getenv` instead of
    /// building a dictionary of the whole environment, whose first use in the static binary
    /// costs a scan of every protocol conformance record.
    public static func forClientFromProcessEnvironment(uid: UInt32 = geteuid()) -> String {
        forClient(uid: uid, variable: { getenv($0).map { String(cString: $0) } }, exists: { access($0, F_OK) == 0 })
    }

    // The rules above, on a variable lookup (a dictionary's, or getenv).

    static func perUser(uid: UInt32, variable: (String) -> String?) -> String {
        if let runtime = variable("XDG_RUNTIME_DIR"), !runtime.isEmpty { return runtime + "/hearth.sock" }
        return "/tmp/hearth-\(uid).sock"
    }

    static func candidates(uid: UInt32, variable: (String) -> String?) -> [String] {
        if let explicit = variable("HEARTH_SOCKET"), !explicit.isEmpty { return [explicit] }
        var paths = [system]
        // The user's own daemon: where it listens with this environment, and without XDG_RUNTIME_DIR
        // (a daemon started from cron or a bare shell does not have it).
        if uid != 0 {
            paths.append(perUser(uid: uid, variable: variable))
            let fallback = perUser(uid: uid, variable: { _ in nil })
            if !paths.contains(fallback) { paths.append(fallback) }
        }
        return paths
    }

    static func forClient(uid: UInt32, variable: (String) -> String?, exists: (String) -> Bool) -> String {
        let paths = candidates(uid: uid, variable: variable)
        return paths.first(where: exists) ?? paths[0]
    }
}

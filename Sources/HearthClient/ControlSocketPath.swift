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
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty { return runtime + "/hearth.sock" }
        return "/tmp/hearth-\(uid).sock"
    }

    /// Where a daemon run by `uid` listens unless told otherwise.
    public static func forDaemon(uid: UInt32 = geteuid(), environment: [String: String]) -> String {
        if let explicit = environment["HEARTH_SOCKET"], !explicit.isEmpty { return explicit }
        return uid == 0 ? system : perUser(uid: uid, environment: environment)
    }

    /// The paths the CLI tries, in order (``forClient(uid:environment:exists:)`` takes the first that exists).
    public static func candidates(uid: UInt32 = geteuid(), environment: [String: String]) -> [String] {
        if let explicit = environment["HEARTH_SOCKET"], !explicit.isEmpty { return [explicit] }
        var paths = [system]
        // The user's own daemon: where it listens with this environment, and without XDG_RUNTIME_DIR
        // (a daemon started from cron or a bare shell does not have it).
        if uid != 0 {
            paths.append(perUser(uid: uid, environment: environment))
            let fallback = perUser(uid: uid, environment: [:])
            if !paths.contains(fallback) { paths.append(fallback) }
        }
        return paths
    }

    /// Where the CLI connects: the first candidate that exists, else ``system`` (named in the error).
    public static func forClient(uid: UInt32 = geteuid(), environment: [String: String],
                                 exists: (String) -> Bool = { access($0, F_OK) == 0 }) -> String {
        let paths = candidates(uid: uid, environment: environment)
        return paths.first(where: exists) ?? paths[0]
    }

    /// The process environment as a dictionary, without Foundation.
    public static func processEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") {
                result[String(text[..<eq])] = String(text[text.index(after: eq)...])
            }
            pointer += 1
        }
        return result
    }
}

import CSpawn
import Dispatch
import Foundation

/// A child process started with `posix_spawn`, waited for with `wait4` (which also reports its resource usage).
///
/// Unlike Foundation's `Process`, it gives the child exactly the descriptors asked for (every
/// other one is closed in the child, so a daemon the child forks cannot hold one of ours open),
/// can make the child lead its own process group, and never needs a run loop.
public struct ChildProcess: Sendable, Hashable {
    /// How a child ended.
    public enum Termination: Sendable, Hashable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        public var description: String {
            switch self {
            case .exited(let code): return "exited with status \(code)"
            case .signalled(let sig): return "killed by signal \(sig) (\(String(cString: strsignal(sig))))"
            }
        }
    }

    /// A child that could not be started; the message names the program and the reason.
    public struct SpawnError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// The child's process id (and its process group id when it leads one).
    public let pid: pid_t
    /// Whether the child leads its own process group.
    public let leadsGroup: Bool

    /// Starts a program.
    /// - Parameters:
    ///   - executable: a path, or a name looked up in `PATH`.
    ///   - arguments: the arguments after the program name.
    ///   - environment: the whole environment; `nil` inherits this process's.
    ///   - descriptors: the child's descriptors 0, 1, 2, … as descriptors of this process; `nil`
    ///     entries become /dev/null. Defaults to stdin from /dev/null and this process's stdout and stderr.
    ///   - newProcessGroup: make the child lead its own process group. Defaults to `false`.
    ///   - workingDirectory: the child's working directory; `nil` keeps ours.
    public static func spawn(
        _ executable: String, _ arguments: [String] = [], environment: [String: String]? = nil,
        descriptors: [Int32?] = [nil, 1, 2], newProcessGroup: Bool = false, workingDirectory: String? = nil
    ) throws -> ChildProcess {
        let path = try resolve(executable)
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let rc = withCStringArray([path] + arguments) { argv in
            withCStringArray(env) { envp in
                descriptors.map { $0 ?? -1 }.withUnsafeBufferPointer { fds in
                    hearth_spawn(path, argv, envp, fds.baseAddress, Int32(fds.count), newProcessGroup ? 1 : 0,
                                 workingDirectory, &pid)
                }
            }
        }
        guard rc == 0 else {
            throw SpawnError(message: "cannot start \(path): \(String(cString: strerror(rc)))")
        }
        return ChildProcess(pid: pid, leadsGroup: newProcessGroup)
    }

    /// Waits for the child to end, on a thread of its own (never on Swift's cooperative pool).
    public func wait() async -> Termination {
        await waitWithUsage().termination
    }

    /// Waits for the child to end, on a thread of its own, and returns what it used as well.
    public func waitWithUsage() async -> (termination: Termination, usage: ResourceUsage?) {
        // A thread of its own, not libdispatch's global pool: wait4 blocks for the child's whole
        // life, and that pool has only a few threads per core (a node running several jobs, or a
        // test process running several daemons, stalled every other wait behind them).
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: waitBlockingWithUsage()) }
        }
    }

    /// Waits for the child to end, blocking the calling thread.
    public func waitBlocking() -> Termination {
        waitBlockingWithUsage().termination
    }

    /// Waits for the child to end, blocking the calling thread; `usage` is `nil` only when the
    /// wait itself failed (the child was already reaped elsewhere).
    public func waitBlockingWithUsage() -> (termination: Termination, usage: ResourceUsage?) {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            if errno != EINTR { return (.exited(-1), nil) }
        }
        // The W* macros do not import into Swift; these are their Linux definitions.
        let termination: Termination = status & 0x7f == 0 ? .exited((status >> 8) & 0xff) : .signalled(status & 0x7f)
        return (termination, ResourceUsage(usage))
    }

    /// Sends a signal to the child, or to its whole process group when it leads one.
    /// - Returns: `false` when no such process (group) exists any more.
    @discardableResult
    public func signal(_ signal: Int32) -> Bool {
        kill(leadsGroup ? -pid : pid, signal) == 0
    }

    public static func resolve(_ executable: String) throws -> String {
        if executable.contains("/") { return executable }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(executable)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw SpawnError(message: "cannot start \(executable): not found in PATH (\(path))")
    }
}

func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { pointers.forEach { free($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

import Foundation
import HearthClient
import HearthProcess
import HearthStore
import HearthTesting

/// One real `hearthd` of a chaos run, which the harness may kill, stop and restart. Its log is
/// appended across restarts (`STATE/../NAME.log`).
final class ChaosNode: @unchecked Sendable {
    let name: String
    let directory: URL
    let stateDirectory: URL
    let socketPath: String
    let logPath: String
    /// Extra arguments (the database URL for a node without its own cluster).
    let arguments: [String]
    private(set) var child: ChildProcess
    private(set) var starts = 0

    init(name: String, directory: URL, stateDirectory: URL, arguments: [String], leaseSeconds: Int = 6) async throws {
        self.name = name
        self.directory = directory
        self.stateDirectory = stateDirectory
        socketPath = directory.appendingPathComponent("\(name).sock").path
        logPath = directory.appendingPathComponent("\(name).log").path
        self.arguments = ["--lease-seconds", "\(leaseSeconds)"] + arguments
        child = try Self.spawn(name: name, stateDirectory: stateDirectory, socket: socketPath, log: logPath, arguments: self.arguments)
        starts = 1
        try await waitReady(previousReadies: 0)
    }

    var pid: pid_t { child.pid }
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// The embedded cluster's server, when this node has one.
    var postmasterPID: pid_t? {
        let file = stateDirectory.appendingPathComponent("postgres/data/postmaster.pid").path
        guard let text = try? String(contentsOfFile: file, encoding: .utf8), let first = text.split(separator: "\n").first else { return nil }
        return pid_t(first)
    }

    private static func spawn(name: String, stateDirectory: URL, socket: String, log: String, arguments: [String]) throws -> ChildProcess {
        guard let hearthd = BuiltProducts.path("hearthd") else { throw TestProcessError("hearthd is not built (swift build)") }
        let fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        defer { close(fd) }
        var environment = ProcessInfo.processInfo.environment
        for key in ["HEARTH_DATABASE_URL", "HEARTH_SOCKET", "NOTIFY_SOCKET", "HEARTH_LOG_LEVEL"] { environment[key] = nil }
        return try ChildProcess.spawn(hearthd, [
            "run", "--state-dir", stateDirectory.path, "--socket", socket, "--node-name", name,
            "--simulated-gpus", "1", "--heartbeat-seconds", "0.5", "--grace-seconds", "5",
            // The tests submit as root through the CLI (the chaos harness submits as an account with no Unix user).
            "--allow-root-jobs",
        ] + arguments, environment: environment, descriptors: [nil, fd, fd])
    }

    private func readies() -> Int { log.components(separatedBy: " ready").count - 1 }

    private func waitReady(previousReadies: Int, timeout: Double = 90) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !UnixSocket.accepts(socketPath) || readies() <= previousReadies {
            var status: Int32 = 0
            if waitpid(child.pid, &status, WNOHANG) == child.pid {
                throw TestProcessError("hearthd \(name) exited while starting: \(log.suffix(2000))")
            }
            if Date() > deadline {
                child.signal(SIGKILL)
                throw TestProcessError("hearthd \(name) was not ready in \(Int(timeout)) s: \(log.suffix(2000))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// kill -9, then a fresh start on the same state directory (as systemd's Restart= would).
    func killAndRestart() async throws {
        let before = readies()
        child.signal(SIGKILL)
        _ = await child.wait()
        child = try Self.spawn(name: name, stateDirectory: stateDirectory, socket: socketPath, log: logPath, arguments: arguments)
        starts += 1
        try await waitReady(previousReadies: before)
    }

    /// What systemd's `Restart=on-failure` does: when the daemon exited on its own (the embedded
    /// cluster's supervisor gave up), start it again. Returns how it had ended, or `nil` if it runs.
    func restartIfExited() async throws -> String? {
        var status: Int32 = 0
        guard waitpid(child.pid, &status, WNOHANG) == child.pid else { return nil }
        let how = status & 0x7f == 0 ? "exited with status \((status >> 8) & 0xff)" : "was killed by signal \(status & 0x7f)"
        let before = readies()
        child = try Self.spawn(name: name, stateDirectory: stateDirectory, socket: socketPath, log: logPath, arguments: arguments)
        starts += 1
        try await waitReady(previousReadies: before)
        return how
    }

    /// Stops the daemon gracefully and returns how it ended.
    func stop() async -> ChildProcess.Termination {
        child.signal(SIGTERM)
        return await child.wait()
    }

    /// The `hearth-worker` processes this daemon runs now.
    var workerPIDs: [pid_t] { ChaosProcesses.children(of: child.pid, named: "hearth-worker") }
}

/// /proc, read the way `ps` does.
enum ChaosProcesses {
    /// Processes whose parent is `parent` and whose command name is `name`.
    static func children(of parent: pid_t, named name: String) -> [pid_t] {
        all().filter { $0.ppid == parent && $0.comm == name }.map(\.pid).sorted()
    }

    /// Processes named `name` whose command line mentions `text`.
    static func matching(_ name: String, containing text: String) -> [pid_t] {
        all().filter { p in
            guard p.comm == name, let cmd = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(p.pid)/cmdline")) else { return false }
            return String(decoding: cmd.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).contains(text)
        }.map(\.pid)
    }

    static func all() -> [(pid: pid_t, ppid: pid_t, comm: String)] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> (pid_t, pid_t, String)? in
            guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { return nil }
            let comm = String(stat[stat.index(after: open)..<close])
            let rest = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            guard rest.count > 2, let ppid = pid_t(rest[1]), rest[0] != "Z" else { return nil }
            return (pid, ppid, comm)
        }
    }
}

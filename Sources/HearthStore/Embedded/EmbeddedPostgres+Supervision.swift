import Foundation
import HearthProcess

extension EmbeddedPostgres {
    /// A running postmaster that this process watches: started as its child (so its death is
    /// seen by `waitpid` the moment it happens), or adopted from a daemon that crashed before
    /// (then watched by its pid).
    public final class Postmaster: Sendable {
        /// The postmaster's process id (as written in `postmaster.pid`).
        public let pid: pid_t
        /// The child this process started (`runuser` when running as root), or `nil` when adopted.
        let child: ChildProcess?

        init(pid: pid_t, child: ChildProcess?) {
            self.pid = pid
            self.child = child
        }

        /// Whether this process started the server (rather than adopting one).
        public var isChild: Bool { child != nil }

        /// Returns once the server has exited, with how it ended; cancellable (then returns `nil`).
        ///
        /// It sleeps on a pidfd (``ProcessExitWatch``) until the process exits, then a child is
        /// reaped with `waitpid` and an adopted server checked with `kill(pid, 0)`. Where no pidfd
        /// can be had (a kernel before 5.3) it checks those every 50 ms. Neither waits for a query
        /// to fail.
        public func exited() async -> String? {
            if await ProcessExitWatch.wait(pid: child?.pid ?? pid) == .cancelled { return nil }
            while !Task.isCancelled {
                if let child {
                    var status: Int32 = 0
                    let r = waitpid(child.pid, &status, WNOHANG)
                    if r == child.pid {
                        return status & 0x7f == 0 ? "exited with status \((status >> 8) & 0xff)" : "was killed by signal \(status & 0x7f)"
                    }
                    if r < 0 && errno == ECHILD { return "is gone (reaped elsewhere)" }
                } else if kill(pid, 0) != 0 && errno == ESRCH {
                    return "is gone"
                }
                try? await Task.sleep(for: .milliseconds(50))
            }
            return nil
        }
    }

    /// The server's log file (its stdout and stderr), for messages that send an admin there.
    public var serverLog: String { logFile.path }

    /// Starts the server as a child of this process (or adopts one left running), waits until it
    /// accepts connections, and creates the database. Unlike ``start()``, which uses `pg_ctl` and
    /// lets the server detach, the returned ``Postmaster`` tells the caller the moment it dies.
    ///
    /// A `postmaster.pid` left by a server that no longer runs (or whose pid now belongs to
    /// another program) is removed first. After a crash, PostgreSQL's own recovery replays the
    /// WAL before it accepts connections; this waits through that, up to `timeout`.
    /// - Throws: ``Error`` saying what failed and quoting the server log's last lines.
    public func launch(timeout: Duration = .seconds(60)) async throws -> Postmaster {
        let bin = try binaries()
        let postmaster: Postmaster = try await offThePoolValue {
            try prepareDirectories()
            if !FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("PG_VERSION").path) {
                try run(bin + "/initdb", [
                    "-D", dataDirectory.path, "-U", owner, "--auth-local=trust", "--auth-host=reject",
                    "-E", "UTF8", "--no-locale",
                ] + (configuration.durable ? [] : ["--no-sync"]), what: "create the PostgreSQL cluster (initdb)")
            }
            try writeSettings()
            if let pid = runningServerPID() { return Postmaster(pid: pid, child: nil) }
            return try spawnServer(bin: bin)
        }
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            if postmaster.isChild, let how = firstExit(postmaster) {
                throw Error(message: "PostgreSQL \(how) while starting; see its log \(serverLog): \(logTail())")
            }
            do {
                let connection = try await PostgresConnection.connect(conninfo: maintenanceConninfo, applicationName: "hearth-embedded")
                connection.close()
                break
            } catch {
                if clock.now > deadline {
                    throw Error(message: "PostgreSQL did not accept connections within \(timeout); see its log \(serverLog): \(logTail())")
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        try await createDatabaseIfMissing()
        // Under runuser (as root) the child is runuser; name the server's own pid in messages.
        if let child = postmaster.child, let pid = runningServerPID() { return Postmaster(pid: pid, child: child) }
        return postmaster
    }

    /// Checks once, without blocking, whether a child postmaster has exited.
    private func firstExit(_ postmaster: Postmaster) -> String? {
        guard let child = postmaster.child else { return nil }
        var status: Int32 = 0
        let r = waitpid(child.pid, &status, WNOHANG)
        guard r == child.pid else { return nil }
        return status & 0x7f == 0 ? "exited with status \((status >> 8) & 0xff)" : "was killed by signal \(status & 0x7f)"
    }

    /// The pid in `postmaster.pid` when that process runs and is a PostgreSQL server.
    ///
    /// A file naming a dead process is left for PostgreSQL, which removes it itself after
    /// checking that no old backend still uses the shared memory it names. A file whose pid now
    /// belongs to another program (reused after a reboot or long ago) would make PostgreSQL
    /// refuse to start ("Is another postmaster running?"), so that one is removed here.
    func runningServerPID() -> pid_t? {
        let file = dataDirectory.appendingPathComponent("postmaster.pid")
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return nil }
        guard let first = text.split(separator: "\n").first, let pid = pid_t(first.trimmingCharacters(in: .whitespaces)), pid > 0 else {
            try? FileManager.default.removeItem(at: file)
            return nil
        }
        guard kill(pid, 0) == 0 || errno == EPERM else { return nil }
        let comm = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if comm == "postgres" { return pid }
        try? FileManager.default.removeItem(at: file)
        return nil
    }

    private func spawnServer(bin: String) throws -> Postmaster {
        var program = bin + "/postgres"
        var args = ["-D", dataDirectory.path]
        if geteuid() == 0 {
            _ = try systemUserIDs()
            program = FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser") ? "/usr/sbin/runuser" : "/sbin/runuser"
            args = ["-u", configuration.systemUser, "--", bin + "/postgres"] + args
        }
        let fd = open(logFile.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw Error(message: "cannot open the server log \(logFile.path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        if geteuid() == 0, let ids = try? systemUserIDs() { _ = fchown(fd, ids.0, ids.1) }
        var environment = ProcessInfo.processInfo.environment
        for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"] {
            environment[name] = nil
        }
        do {
            // Its own process group: a terminal's Ctrl-C is for hearthd, which then stops it cleanly.
            let child = try ChildProcess.spawn(
                program, args, environment: environment, descriptors: [nil, fd, fd], newProcessGroup: true,
                workingDirectory: root.path)
            return Postmaster(pid: child.pid, child: child)
        } catch {
            throw Error(message: "cannot start PostgreSQL: \(error)")
        }
    }

    /// The server log's last lines, on one line.
    func logTail(lines: Int = 3) -> String {
        let text = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: " | ")
    }

    private func createDatabaseIfMissing() async throws {
        let connection = try await PostgresConnection.connect(conninfo: maintenanceConninfo, applicationName: "hearth-embedded")
        defer { connection.close() }
        let exists = try await connection.query("SELECT 1 FROM pg_database WHERE datname = \(configuration.database)")
        if exists.isEmpty {
            try await connection.query("CREATE DATABASE \(identifier: configuration.database)")
        }
    }

    private func offThePoolValue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Swift.Error>) in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }
}

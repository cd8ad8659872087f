import Foundation
import HearthProcess

extension EmbeddedPostgres {
    /// Runs a server binary to completion, as the cluster's owner, and returns its output.
    ///
    /// Blocks the calling thread; ``start()`` and ``stop()`` call it off the cooperative pool.
    /// - Throws: ``EmbeddedPostgres/Error`` naming the step and quoting the tool's last lines.
    @discardableResult
    func run(_ executable: String, _ arguments: [String], what: String) throws -> String {
        var program = executable
        var args = arguments
        if geteuid() == 0 {
            _ = try systemUserIDs()
            program = FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser") ? "/usr/sbin/runuser" : "/sbin/runuser"
            args = ["-u", configuration.systemUser, "--", executable] + arguments
        }
        // Output goes to a file, not a pipe: the server that pg_ctl forks must not hold our pipe open.
        let output = FileManager.default.temporaryDirectory
            .appendingPathComponent("hearth-pg-\(getpid())-\(UUID().uuidString).out")
        let fd = open(output.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw Error(message: "cannot \(what): cannot create \(output.path): \(String(cString: strerror(errno)))")
        }
        defer {
            close(fd)
            try? FileManager.default.removeItem(at: output)
        }
        let termination: ChildProcess.Termination
        do {
            // PostgreSQL speaks sd_notify itself: it must not answer the service manager in hearthd's
            // place (nor take its activated sockets), so systemd's variables stay with hearthd.
            var environment = ProcessInfo.processInfo.environment
            for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"] {
                environment[name] = nil
            }
            let child = try ChildProcess.spawn(
                program, args, environment: environment, descriptors: [nil, fd, fd], workingDirectory: root.path)
            termination = child.waitBlocking()
        } catch {
            throw Error(message: "cannot \(what): \(error)")
        }
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        guard termination == .exited(0) else {
            let tail = text.split(separator: "\n").suffix(3).joined(separator: " ")
            throw Error(message: "cannot \(what): \(URL(fileURLWithPath: executable).lastPathComponent) \(termination): \(tail)")
        }
        return text
    }

    /// The uid and gid of the cluster's system user, creating the user when it does not exist
    /// (as systemd-sysusers would from Units/hearth.sysusers on an installed system).
    func systemUserIDs() throws -> (uid_t, gid_t) {
        if let ids = lookUp(configuration.systemUser) { return ids }
        let useradd = Process()
        useradd.executableURL = URL(fileURLWithPath: "/usr/sbin/useradd")
        useradd.arguments = [
            "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
            "--shell", "/usr/sbin/nologin", "--comment", "Hearth", configuration.systemUser,
        ]
        useradd.standardOutput = FileHandle.nullDevice
        useradd.standardError = FileHandle.nullDevice
        try? useradd.run()
        useradd.waitUntilExit()
        // Another process may have created it at the same moment: look again either way.
        if let ids = lookUp(configuration.systemUser) { return ids }
        throw Error(message: """
            PostgreSQL does not run as root, and the system user \(configuration.systemUser) does not exist and \
            could not be created: create it with 'useradd --system \(configuration.systemUser)'
            """)
    }

    private func lookUp(_ name: String) -> (uid_t, gid_t)? {
        guard let pw = getpwnam(name) else { return nil }
        return (pw.pointee.pw_uid, pw.pointee.pw_gid)
    }
}

/// The name of the user running this process.
func currentUserName() -> String {
    guard let pw = getpwuid(geteuid()) else { return "postgres" }
    return String(cString: pw.pointee.pw_name)
}

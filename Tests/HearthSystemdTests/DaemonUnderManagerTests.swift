import Foundation
import HearthClient
import HearthProcess
import HearthTesting
import Testing

/// `hearthd run` as systemd runs it, without systemd: a real notify socket, a listening socket
/// passed as fd 3 with `LISTEN_FDS`/`LISTEN_PID`, `WATCHDOG_USEC`. What it sends is read back.
@Suite(.timeLimit(.minutes(10))) struct DaemonUnderManagerTests {
    @Test func readyStatusWatchdogReloadAndStopping() async throws {
        try await TestDatabase.with { _, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-notify")
            defer { try? FileManager.default.removeItem(at: dir) }
            let hearthd = try #require(BuiltProducts.path("hearthd"))
            let notify = try NotifySocket(path: dir.appendingPathComponent("notify").path)
            let socketPath = dir.appendingPathComponent("control.sock").path
            let listener = try listeningSocket(at: socketPath)
            let levelFile = dir.appendingPathComponent("log-level")
            try "info\n".write(to: levelFile, atomically: true, encoding: .utf8)
            let log = dir.appendingPathComponent("hearthd.log").path
            let logFD = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            // LISTEN_PID must be the daemon's own pid: the shell sets it to $$ and then becomes hearthd.
            let child = try ChildProcess.spawn("/bin/sh", [
                "-c", #"LISTEN_PID=$$ exec "$0" "$@""#, hearthd, "run", "--database-url", info.conninfo + " dbname=\(info.database)",
                "--state-dir", dir.appendingPathComponent("state").path, "--socket", socketPath, "--node-name", "notify-node",
                "--log-level-file", levelFile.path,
            ], environment: [
                "PATH": "/usr/bin:/bin", "NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000",
                "LISTEN_FDS": "1", "LISTEN_FDNAMES": "control",
            ], descriptors: [nil, logFD, logFD, listener])
            close(logFD)
            close(listener)
            defer { _ = child.signal(SIGKILL) }
            var seen: [[String: String]] = []

            let extend = notify.waitFor("EXTEND_TIMEOUT_USEC", timeout: 30, seen: &seen)
            #expect(extend?["STATUS"]?.hasPrefix("starting") == true, "\(seen)")
            let daemonLog = { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
            let ready = try #require(notify.waitFor("READY", timeout: 30, seen: &seen), "no READY=1: \(seen)\n\(daemonLog())")
            // READY=1 only once the inherited socket serves: the CLI is answered at once.
            let who = try await CLI.run(["whoami"], socket: socketPath)
            #expect(who.stdout.contains("root (uid 0), admin"), "\(who)")
            #expect(ready["STATUS"]?.range(of: #"^0 jobs running; node notify-node up; scheduler (leader|standby)$"#,
                                             options: .regularExpression) != nil, "\(ready)")
            #expect(!seen.dropLast().contains { $0["READY"] != nil }, "READY=1 sent twice: \(seen)")

            // The work loop pings at least every poll interval (2 s) — within WATCHDOG_USEC/2 … plus slack.
            var pings = 0
            let until = Date().addingTimeInterval(5)
            while Date() < until, let m = notify.next(timeout: until.timeIntervalSinceNow) {
                seen.append(m)
                if m["WATCHDOG"] == "1" { pings += 1 }
            }
            #expect(pings >= 2, "\(seen.suffix(10))")

            // Reload: RELOADING=1 with MONOTONIC_USEC, then READY=1; `hearthd reload` waits for it.
            try "debug\n".write(to: levelFile, atomically: true, encoding: .utf8)
            let reload = try await Scripts.run(hearthd, ["reload", "--pid", "\(child.pid)", "--state-dir", dir.appendingPathComponent("state").path])
            #expect(reload.status == .exited(0), "\(reload.output)")
            #expect(reload.output.contains("reloaded (generation 1)"))
            let reloading = notify.waitFor("RELOADING", timeout: 5, seen: &seen)
            #expect(reloading?["MONOTONIC_USEC"].flatMap { UInt64($0) } != nil, "\(seen.suffix(5))")
            #expect(notify.waitFor("READY", timeout: 5, seen: &seen) != nil)
            #expect(daemonLog().contains("reloaded: log level debug"))

            // A bad level is refused, and `hearthd reload` says so.
            try "loud\n".write(to: levelFile, atomically: true, encoding: .utf8)
            let bad = try await Scripts.run(hearthd, ["reload", "--pid", "\(child.pid)", "--state-dir", dir.appendingPathComponent("state").path])
            #expect(bad.status == .exited(1))
            #expect(bad.output.contains("says \"loud\", which is no log level"), "\(bad.output)")

            // SIGTERM: STOPPING=1 only at the very end, exit 0, and the inherited socket is left in place.
            _ = child.signal(SIGTERM)
            let stopping = notify.waitFor("STOPPING", timeout: 60, seen: &seen)
            #expect(stopping != nil, "\(seen.suffix(5))")
            #expect(await child.wait() == .exited(0))
            #expect(FileManager.default.fileExists(atPath: socketPath), "the inherited socket must never be unlinked")
            #expect(daemonLog().contains(" ready") && !daemonLog().contains("MESSAGE="), "plain lines outside the journal")
        }
    }
}

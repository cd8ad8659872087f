import Foundation
import HearthClient
import HearthProcess
import HearthTesting
import Testing

/// One hearthd per state directory, and a stopping daemon leaves alone a socket file that is no
/// longer the one it bound.
@Suite(.timeLimit(.minutes(10))) struct StateDirectoryLockTests {
    @Test func aSecondDaemonOnTheSameStateDirectoryIsRefusedAndStartsOnceTheFirstIsGone() async throws {
        try await TestDatabase.with { _, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-state-lock")
            defer { try? FileManager.default.removeItem(at: dir) }
            let first = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "locked", directory: dir)
            // The same state directory (DaemonProcess uses directory/nodeName), another socket.
            let hearthd = try #require(BuiltProducts.path("hearthd"))
            let logPath = dir.appendingPathComponent("second.log").path
            let fd = open(logPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            let second = try ChildProcess.spawn(hearthd, [
                "run", "--database-url", info.conninfo + " dbname=\(info.database)",
                "--state-dir", dir.appendingPathComponent("locked").path,
                "--socket", dir.appendingPathComponent("second.sock").path, "--node-name", "locked-too",
            ], descriptors: [nil, fd, fd])
            close(fd)
            let status = await second.wait()
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            #expect(status != .exited(0), "\(log)")
            #expect(log.contains("another hearthd (pid \(first.child.pid)) is using the state directory"), "\(log)")
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("second.sock").path))
            #expect(UnixSocket.accepts(first.socketPath), "the first daemon kept serving")
            // The same directory and the same socket: the socket is what it is told.
            let sameLog = dir.appendingPathComponent("same.log").path
            let sameFD = open(sameLog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            let same = try ChildProcess.spawn(hearthd, [
                "run", "--database-url", info.conninfo + " dbname=\(info.database)",
                "--state-dir", dir.appendingPathComponent("locked").path, "--socket", first.socketPath, "--node-name", "locked",
            ], descriptors: [nil, sameFD, sameFD])
            close(sameFD)
            #expect(await same.wait() != .exited(0))
            let sameText = (try? String(contentsOfFile: sameLog, encoding: .utf8)) ?? ""
            #expect(sameText.contains("another hearthd is already listening on \(first.socketPath)"), "\(sameText)")
            #expect(UnixSocket.accepts(first.socketPath), "the first daemon's socket is untouched")

            #expect(await first.stop() == .exited(0))
            let again = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "locked", directory: dir)
            #expect(await again.stop() == .exited(0))
        }
    }

    @Test func aStateDirectoryThatCannotBeMadeIsRefusedWithTheReason() async throws {
        let hearthd = try #require(BuiltProducts.path("hearthd"))
        let dir = try BuiltProducts.temporaryDirectory("hearth-state-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("a-file")
        #expect(FileManager.default.createFile(atPath: file.path, contents: Data()))
        for (stateDir, expected) in [(file.path, "the state directory \(file.path) is not a directory"),
                                     (file.path + "/below", "cannot create the state directory \(file.path)/below (at \(file.path)/below: Not a directory)")] {
            let logPath = dir.appendingPathComponent("log").path
            let fd = open(logPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            let child = try ChildProcess.spawn(hearthd, ["run", "--state-dir", stateDir, "--socket", dir.appendingPathComponent("s.sock").path],
                                               descriptors: [nil, fd, fd])
            close(fd)
            let status = await child.wait()
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            #expect(status != .exited(0) && log.contains(expected), "\(log)")
            #expect(!log.contains("NSCocoaErrorDomain"), "\(log)")
        }
    }

    @Test func aStoppingDaemonLeavesASocketFileThatIsNoLongerItsOwn() async throws {
        try await TestDatabase.with { _, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-socket-owner")
            defer { try? FileManager.default.removeItem(at: dir) }
            let daemon = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "owner", directory: dir)
            // What a second daemon does while this one stops: its own file at the same path.
            #expect(unlink(daemon.socketPath) == 0)
            #expect(FileManager.default.createFile(atPath: daemon.socketPath, contents: Data("another daemon's".utf8)))
            #expect(await daemon.stop() == .exited(0))
            #expect(FileManager.default.fileExists(atPath: daemon.socketPath), "the stopping daemon removed a file it did not bind")

            // Its own socket it still removes.
            try FileManager.default.removeItem(atPath: daemon.socketPath)
            let next = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "owner", directory: dir)
            #expect(await next.stop() == .exited(0))
            #expect(!FileManager.default.fileExists(atPath: next.socketPath), "a daemon's own socket is removed when it stops")
        }
    }
}

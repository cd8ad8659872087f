import Foundation
import HearthProcess
import HearthTesting

/// The repository's scripts and the built binaries, for tests that drive real system tools.
enum Scripts {
    /// The repository root (this file is Tests/HearthSystemdTests/Scripts.swift).
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func integration(_ name: String) -> String {
        repository.appendingPathComponent("Tests/Integration/\(name)").path
    }

    /// The directory holding the built hearthd, hearth and hearth-worker.
    static func buildDirectory() throws -> String {
        guard let hearthd = BuiltProducts.path("hearthd") else { throw TestProcessError("hearthd is not built (swift build)") }
        return URL(fileURLWithPath: hearthd).deletingLastPathComponent().path
    }

    /// Runs a program to its end; returns its status and combined output.
    static func run(_ program: String, _ arguments: [String], environment: [String: String]? = nil) async throws
        -> (status: ChildProcess.Termination, output: String)
    {
        let dir = try BuiltProducts.temporaryDirectory("hearth-script")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out").path
        let fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        let child = try ChildProcess.spawn(program, arguments, environment: environment, descriptors: [nil, fd, fd])
        close(fd)
        let status = await child.wait()
        return (status, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
    }

    /// The root user is needed for namespaces, cgroups and containers; CI runs as root.
    static func requireRoot() throws {
        guard geteuid() == 0 else {
            throw TestProcessError("this test needs root (unshare, cgroups, systemd-nspawn); CI runs `swift test` as root")
        }
    }
}

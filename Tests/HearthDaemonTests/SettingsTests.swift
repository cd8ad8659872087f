import Foundation
import HearthDaemon
import HearthProcess
import HearthTesting
import Testing

/// The settings merge (flags > environment > file > defaults) and its checks, which name the
/// setting, where it came from and the rule, before anything is written.
@Suite struct SettingsTests {
    private func resolve(_ flags: DaemonConfiguration.Flags, env: [String: String] = [:], file: ConfigFile? = nil) throws -> DaemonConfiguration {
        try DaemonConfiguration.resolve(flags: flags, environment: env, file: file, configFile: "/etc/hearth/hearthd.toml")
    }

    private func message(_ flags: DaemonConfiguration.Flags, env: [String: String] = [:], file: ConfigFile? = nil) -> String {
        do {
            _ = try resolve(flags, env: env, file: file)
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    @Test func artifactCollectionRunsHourlyByDefaultAndZeroTurnsItOff() throws {
        var flags = DaemonConfiguration.Flags()
        flags.stateDirectory = "/var/tmp/hearth-settings"
        let defaults = try resolve(flags)
        #expect(defaults.artifactCollectInterval == .seconds(3600) && defaults.artifactCollectGrace == .seconds(3600))
        var file = try ConfigFile.parse("artifact_collect_interval_minutes = 0\nartifact_collect_grace_minutes = 90\n", path: "t.toml")
        var c = try resolve(flags, file: file)
        #expect(c.artifactCollectInterval == nil && c.artifactCollectGrace == .seconds(5400))
        file.artifactCollectIntervalMinutes = 0.5
        c = try resolve(flags, file: file)
        #expect(c.artifactCollectInterval == .seconds(30))
    }

    @Test func flagsBeatEnvironmentBeatFileBeatDefaults() throws {
        var file = ConfigFile()
        file.socket = "/run/file.sock"
        file.slots = 5
        file.nodeName = "from-file"
        file.databaseURL = "host=/file"
        var flags = DaemonConfiguration.Flags()
        flags.stateDirectory = "/var/tmp/hearth-settings"
        var c = try resolve(flags, env: ["HEARTH_SOCKET": "/run/env.sock"], file: file)
        #expect(c.socketPath == "/run/env.sock" && c.slots == 5 && c.nodeName == "from-file" && c.database == .server("host=/file"))
        flags.socket = "/run/flag.sock"
        flags.slots = 3
        flags.databaseURL = "host=/flag"
        c = try resolve(flags, env: ["HEARTH_SOCKET": "/run/env.sock", "HEARTH_DATABASE_URL": "host=/env"], file: file)
        #expect(c.socketPath == "/run/flag.sock" && c.slots == 3 && c.database == .server("host=/flag"))
        c = try resolve(.init(), env: ["HEARTH_DATABASE_URL": "host=/env", "STATE_DIRECTORY": "/var/lib/x"], file: file)
        #expect(c.database == .server("host=/env") && c.stateDirectory.path == "/var/lib/x")
        c = try resolve(.init(), env: ["STATE_DIRECTORY": "/var/lib/x"])
        #expect(c.database == .embedded(stateDirectory: URL(fileURLWithPath: "/var/lib/x")))
        #expect(c.leaseDuration == .seconds(30) && c.heartbeatInterval == .seconds(5) && c.adminGroup == "hearth-admin" && c.donor == nil)
    }

    @Test func aBadValueIsNamedWithItsSourceAndRule() {
        var flags = DaemonConfiguration.Flags()
        flags.donor = "Alice"
        #expect(message(flags).hasPrefix("--donor \"Alice\" is not a valid account name: use 1 to 64 lower-case letters"))
        var file = ConfigFile()
        file.donor = "bob smith"
        #expect(message(.init(), file: file).hasPrefix("donor in /etc/hearth/hearthd.toml \"bob smith\" is not a valid account name"))
        flags = .init()
        flags.nodeName = "gpu box"
        #expect(message(flags).contains("--node-name \"gpu box\" is not a valid node name"))
        flags = .init()
        flags.socket = "relative.sock"
        #expect(message(flags) == "--socket \"relative.sock\" must be an absolute path")
        #expect(message(.init(), env: ["HEARTH_SOCKET": "/" + String(repeating: "s", count: 120)]).hasPrefix("HEARTH_SOCKET is 121 bytes long"))
        flags = .init()
        flags.databaseURL = "host=/x port"
        #expect(message(flags).hasPrefix("--database-url: invalid PostgreSQL connection string"))
        flags = .init()
        flags.heartbeatSeconds = 20
        #expect(message(flags).hasPrefix("the heartbeat (20.0 s) must be at most half of the lease (30 s)"))
        flags = .init()
        flags.worker = "/nonexistent/hearth-worker"
        #expect(message(flags) == "--worker /nonexistent/hearth-worker is not an executable file; point it at hearth-worker")
    }

    /// The whole path: `hearthd run --donor Alice` says so and exits 64 (EX_USAGE, which the unit
    /// does not restart) before it creates anything — no state directory, no cluster.
    @Test func hearthdRefusesABadDonorBeforeWritingAnything() async throws {
        let hearthd = try #require(BuiltProducts.path("hearthd"))
        let dir = try BuiltProducts.temporaryDirectory("hearth-settings")
        defer { try? FileManager.default.removeItem(at: dir) }
        let state = dir.appendingPathComponent("state")
        let err = dir.appendingPathComponent("err").path
        let fd = open(err, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        let child = try ChildProcess.spawn(hearthd, [
            "run", "--state-dir", state.path, "--socket", dir.appendingPathComponent("s.sock").path, "--donor", "Alice",
        ], environment: ["PATH": "/usr/bin:/bin"], descriptors: [nil, fd, fd])
        close(fd)
        #expect(await child.wait() == .exited(64))
        let text = try String(contentsOfFile: err, encoding: .utf8)
        #expect(text.contains("--donor \"Alice\" is not a valid account name"), "\(text)")
        #expect(!text.contains("accounts_name_check") && !FileManager.default.fileExists(atPath: state.path))
    }
}

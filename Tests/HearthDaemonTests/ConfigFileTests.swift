import Foundation
import HearthDaemon
import HearthScheduler
import Logging
import Testing

/// `hearthd.toml`: every key read with its type and range, and a bad file names the line and key.
@Suite struct ConfigFileTests {
    @Test func aFullFileSetsEveryKey() throws {
        let c = try ConfigFile.parse("""
            database_url = "host=db dbname=hearth"
            state_dir = "/srv/hearth"
            socket = "/run/hearth/hearth.sock"
            node_name = "gpu-box-1"
            donor = "alice"
            simulated_gpus = 2
            slots = 3
            admin_group = "wheel"
            worker = "/usr/lib/hearth/hearth-worker"
            lease_seconds = 40
            heartbeat_seconds = 2.5
            grace_seconds = 120
            log_level = "debug"

            [scheduler]
            fair_share_weight = 5000
            usage_half_life_hours = 24
            backfill = false
            min_run_before_preemption_seconds = 60
            """, path: "t.toml")
        #expect(c.databaseURL == "host=db dbname=hearth" && c.stateDirectory == "/srv/hearth" && c.nodeName == "gpu-box-1")
        #expect(c.donor == "alice" && c.simulatedGPUs == 2 && c.slots == 3 && c.adminGroup == "wheel")
        #expect(c.leaseSeconds == 40 && c.heartbeatSeconds == 2.5 && c.graceSeconds == 120 && c.logLevel == "debug")
        #expect(c.scheduler.fairShareWeight == 5000 && c.scheduler.usageHalfLife == 86_400)
        #expect(c.scheduler.backfill == false && c.scheduler.minRunBeforePreemption == 60)
        #expect(c.scheduler.ageWeight == SchedulerPolicy.default.ageWeight, "unset keys keep their defaults")
    }

    @Test func fifoOrderingIsPlainFirstComeFirstServed() throws {
        let c = try ConfigFile.parse("[scheduler]\nordering = \"fifo\"\n", path: "t.toml")
        #expect(c.scheduler == .fifo)
    }

    @Test(arguments: [
        ("slots = 2\nslot = 3\n", 2, "unknown key \"slot\"; did you mean slots?"),
        ("node_name = \"a\"\n\nslots = \"two\"\n", 3, "slots: expected a whole number"),
        ("lease_seconds = 10\nheartbeat_seconds = 6\n", 2, "at most half of lease_seconds"),
        ("log_level = \"loud\"\n", 1, "\"loud\" is not one of"),
        ("[scheduler]\nbackfil = true\n", 2, "[scheduler] unknown key \"backfill\"".replacingOccurrences(of: "\"backfill\"", with: "\"backfil\"")),
        ("[scheduler]\nage_weight = -1\n", 2, "[scheduler] age_weight: -1.0 is out of range"),
        ("slots = 2\nslots = 3\n", 2, "not valid TOML"),
        ("simulated_gpus = 65\n", 1, "65 is out of range; use 0 to 64"),
        ("slots = 1\nartifact_collect_grace_minutes = 5\n", 2, "artifact_collect_grace_minutes: 5.0 is out of range; use 10.0 to"),
    ])
    func aBadFileNamesTheLineAndKey(text: String, line: Int, message: String) throws {
        let error = #expect(throws: ConfigFile.Error.self) { try ConfigFile.parse(text, path: "/etc/hearth/hearthd.toml") }
        #expect(error?.line == line, "\(error?.description ?? "")")
        #expect(error?.description.hasPrefix("/etc/hearth/hearthd.toml:\(line): ") == true, "\(error?.description ?? "")")
        #expect(error?.message.contains(message) == true, "\(error?.description ?? "")")
    }

    @Test func aMissingFileIsAnErrorOnlyWhenNamed() throws {
        #expect(try ConfigFile.load(path: "/nonexistent/hearthd.toml", required: false) == nil)
        let error = #expect(throws: ConfigFile.Error.self) { try ConfigFile.load(path: "/nonexistent/hearthd.toml", required: true) }
        #expect(error?.description.contains("no such file") == true)
    }

    /// A reload (SIGHUP) re-reads the file's log_level; a file broken meanwhile keeps the old level.
    @Test func aReloadReadsTheLogLevelFromTheFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-reload-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("hearthd.toml").path
        var config = DaemonConfiguration(database: .server(""), stateDirectory: dir)
        config.configFile = path
        #expect(try config.readLogLevel(environment: [:]) == nil, "no file: nothing to change")
        try "log_level = \"debug\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try config.readLogLevel(environment: [:]) == .debug)
        #expect(try config.readLogLevel(environment: ["HEARTH_LOG_LEVEL": "info"]) == nil, "the environment wins")
        try "slots = 2\nlog_level = \"chatty\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        let error = #expect(throws: (any Error).self) { try config.readLogLevel(environment: [:]) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("hearthd.toml:2"), "\(String(describing: error))")
    }
}

/// `serve_bind_address`: the node admin's choice of where serve jobs listen, an IP literal.
@Suite struct ServeBindAddressConfigTests {
    @Test func anAddressIsReadAndAnythingElseIsRefusedWithItsLine() throws {
        #expect(try ConfigFile.parse("serve_bind_address = \"0.0.0.0\"", path: "t.toml").serveBindAddress == "0.0.0.0")
        #expect(try ConfigFile.parse("serve_bind_address = \"::1\"", path: "t.toml").serveBindAddress == "::1")
        #expect(try ConfigFile.parse("slots = 1", path: "t.toml").serveBindAddress == nil)
        do {
            _ = try ConfigFile.parse("slots = 1\nserve_bind_address = \"gpu-box.example\"", path: "t.toml")
            Issue.record("a host name was accepted as serve_bind_address")
        } catch {
            #expect(error.line == 2 && error.message.contains("\"gpu-box.example\" is not an IP address"), "\(error)")
        }
    }
}

import Foundation
import HearthAPI
import HearthClient
import HearthCore
import HearthProcess
import HearthStore
import HearthTesting
import Testing

/// `hearth cancel --user/--state/--name/--node` (scancel's filters), through the real CLI as real
/// Unix users against a real `hearthd`: a volunteer's filter reaches only their own jobs, an
/// admin's everyone's, queued jobs (an array's included) end at once and running ones are stopped
/// by their node.
@Suite(.serialized, .timeLimit(.minutes(10))) struct CancelByFilterTests {
    typealias Runner = AccessControlTests.Runner

    static func states(_ client: PostgresClient, _ ids: [Int64]) async throws -> [String] {
        try await client.query("SELECT state FROM jobs WHERE id = ANY (\(ids)::bigint[]) ORDER BY id").map { try $0.decode("state") }
    }

    @Test(.enabled(if: geteuid() == 0, "creating Unix users needs root; CI runs as root"))
    func filtersCancelWhatTheyMatchAndOnlyWhatTheCallerMay() async throws {
        try AccessControlTests.makeUsers()
        let cli = try AccessControlTests.reachableCLI()
        try await TestDatabase.with { client, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-cancel-filter")
            chmod(dir.path, 0o755)
            let daemon = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "cf", directory: dir)
            defer { daemon.child.signal(SIGKILL) }
            let hearth = Runner(cli: cli, socket: daemon.socketPath, scratch: dir)
            let waits = dir.appendingPathComponent("waits.json"), sleeps = dir.appendingPathComponent("sleeps.json")
            try #"{"argv": ["/bin/true"]}"#.write(to: waits, atomically: true, encoding: .utf8)
            try #"{"argv": ["/bin/sleep", "300"]}"#.write(to: sleeps, atomically: true, encoding: .utf8)
            chmod(waits.path, 0o644)
            chmod(sleeps.path, 0o644)
            let carol = AccessControlTests.carol, dave = AccessControlTests.dave

            // Jobs asking for 64 GPUs wait; the sleeper runs.
            var carolsSweep: [Int64] = [], davesSweep: [Int64] = []
            for _ in 0..<3 {
                carolsSweep.append(try hearth.submitted(try await hearth.carol(["submit", "--kind", "command", "--gpus", "64", "--name", "sweep", waits.path])))
            }
            for _ in 0..<2 {
                davesSweep.append(try hearth.submitted(try await hearth.dave(["submit", "--kind", "command", "--gpus", "64", "--name", "sweep", waits.path])))
            }
            let grid = try await hearth.carol(["submit", "--kind", "command", "--gpus", "64", "--name", "grid", "--array", "0-4", waits.path])
            let gridID = try #require(grid.stdout.split(separator: " ").dropFirst(2).first.flatMap { Int64($0) }, "\(grid.stdout)\(grid.stderr)")
            let sleeper = try hearth.submitted(try await hearth.carol(["submit", "--kind", "command", "--name", "long", sleeps.path]))
            let queue = JobQueue(client: client)
            try await EndToEndTests.waitUntil("carol's sleeper runs") { try await queue.job(sleeper)?.state == .running }

            // The listing takes the same name filter (everyone's jobs, as squeue --name).
            let listed = try await hearth.dave(["queue", "--name", "sweep"])
            #expect(listed.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: " ")[0] }
                        == (carolsSweep + davesSweep).sorted().map { Substring("\($0)") }, "\(listed.stdout)\(listed.stderr)")

            // Bad filters: a sentence, nothing changed.
            let before = try await AccessControlTests.snapshot(client)
            AccessControlTests.refused(try await hearth.dave(["cancel", "--user", carol]), "only admins can cancel another account's jobs")
            AccessControlTests.refused(try await hearth.carol(["cancel", "--state", "succeeded"]),
                                       "succeeded jobs have finished and cannot be cancelled; a cancel takes queued, scheduled, running")
            AccessControlTests.refused(try await hearth.carol(["cancel", "--state", "PENDING"]), "unknown state \"PENDING\"")
            AccessControlTests.refused(try await hearth.root(["cancel", "--user", "hearth-t-nobody"]), "no user \"hearth-t-nobody\"")
            AccessControlTests.refused(try await hearth.root(["cancel", "--node", "elsewhere"]), "no node named \"elsewhere\"")
            let nothing = try await hearth.carol(["cancel"])
            #expect(nothing.status == .exited(64) && nothing.stderr.contains("or a filter: --user, --state, --name or --node"), "\(nothing.stderr)")
            let both = try await hearth.carol(["cancel", "\(sleeper)", "--state", "running"])
            #expect(both.status == .exited(64) && both.stderr.contains("give job ids or a filter"), "\(both.stderr)")
            let none = try await hearth.carol(["cancel", "--name", "no-such-name"])
            #expect(none.status == .exited(0) && none.stdout == "no unfinished job matches --name no-such-name\n", "\(none.stdout)\(none.stderr)")
            #expect(try await AccessControlTests.snapshot(client) == before, "refused and empty filters changed nothing")

            // dave's filter reaches dave's jobs only, though carol's have the same name.
            let davesCancel = try await hearth.dave(["cancel", "--name", "sweep"])
            #expect(davesCancel.status == .exited(0) && davesCancel.stdout == "cancelled 2 jobs\n", "\(davesCancel.stdout)\(davesCancel.stderr)")
            #expect(try await Self.states(client, davesSweep) == ["cancelled", "cancelled"])
            #expect(try await Self.states(client, carolsSweep) == ["queued", "queued", "queued"])

            // carol's queued array, every element (those still in its template too), in one request.
            let gridCancel = try await hearth.carol(["cancel", "-t", "queued", "--name", "grid", "--json"])
            let gridReply = try APICoding.decoder().decode(CancelFilterResponse.self, from: Data(gridCancel.stdout.utf8))
            #expect(gridReply.cancelled == 5 && gridReply.requested == 0 && gridReply.matched.first == gridID, "\(gridCancel.stdout)")
            let gridStates = try await client.query("SELECT state FROM jobs WHERE array_id = \(gridID)").map { try $0.decode("state", as: String.self) }
            #expect(gridStates == Array(repeating: "cancelled", count: 5))

            // Her running job, by state: its node stops it.
            let running = try await hearth.carol(["cancel", "--state", "running"])
            #expect(running.stdout == "1 running: its node is stopping it\n", "\(running.stdout)\(running.stderr)")
            try await EndToEndTests.waitUntil("the sleeper is cancelled") { try await queue.job(sleeper)?.state == .cancelled }
            #expect(try await Self.states(client, carolsSweep) == ["queued", "queued", "queued"], "her queued jobs stayed")

            // An admin's filter reaches anyone's.
            let admin = try await hearth.root(["cancel", "--user", carol, "--node", "cf"])
            #expect(admin.stdout == "no unfinished job matches --user \(carol) --node cf\n", "queued jobs are on no node: \(admin.stdout)\(admin.stderr)")
            let rest = try await hearth.root(["cancel", "--user", carol])
            #expect(rest.status == .exited(0) && rest.stdout == "cancelled 3 jobs\n", "\(rest.stdout)\(rest.stderr)")
            #expect(try await Self.states(client, carolsSweep) == ["cancelled", "cancelled", "cancelled"])
            let events: Int = try await client.query("""
                SELECT count(*) AS n FROM job_events WHERE event = 'cancelled' AND to_state = 'cancelled'
                """)[0].decode("n")
            #expect(events == 11, "every cancelled job has its event (2 + 5 + 1 + 3)")
            let open: Int = try await client.query("SELECT count(*) AS n FROM jobs WHERE state NOT IN ('succeeded', 'failed', 'cancelled')")[0].decode("n")
            #expect(open == 0)
        }
    }

    /// `hearth cancel 12_[1-3,7]`: the elements `hearth queue` shows grouped, cancelled by their
    /// indexes in one request; an index the array lacks refuses the whole request.
    @Test func someElementsOfAnArrayAreCancelledByTheirIndexes() async throws {
        try await TestDatabase.with { client, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-cancel-elements")
            let daemon = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "ce", directory: dir)
            defer { daemon.child.signal(SIGKILL) }
            let spec = dir.appendingPathComponent("spec.json").path
            try #"{"argv": ["/bin/true"]}"#.write(toFile: spec, atomically: true, encoding: .utf8)
            let submitted = try await CLI.run(["submit", "--kind", "command", "--gpus", "64", "--array", "0-9", spec], socket: daemon.socketPath)
            let id = try #require(submitted.stdout.split(separator: " ").dropFirst(2).first.flatMap { Int64($0) }, "\(submitted.stdout)\(submitted.stderr)")
            func queued() async throws -> [Int] {
                try await client.query("SELECT array_index FROM jobs WHERE array_id = \(id) AND state = 'queued' ORDER BY array_index")
                    .map { try $0.decode("array_index") }
            }

            let some = try await CLI.run(["cancel", "\(id)_[1-3,7]"], socket: daemon.socketPath)
            #expect(some.status == .exited(0) && some.stdout == "\(id)_[1-3,7]: 4 cancelled\n", "\(some.stdout)\(some.stderr)")
            #expect(try await queued() == [0, 4, 5, 6, 8, 9])
            let listed = try await CLI.run(["queue"], socket: daemon.socketPath)
            #expect(listed.stdout.contains("\(id)_[0,4-6,8-9]"), "\(listed.stdout)")
            let overlapping = try await CLI.run(["cancel", "\(id)_[3-4]"], socket: daemon.socketPath)
            #expect(overlapping.stdout == "\(id)_[3-4]: 1 cancelled, 1 already finished\n", "\(overlapping.stdout)\(overlapping.stderr)")

            // Refused whole, with a sentence: indexes the array lacks, bad syntax, a % limit.
            let missing = try await CLI.run(["cancel", "\(id)_[8,12-15]"], socket: daemon.socketPath)
            #expect(missing.status == .exited(1) && missing.stderr.contains("array \(id) has no element 12-15; its elements are \(id)_[0-9]"),
                    "\(missing.stderr)")
            let backwards = try await CLI.run(["cancel", "\(id)_[5-1]"], socket: daemon.socketPath)
            #expect(backwards.status == .exited(64) && backwards.stderr.contains("\(id)_[5-1]: the range 5-1 goes backwards"), "\(backwards.stderr)")
            let limited = try await CLI.run(["cancel", "\(id)_[0-2%1]"], socket: daemon.socketPath)
            #expect(limited.status == .exited(64) && limited.stderr.contains("a % limit is given at submission"), "\(limited.stderr)")
            #expect(try await queued() == [0, 5, 6, 8, 9], "refusals cancelled nothing")
            let api = ControlClient(socketPath: daemon.socketPath)
            let wrongType = try api.request("POST", "/v1/arrays/\(id)/cancel", body: Data(#"{"indexes": 5}"#.utf8))
            #expect(wrongType.status == 400 && ControlAPITests.error(wrongType)?.message.contains("\"indexes\" must be a string") == true)
            let misspelt = try api.request("POST", "/v1/arrays/\(id)/cancel", body: Data(#"{"index": "5"}"#.utf8))
            #expect(misspelt.status == 400 && ControlAPITests.error(misspelt)?.message == "unknown field \"index\"; an array's cancel has indexes")
            for (body, sentence) in [(#"{"usr": "root"}"#, "unknown field \"usr\"; a cancel filter has name, node, states, user"),
                                     ("[1]", "the body must be a JSON object"), ("{}", "say which jobs to cancel"),
                                     (#"{"states": "queued"}"#, "a field has the wrong type"), (#"{"name": ""}"#, "\"name\" is empty")] {
                let reply = try api.request("POST", "/v1/jobs/cancel", body: Data(body.utf8))
                #expect(reply.status == 400 && ControlAPITests.error(reply)?.message.contains(sentence) == true,
                        "\(body): \(String(decoding: reply.body, as: UTF8.self))")
            }
            #expect(try await queued() == [0, 5, 6, 8, 9])

            // The rest by the array's id.
            let rest = try await CLI.run(["cancel", "\(id)"], socket: daemon.socketPath)
            #expect(rest.stdout == "array \(id): 5 cancelled, 5 already finished\n", "\(rest.stdout)\(rest.stderr)")
            let events: Int = try await client.query("""
                SELECT count(*) AS n FROM job_events WHERE event = 'cancelled' AND job_id IN (SELECT id FROM jobs WHERE array_id = \(id))
                """)[0].decode("n")
            #expect(events == 10, "one cancelled event per element")
        }
    }
}

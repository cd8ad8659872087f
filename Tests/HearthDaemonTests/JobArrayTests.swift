import Foundation
import HearthAPI
import HearthClient
import HearthCore
import HearthProcess
import HearthScheduler
@testable import HearthDaemon
import HearthStore
import HearthTesting
import Testing

/// Job arrays: Slurm's `--array` syntax, `{index}` substitution, one statement for the whole
/// array, the grouped listing, cancelling one element or all, and the `%N` limit as the
/// scheduler sees it. Also the listing's pages and the socket rule the CLI shares with the daemon.
@Suite(.serialized, .timeLimit(.minutes(10))) struct JobArrayTests {
    // MARK: Syntax (no database)

    @Test func slurmSyntaxIsParsed() throws {
        #expect(try ArraySpec(parsing: "0-3").indexes == [0, 1, 2, 3])
        #expect(try ArraySpec(parsing: "0-3").parallel == nil)
        #expect(try ArraySpec(parsing: "0-15:4").indexes == [0, 4, 8, 12])
        #expect(try ArraySpec(parsing: "1,3,5").indexes == [1, 3, 5])
        #expect(try ArraySpec(parsing: "7").indexes == [7])
        let mixed = try ArraySpec(parsing: "10-12,1,3-9:3%2")
        #expect(mixed.indexes == [1, 3, 6, 9, 10, 11, 12])
        #expect(mixed.parallel == 2)
        #expect(try ArraySpec(parsing: "0-999%10").indexes.count == 1000)
        #expect(try ArraySpec(parsing: "0-999%10").parallel == 10)
        #expect(try ArraySpec(parsing: "1,1,0-1").indexes == [0, 1], "duplicates count once")
        // In order and apart, out of order, overlapping: the same indexes, ascending, once each.
        #expect(try ArraySpec(parsing: "0-9:3,20-22,30").indexes == [0, 3, 6, 9, 20, 21, 22, 30])
        #expect(try ArraySpec(parsing: "20-22,0-9:3").indexes == [0, 3, 6, 9, 20, 21, 22])
        #expect(try ArraySpec(parsing: "0-5,3-7").indexes == Array(0...7))
        #expect(try ArraySpec(parsing: "0-8:4,8-9").indexes == [0, 4, 8, 9])
        // The limit counts distinct indexes, on either path.
        #expect(try ArraySpec(parsing: "0-9999").indexes.count == 10_000)
        #expect(try ArraySpec(parsing: "0-9999,0-9999").indexes.count == 10_000)
        #expect(throws: ArraySpec.SyntaxError.self) { try ArraySpec(parsing: "0-9999,10000") }
        #expect(throws: ArraySpec.SyntaxError.self) { try ArraySpec(parsing: "10000,0-9999") }
        #expect(try ArraySpec(parsing: "5,0-9999").indexes.count == 10_000, "5 is among 0-9999")
    }

    @Test func badArraysAreRefusedWithASentence() {
        let cases: [(String, String)] = [
            ("", "no indexes"),
            ("5-1", "goes backwards; write 1-5"),
            ("0-10%0", "limit after % must be a whole number of at least 1"),
            ("0-10%x", "limit after %"),
            ("0-10:0", "step after : must be a whole number of at least 1"),
            ("3:2", "has a step but no range"),
            ("1,,2", "empty item between commas"),
            ("-1", "not an index or a range"),
            ("a-b", "not an index or a range"),
            ("0-20000", "at most 10000 elements"),
            ("0-99999999", "indexes go from 0 to"),
        ]
        for (text, expected) in cases {
            do {
                _ = try ArraySpec(parsing: text)
                Issue.record("\"\(text)\" was accepted")
            } catch {
                #expect(error.message.contains(expected), "\"\(text)\": \(error.message)")
                #expect(error.message.contains("write ranges like 0-999"), "the sentence says how to write it")
            }
        }
    }

    @Test func indexesCompressAndReferencesParse() {
        #expect(ArraySpec.compress([0, 1, 2, 3, 7, 9, 10]) == "0-3,7,9-10")
        #expect(ArraySpec.compress([5]) == "5")
        #expect(ArraySpec.compress([]) == "")
        #expect(JobReference("12") == JobReference(id: 12))
        #expect(JobReference("12_7") == JobReference(id: 12, arrayIndex: 7))
        #expect(JobReference("12_") == nil)
        #expect(JobReference("0") == nil)
        #expect(JobReference("12_7_1") == nil)
        #expect(JobReference("x") == nil)
    }

    @Test func indexIsSubstitutedInSpecs() throws {
        let spec = #"{"seed":"{index}","out":"runs/lr-{index}/ckpt","keep":"{indexes}","n":3}"#
        let seven = ArraySpec.substitute(spec, index: 7)
        #expect(seven == #"{"seed":7,"out":"runs/lr-7/ckpt","keep":"{indexes}","n":3}"#)
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(seven.utf8))
        guard case .object(let o) = value else { Issue.record("not an object"); return }
        #expect(o["seed"] == .number(7), "a whole \"{index}\" becomes a number")
    }

    @Test func daemonAndCLIShareOneSocketRule() {
        let user: UInt32 = 1000
        let environments: [[String: String]] = [[:], ["XDG_RUNTIME_DIR": "/run/user/1000"], ["XDG_RUNTIME_DIR": ""]]
        for env in environments {
            // Whatever a daemon run by this user picks by default, the CLI of the same user finds it.
            let daemon = ControlSocketPath.forDaemon(uid: user, environment: env)
            #expect(ControlSocketPath.forClient(uid: user, environment: env, exists: { $0 == daemon }) == daemon, "\(env)")
            #expect(DaemonConfiguration.defaultSocketPath(environment: env.merging(["HEARTH_SOCKET": "/x.sock"]) { a, _ in a })
                    == "/x.sock")
        }
        // The daemon started without XDG_RUNTIME_DIR (/tmp/hearth-1000.sock) is found from a login shell that has it.
        let bare = ControlSocketPath.forDaemon(uid: user, environment: [:])
        #expect(bare == "/tmp/hearth-1000.sock")
        #expect(ControlSocketPath.forClient(uid: user, environment: ["XDG_RUNTIME_DIR": "/run/user/1000"], exists: { $0 == bare }) == bare)
        // Root's daemon is the system one, and the system socket wins when both exist.
        #expect(ControlSocketPath.forDaemon(uid: 0, environment: [:]) == ControlSocketPath.system)
        #expect(ControlSocketPath.forClient(uid: user, environment: [:], exists: { _ in true }) == ControlSocketPath.system)
        // Nothing exists: the error names the system socket.
        #expect(ControlSocketPath.forClient(uid: user, environment: [:], exists: { _ in false }) == ControlSocketPath.system)
        #expect(ControlSocketPath.forClient(uid: user, environment: ["HEARTH_SOCKET": "/s"], exists: { _ in false }) == "/s")
    }

    // MARK: Through the daemon

    static func call<T: Decodable>(_ api: ControlClient, _ method: String, _ path: String, _ body: String? = nil,
                                   as: T.Type, status: Int = 200) throws -> T {
        let reply = try api.request(method, path, body: body.map { Data($0.utf8) })
        #expect(reply.status == status, "\(method) \(path): \(String(decoding: reply.body, as: UTF8.self))")
        return try APICoding.decoder().decode(T.self, from: reply.body)
    }

    @Test func arraysAreQueuedListedGroupedAndCancelled() async throws {
        try await TestDatabase.with { client, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-arrays")
            // No GPUs here, so jobs asking for one stay queued.
            let daemon = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "arr", directory: dir)
            defer { daemon.child.signal(SIGKILL) }
            let api = ControlClient(socketPath: daemon.socketPath)

            let body = #"{"kind": "eval", "gpus": 1, "name": "lr-{index}", "spec": {"seed": "{index}", "out": "o/{index}"}, "array": "0-9:3,20-22%2"}"#
            let first = try Self.call(api, "POST", "/v1/arrays", body, as: JobView.self, status: 201)
            #expect(first.arraySize == 7)
            #expect(first.arrayID == first.id && first.arrayIndex == 0 && first.arrayParallel == 2)
            // The daemon writes elements after its answer; a listing through it waits for them.
            _ = try Self.call(api, "GET", "/v1/jobs?array=\(first.id)", as: [JobView].self)
            let rows = try await client.query("""
                SELECT array_index, name, spec::text AS spec, array_id FROM jobs WHERE array_id = \(first.id) ORDER BY id
                """)
            #expect(try rows.map { try $0.decode("array_index", as: Int.self) } == [0, 3, 6, 9, 20, 21, 22], "ids ascend with the index")
            #expect(try rows[4].decode("name", as: String.self) == "lr-20")
            #expect(try rows[4].decode("spec", as: String.self) == #"{"out": "o/20", "seed": 20}"#)
            let events: Int = try await client.query("""
                SELECT count(*) AS n FROM job_events WHERE event = 'submitted' AND job_id IN (SELECT id FROM jobs WHERE array_id = \(first.id))
                """)[0].decode("n")
            #expect(events == 7, "every element has its submitted event")

            // Refused whole: nothing is written.
            for bad in [#"{"kind": "eval", "array": "5-1"}"#, #"{"kind": "eval", "array": "0-3", "idempotency_key": "k"}"#,
                        #"{"kind": "eval", "array": "0-3", "gpu": 1}"#, #"{"kind": "nope", "array": "0-3"}"#] {
                let reply = try api.request("POST", "/v1/arrays", body: Data(bad.utf8))
                #expect(reply.status == 400, "\(bad)")
                #expect(ControlAPITests.error(reply)?.message.isEmpty == false)
            }
            let plain = try Self.call(api, "POST", "/v1/jobs", #"{"kind": "eval", "gpus": 1}"#, as: JobView.self, status: 201)
            let total: Int = try await client.query("SELECT count(*) AS n FROM jobs")[0].decode("n")
            #expect(total == 8, "refused arrays wrote nothing")

            // Grouped: one row for the array's queued elements, then the plain job.
            let grouped = try Self.call(api, "GET", "/v1/jobs?group=arrays", as: [JobView].self)
            #expect(grouped.map(\.displayID) == ["\(first.id)_[0,3,6,9,20-22]", "\(plain.id)"])
            let expanded = try Self.call(api, "GET", "/v1/jobs", as: [JobView].self)
            #expect(expanded.count == 8)
            #expect(expanded[1].displayID == "\(first.id)_3")

            // One element, then the whole array.
            let element = try Self.call(api, "GET", "/v1/arrays/\(first.id)/3", as: JobView.self)
            #expect(element.arrayIndex == 3 && element.id == first.id + 1)
            #expect(try api.request("GET", "/v1/arrays/\(first.id)/4").status == 404)
            let one = try Self.call(api, "POST", "/v1/jobs/\(element.id)/cancel", as: CancelResponse.self)
            #expect(one.outcome == "cancelled")
            let after = try Self.call(api, "GET", "/v1/jobs?group=arrays", as: [JobView].self)
            #expect(after.first?.arrayPending == "0,6,9,20-22")
            let all = try Self.call(api, "POST", "/v1/arrays/\(first.id)/cancel", as: ArrayCancelResponse.self)
            #expect(all.cancelled == 6 && all.alreadyFinished == 1 && all.requested == 0)
            let left = try Self.call(api, "GET", "/v1/jobs?group=arrays", as: [JobView].self)
            #expect(left.map(\.id) == [plain.id], "only the plain job is left")
            let cancelEvents: Int = try await client.query("""
                SELECT count(*) AS n FROM job_events WHERE to_state = 'cancelled' AND job_id IN (SELECT id FROM jobs WHERE array_id = \(first.id))
                """)[0].decode("n")
            #expect(cancelEvents == 7)
            #expect(try api.request("POST", "/v1/arrays/\(plain.id)/cancel").status == 404, "a plain job is no array")

            // The CLI: an array in one command, shown grouped, cancelled by its id.
            let spec = dir.appendingPathComponent("spec.json").path
            try #"{"seed": "{index}"}"#.write(toFile: spec, atomically: true, encoding: .utf8)
            let submitted = try await CLI.run(["submit", "--kind", "eval", "--gpus", "1", "--array", "0-4%2", spec], socket: daemon.socketPath)
            #expect(submitted.status == .exited(0), "\(submitted.stderr)")
            let arrayID = try #require(Int64(submitted.stdout.split(separator: " ")[2]))
            let queue = try await CLI.run(["queue"], socket: daemon.socketPath)
            #expect(queue.stdout.contains("\(arrayID)_[0-4]"), "\(queue.stdout)")
            let cancelOne = try await CLI.run(["cancel", "\(arrayID)_2"], socket: daemon.socketPath)
            #expect(cancelOne.stdout.contains("job \(arrayID)_2: cancelled"), "\(cancelOne.stdout)\(cancelOne.stderr)")
            // An element by its Slurm name, in every command that takes one job.
            let shown = try await CLI.run(["show", "\(arrayID)_2"], socket: daemon.socketPath)
            #expect(shown.status == .exited(0), "\(shown.stderr)")
            #expect(shown.stdout.contains("Job        \(arrayID + 2)\n") && shown.stdout.contains("Array      \(arrayID)_2 (at most 2 at once)")
                    && shown.stdout.contains("State      cancelled"), "\(shown.stdout)")
            let history = try await CLI.run(["logs", "\(arrayID)_2"], socket: daemon.socketPath)
            #expect(history.status == .exited(0) && history.stdout.contains("cancelled"), "\(history.stdout)\(history.stderr)")
            let why = try await CLI.run(["priority", "\(arrayID)_1"], socket: daemon.socketPath)
            #expect(why.status == .exited(0) && why.stdout.contains("Job        \(arrayID + 1) "), "\(why.stdout)\(why.stderr)")
            let held = try await CLI.run(["priority", "\(arrayID)_3"], socket: daemon.socketPath)
            #expect(held.status == .exited(1) && held.stderr.contains("(\(arrayID)_3) waits for its array's limit"), "\(held.stderr)")
            let results = try await CLI.run(["eval", "show", "\(arrayID)_4"], socket: daemon.socketPath)
            #expect(results.status == .exited(0) && results.stdout.contains("Job \(arrayID + 4) ") && results.stdout.contains("no results yet"),
                    "\(results.stdout)\(results.stderr)")
            let compared = try await CLI.run(["eval", "compare", "\(arrayID)_0", "\(arrayID)_1", "--json"], socket: daemon.socketPath)
            #expect(compared.status == .exited(0) && compared.stdout.contains("\"job\":\(arrayID)") && compared.stdout.contains("\"job\":\(arrayID + 1)"),
                    "\(compared.stdout)\(compared.stderr)")
            let stored = try await CLI.run(["checkpoints", "\(arrayID)_1"], socket: daemon.socketPath)
            #expect(stored.status == .exited(0) && stored.stdout.hasPrefix("STEP"), "\(stored.stdout)\(stored.stderr)")
            let missing = try await CLI.run(["show", "\(arrayID)_7"], socket: daemon.socketPath)
            #expect(missing.status == .exited(1) && missing.stderr.contains("array \(arrayID) has no element 7"), "\(missing.stderr)")
            // No such array: said so, not an empty table.
            let noArray = try await CLI.run(["queue", "--array", "987654"], socket: daemon.socketPath)
            #expect(noArray.status == .exited(1) && noArray.stderr.contains("no array 987654; an array's id is its first job's"), "\(noArray.stderr)")
            let noElement = try await CLI.run(["show", "987654_1"], socket: daemon.socketPath)
            #expect(noElement.status == .exited(1) && noElement.stderr.contains("no array 987654"), "\(noElement.stderr)")
            let malformed = try await CLI.run(["logs", "\(arrayID)_x"], socket: daemon.socketPath)
            #expect(malformed.status == .exited(64) && malformed.stderr.contains("is not a job: write a job id (12) or an array element (12_7)"),
                    "\(malformed.stderr)")
            // The array's first job also tells how far the array is.
            let head = try await CLI.run(["show", "\(arrayID)"], socket: daemon.socketPath)
            #expect(head.stdout.contains("Elements   5: 4 queued, 1 cancelled\n"), "\(head.stdout)\(head.stderr)")
            let elementShown = try await CLI.run(["show", "\(arrayID)_1"], socket: daemon.socketPath)
            #expect(!elementShown.stdout.contains("Elements"), "only the array's first job counts its elements")
            let regrouped = try await CLI.run(["queue"], socket: daemon.socketPath)
            #expect(regrouped.stdout.contains("\(arrayID)_[0-1,3-4]"), "\(regrouped.stdout)")
            let cancelAll = try await CLI.run(["cancel", "\(arrayID)"], socket: daemon.socketPath)
            #expect(cancelAll.stdout.contains("array \(arrayID): 4 cancelled, 1 already finished"), "\(cancelAll.stdout)")
            let bad = try await CLI.run(["submit", "--kind", "eval", "--array", "3-1", spec], socket: daemon.socketPath)
            #expect(bad.status == .exited(64) && bad.stderr.contains("goes backwards"), "\(bad.stderr)")
            let single = try await CLI.run(["submit", "--kind", "eval", "--gpus", "1", "--array", "5", spec], socket: daemon.socketPath)
            #expect(single.status == .exited(0) && single.stdout.hasSuffix(" (1 job)\n"), "\(single.stdout)\(single.stderr)")
            // A batch file: different jobs in one request, all or none.
            let batch = dir.appendingPathComponent("batch.json").path
            try #"{"jobs": [{"kind": "eval", "gpus": 1, "name": "b-0"}, {"kind": "eval", "gpus": 1, "name": "b-1"}]}"#
                .write(toFile: batch, atomically: true, encoding: .utf8)
            let batched = try await CLI.run(["submit", batch], socket: daemon.socketPath)
            #expect(batched.status == .exited(0) && batched.stdout.hasPrefix("submitted 2 jobs: "), "\(batched.stdout)\(batched.stderr)")
            let batchedNames = try await client.query("SELECT name FROM jobs WHERE name LIKE 'b-%' ORDER BY id").map { try $0.decode("name", as: String.self) }
            #expect(batchedNames == ["b-0", "b-1"])
            let flagged = try await CLI.run(["submit", "--gpus", "1", batch], socket: daemon.socketPath)
            #expect(flagged.status == .exited(64) && flagged.stderr.contains("give each job its fields there, not as flags"), "\(flagged.stderr)")
            try #"{"jobs": [{"kind": "eval", "name": "b-2"}, {"kind": "nope", "name": "b-3"}]}"#.write(toFile: batch, atomically: true, encoding: .utf8)
            let halfBad = try await CLI.run(["submit", batch], socket: daemon.socketPath)
            #expect(halfBad.status == .exited(1) && halfBad.stderr.contains("job 2 of the batch"), "\(halfBad.stderr)")
            let none: Int = try await client.query("SELECT count(*) AS n FROM jobs WHERE name IN ('b-2', 'b-3')")[0].decode("n")
            #expect(none == 0, "a refused batch queues none of its jobs")

            // A job file that is not JSON is refused before anything is sent, saying where.
            let broken = dir.appendingPathComponent("broken.json").path
            try "{\"seed\": 1,\n \"lr\": [0.1, \n".write(toFile: broken, atomically: true, encoding: .utf8)
            let unreadable = try await CLI.run(["submit", "--kind", "eval", broken], socket: daemon.socketPath)
            #expect(unreadable.status == .exited(64) && unreadable.stderr.contains("broken.json is not valid JSON: ")
                    && unreadable.stderr.contains("at line 3, column 1"), "\(unreadable.stderr)")
            let list = dir.appendingPathComponent("list.json").path
            try "[1, 2]".write(toFile: list, atomically: true, encoding: .utf8)
            let notObject = try await CLI.run(["submit", "--kind", "eval", list], socket: daemon.socketPath)
            #expect(notObject.status == .exited(64) && notObject.stderr.contains("list.json must hold one JSON object"), "\(notObject.stderr)")
        }
    }

    /// Each element of a command array runs with its index and its array's id in the
    /// environment (Slurm's SLURM_ARRAY_TASK_ID and SLURM_ARRAY_JOB_ID), `{index}` substituted.
    @Test func commandElementsRunWithTheirIndex() async throws {
        try await TestDatabase.with { _, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-array-run")
            let daemon = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "arr-run", directory: dir)
            defer { daemon.child.signal(SIGKILL) }
            let spec = dir.appendingPathComponent("echo.json").path
            try #"{"shell": "echo index=$HEARTH_ARRAY_INDEX array=$HEARTH_ARRAY_ID seed={index}"}"#
                .write(toFile: spec, atomically: true, encoding: .utf8)
            let submitted = try await CLI.run(["submit", "--kind", "command", "--gpus", "0", "--array", "0-4:2", "--name", "echo-{index}", spec],
                                              socket: daemon.socketPath)
            #expect(submitted.status == .exited(0), "\(submitted.stderr)")
            let arrayID = try #require(Int64(submitted.stdout.split(separator: " ")[2]), "\(submitted.stdout)")
            let api = ControlClient(socketPath: daemon.socketPath)
            try await EndToEndTests.waitUntil("the three elements finish", timeout: 120) {
                let jobs = try Self.call(api, "GET", "/v1/jobs?all=true&array=\(arrayID)", as: [JobView].self)
                return jobs.count == 3 && jobs.allSatisfy { $0.state.isTerminal }
            }
            // Ended jobs list the node they ran on, from the ledger (the job no longer holds one).
            let listed = try await CLI.run(["queue", "--all", "--array", "\(arrayID)"], socket: daemon.socketPath)
            let rows = listed.stdout.split(separator: "\n").dropFirst()
            #expect(rows.count == 3 && rows.allSatisfy { $0.contains(" succeeded ") && $0.contains(" arr-run ") }, "\(listed.stdout)")
            let asJSON = try Self.call(api, "GET", "/v1/jobs?all=true&array=\(arrayID)", as: [JobView].self)
            #expect(asJSON.map(\.lastNode) == ["arr-run", "arr-run", "arr-run"] && asJSON.allSatisfy { $0.node == nil })
            let counted = try Self.call(api, "GET", "/v1/jobs/\(arrayID)", as: JobView.self)
            #expect(counted.arrayStates == ["succeeded": 3], "\(String(describing: counted.arrayStates))")
            for index in [0, 2, 4] {
                let shown = try await CLI.run(["show", "\(arrayID)_\(index)"], socket: daemon.socketPath)
                #expect(shown.stdout.contains("echo-\(index)") && shown.stdout.contains("State      succeeded")
                        && shown.stdout.contains("Node       arr-run (its last attempt's)"), "\(shown.stdout)\(shown.stderr)")
                let logs = try await CLI.run(["logs", "\(arrayID)_\(index)"], socket: daemon.socketPath)
                #expect(logs.stdout.contains("index=\(index) array=\(arrayID) seed=\(index)"), "\(logs.stdout)\(logs.stderr)")
            }

            // --wrap: the command on the command line, no job file (sbatch --wrap), by the fast
            // path and by the parser.
            let wrapped = try await CLI.run(["submit", "--array", "1-2", "--wrap", "echo wrapped={index} env=$HEARTH_ARRAY_INDEX"],
                                            socket: daemon.socketPath)
            let wrappedID = try #require(Int64(wrapped.stdout.split(separator: " ").dropFirst(2).first ?? ""), "\(wrapped.stdout)\(wrapped.stderr)")
            let parsed = try await CLI.run(["submit", "--wrap", "echo parsed-wrap"], socket: daemon.socketPath,
                                           environment: ["HEARTH_CLI_PARSER": "always"])
            let parsedID = try #require(Int64(parsed.stdout.split(separator: " ").last?.filter(\.isNumber) ?? ""), "\(parsed.stdout)\(parsed.stderr)")
            try await EndToEndTests.waitUntil("the wrapped jobs finish", timeout: 120) {
                let jobs = try Self.call(api, "GET", "/v1/jobs?all=true&array=\(wrappedID)", as: [JobView].self)
                let one = try Self.call(api, "GET", "/v1/jobs/\(parsedID)", as: JobView.self)
                return jobs.count == 2 && jobs.allSatisfy { $0.state == .succeeded } && one.state == .succeeded
            }
            #expect(try Self.call(api, "GET", "/v1/jobs/\(parsedID)", as: JobView.self).kind == .command)
            for index in [1, 2] {
                let logs = try await CLI.run(["logs", "\(wrappedID)_\(index)"], socket: daemon.socketPath)
                #expect(logs.stdout.contains("wrapped=\(index) env=\(index)"), "\(logs.stdout)\(logs.stderr)")
            }
            let parsedLog = try await CLI.run(["logs", "\(parsedID)"], socket: daemon.socketPath)
            #expect(parsedLog.stdout.contains("parsed-wrap"), "\(parsedLog.stdout)")
            for (arguments, sentence) in [(["submit", "--wrap", "true", spec], "give it or a job file, not both"),
                                          (["submit", "--kind", "train", "--wrap", "true"], "--wrap makes a command job"),
                                          (["submit"], "give a job file, or --wrap \"COMMAND\"")] {
                let refused = try await CLI.run(arguments, socket: daemon.socketPath)
                #expect(refused.status == .exited(64) && refused.stderr.contains(sentence), "\(arguments): \(refused.stderr)")
            }
        }
    }

    @Test func listingPagesFollowTheCursor() async throws {
        try await TestDatabase.with { client, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-pages")
            let daemon = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "pages", directory: dir)
            defer { daemon.child.signal(SIGKILL) }
            let api = ControlClient(socketPath: daemon.socketPath)
            let jobs = (0..<25).map { _ in #"{"kind": "eval", "gpus": 1}"# }.joined(separator: ",")
            let queued = try Self.call(api, "POST", "/v1/jobs/batch", #"{"jobs": [\#(jobs)]}"#, as: [JobView].self, status: 201)
            #expect(queued.count == 25)
            let array = try Self.call(api, "POST", "/v1/arrays", #"{"kind": "eval", "gpus": 1, "array": "0-9"}"#, as: JobView.self, status: 201)
            // Pages of 10, grouped: 25 plain rows and one array row, each seen once, in order.
            var seen: [String] = []
            var path = "/v1/jobs?group=arrays&limit=10"
            var pages = 0
            while true {
                var next: String?
                var body: [UInt8] = []
                let status = try api.stream("GET", path, onHead: { _, headers in next = headers["hearth-next-cursor"] }) { body += $0 }
                #expect(status == 200)
                seen += try APICoding.decoder().decode([JobView].self, from: Data(body)).map(\.displayID)
                pages += 1
                guard let next else { break }
                path = "/v1/jobs?group=arrays&limit=10&after=\(next)"
            }
            #expect(pages == 3)
            #expect(seen == queued.map { "\($0.id)" } + ["\(array.id)_[0-9]"])
            #expect(try api.request("GET", "/v1/jobs?limit=0").status == 400)
            #expect(try api.request("GET", "/v1/jobs?after=x").status == 400)
            // A batch with one bad job writes none.
            let refused = try api.request("POST", "/v1/jobs/batch", body: Data(#"{"jobs": [{"kind": "eval"}, {"kind": "eval", "gpus": -1}]}"#.utf8))
            #expect(refused.status == 400)
            #expect(ControlAPITests.error(refused)?.message.contains("job 2 of the batch") == true)
            // Each job's fields are checked as one submission's are: a typo is refused, not ignored.
            for (body, message) in [
                (#"{"jobs": [{"kind": "eval"}, {"kind": "eval", "gpu": 1}]}"#, #"job 2 of the batch: unknown field "gpu""#),
                (#"{"jobs": [{"kind": "eval"}, 3]}"#, "job 2 of the batch: a submission must be a JSON object"),
                (#"{"jobs": [{"kind": "eval", "gpus": "one"}]}"#, #"job 1 of the batch: a field has the wrong type: "gpus" must be a whole number"#),
                (#"{"jobs": {"kind": "eval"}}"#, #""jobs" must be a list of submissions"#),
                (#"{"jobs": [], "extra": 1}"#, #"unknown field "extra"; a batch has jobs"#),
                (#"{"jobs": [{"kind": "eval"}"#, "the body is not valid JSON"),
            ] {
                let r = try api.request("POST", "/v1/jobs/batch", body: Data(body.utf8))
                #expect(r.status == 400, "\(body)")
                #expect(ControlAPITests.error(r)?.message.contains(message) == true, "\(body): \(String(describing: ControlAPITests.error(r)))")
            }
            let total: Int = try await client.query("SELECT count(*) AS n FROM jobs")[0].decode("n")
            #expect(total == 35)
        }
    }

    @Test func parallelLimitHoldsBackElementsBeyondIt() async throws {
        try await TestDatabase.with { client, _ in
            let queue = JobQueue(client: client)
            let account = try await AccountStore(client: client).ensure(name: "ann", uid: 1001)
            let node = try await NodeStore(client: client).register(hostname: "n", cpus: 4, memoryBytes: 8 << 30, gpus: [])
            let element = NewJob(kind: .eval, accountID: account)
            let jobs = try await queue.enqueueBatch(Array(repeating: element, count: 5), array: .init(indexes: [0, 1, 2, 3, 4], parallel: 2))
            let plain = try await queue.enqueue(NewJob(kind: .eval, accountID: account)).job
            let loader = SnapshotLoader(client: client, halfLife: 3600)
            func pending() async throws -> [Int64] { try await loader.load().snapshot.pending.map(\.id).sorted() }
            #expect(try await pending() == [jobs[0], jobs[1], plain.id], "two elements of %2, and the plain job")
            _ = try #require(try await queue.assign(jobID: jobs[0], nodeID: node, gpuIndices: []))
            #expect(try await pending() == [jobs[1], plain.id], "one placed: one more may start")
            _ = try await queue.cancel(jobID: jobs[1])
            #expect(try await pending() == [jobs[2], plain.id], "the next index takes the cancelled one's turn")
        }
    }
}

import Foundation
import HearthAPI
import HearthClient
import HearthProcess
import HearthStore
import HearthTesting
import Testing

/// `hearth queue`, `submit`, `cancel`, `nodes` and `whoami` take a parser-free path for plain arguments
/// (Sources/hearth/FastPath.swift). Held here to the parser's own output: every case runs both
/// ways against one real daemon (`HEARTH_CLI_PARSER=always` forces the parser, `never` forbids
/// it), and the jobs the two ways submit are compared column by column in the database.
@Suite(.serialized, .timeLimit(.minutes(10))) struct CLIFastPathTests {
    /// Runs `arguments` through the parser and through the fast path (which must take them);
    /// returns both results.
    static func both(_ arguments: [String], socket: String) async throws -> (parser: CLI.Result, fast: CLI.Result) {
        let parser = try await CLI.run(arguments, socket: socket, environment: ["HEARTH_CLI_PARSER": "always"])
        let fast = try await CLI.run(arguments, socket: socket, environment: ["HEARTH_CLI_PARSER": "never"])
        return (parser, fast)
    }

    /// Job ids differ between the two runs; everything else must not.
    static func withoutNumbers(_ text: String) -> String {
        text.replacingOccurrences(of: "[0-9]+", with: "N", options: .regularExpression)
    }

    @Test func plainQueueAndSubmitPrintWhatTheParserPrints() async throws {
        try await TestDatabase.with { client, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-fastpath")
            // No GPUs here: jobs asking for one stay queued, so both listings see the same queue.
            let daemon = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "fast", directory: dir)
            defer { daemon.child.signal(SIGKILL) }
            let socket = daemon.socketPath
            func file(_ name: String, _ text: String) throws -> String {
                let path = dir.appendingPathComponent(name).path
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                return path
            }
            // The daemon answers a new submission from the row it inserted: the same view as a read of it.
            let api = ControlClient(socketPath: socket)
            for (body, duplicate) in [(#"{"kind": "command", "gpus": 1, "name": "n", "time_limit": 60, "spec": {"argv": ["/bin/true"]}}"#, false),
                                      (#"{"kind": "command", "gpus": 1, "idempotency_key": "k", "spec": {"argv": ["/bin/true"]}}"#, false),
                                      (#"{"kind": "command", "gpus": 1, "idempotency_key": "k", "spec": {"argv": ["/bin/true"]}}"#, true)] {
                let posted = try api.request("POST", "/v1/jobs", body: Data(body.utf8))
                #expect(posted.status == 201)
                var answer = try APICoding.decoder().decode(JobView.self, from: posted.body)
                let read = try APICoding.decoder().decode(JobView.self, from: try api.request("GET", "/v1/jobs/\(answer.id)").body)
                #expect(answer.duplicate == duplicate, "\(answer)")
                answer.duplicate = nil
                #expect(answer == read)
            }
            let plain = try file("plain.json", #"{"argv": ["/bin/true"], "env": {"A": "1"}, "n": [1, 2.5, -3, true, null]}"#)
            let escaped = try file("escaped.json", "{\"argv\": [\"/bin/echo\", \"tab\\there \\\"q\\\" \\\\ /\"]}\n")
            // Declined by JSONScan (non-ASCII, \u escapes, exponents): JSONDecoder's path, same job.
            let unusual = try file("unusual.json", #"{"argv": ["/bin/echo", "héllo", "\u00e9"], "x": 1e3, "big": 12345678901234567890}"#)
            // Over JSONScan's 64 members (its duplicate check is a linear search): declined too.
            let wide = try file("wide.json", "{\"argv\": [\"/bin/true\"], " + (1...70).map { "\"k\($0)\": \($0)" }.joined(separator: ", ") + "}")

            // Submissions: each runs both ways; the outputs match but for the job ids.
            let submissions: [[String]] = [
                ["submit", "--kind", "command", "--gpus", "1", plain],
                ["submit", "--kind", "command", "--gpus=1", "--name", "a \"quoted\" name", "--priority=-5", escaped],
                ["submit", "--kind", "command", "--gpus", "1", "--qos", "low", "--max-attempts", "5", "--time-limit", "2h",
                 "--gpu-model", "A100", "--gpu-memory", "40", "--preemptible", unusual],
                ["submit", plain, "--kind", "command", "--gpus", "1", "--no-preemptible", "--after", "1", "--after", "2"],
                ["submit", "--kind", "command", "--gpus", "1", "--array", "0-4:2%1", "--name", "e{index}", plain],
                ["submit", "--kind", "command", "--gpus", "1", "--json", plain],
                ["submit", "--kind", "command", "--gpus", "1", wide],
            ]
            var pairs: [(Int64, Int64)] = []
            for arguments in submissions {
                let (parser, fast) = try await Self.both(arguments, socket: socket)
                #expect(parser.status == .exited(0), "\(arguments): \(parser.stderr)")
                #expect(fast.status == parser.status && fast.stderr == parser.stderr, "\(arguments): \(fast.stderr)")
                if arguments.contains("--json") {
                    let a = try #require(try JSONSerialization.jsonObject(with: Data(parser.stdout.utf8)) as? [String: Any])
                    let b = try #require(try JSONSerialization.jsonObject(with: Data(fast.stdout.utf8)) as? [String: Any])
                    #expect(Set(a.keys) == Set(b.keys) && b["state"] as? String == "queued")
                    pairs.append(((a["id"] as? NSNumber)?.int64Value ?? 0, (b["id"] as? NSNumber)?.int64Value ?? 0))
                    continue
                }
                #expect(Self.withoutNumbers(fast.stdout) == Self.withoutNumbers(parser.stdout), "\(arguments)")
                let ids = [parser.stdout, fast.stdout].map { out in
                    Int64(out.split(whereSeparator: { !$0.isNumber }).first.map(String.init) ?? "") ?? 0
                }
                pairs.append((ids[0], ids[1]))
            }
            // The same jobs, column by column (the fast path writes its request by hand).
            for (a, b) in pairs {
                let rows = try await client.query("""
                    SELECT id, row(kind, account_id, name, spec, priority, qos, gpus, max_attempts, after_ok, time_limit_seconds,
                                   preemptible, gpu_model, gpu_memory_bytes, array_index, array_parallel, state)::text AS r
                    FROM jobs WHERE id IN (\(a), \(b)) OR array_id IN (\(a), \(b)) ORDER BY array_id NULLS FIRST, id
                    """)
                let texts = try rows.map { try $0.decode("r", as: String.self) }
                #expect(texts.count >= 2 && texts.count % 2 == 0)
                let half = texts.count / 2
                #expect(Array(texts[..<half]) == Array(texts[half...]), "jobs \(a) and \(b) differ: \(texts)")
            }
            let escapedSpec = try await client.query("SELECT spec->'argv'->>1 AS s FROM jobs WHERE id = \(pairs[1].1)")[0]
                .decode("s", as: String.self)
            #expect(escapedSpec == "tab\there \"q\" \\ /")

            // Listings: identical bytes, headers and cursor lines included.
            let page = try await CLI.run(["queue", "--limit", "2"], socket: socket)
            let cursor = try #require(page.stderr.split(separator: "--after ").last?.split(separator: " ").first.map(String.init))
            for arguments in [["queue"], ["queue", "--expand"], ["queue", "-a", "-u", "root", "-t", "queued"], ["queue", "-s", "queued,running"], ["queue", "--json"],
                              ["queue", "--limit", "2"], ["queue", "--limit=2", "--after", cursor], ["queue", "--array", "\(pairs[4].1)"],
                              ["queue", "-n", "fast", "--all"], ["queue", "--limit", "0"], ["queue", "-t", "bogus"],
                              ["queue", "-u", "nobody-by-that-name"], ["queue", "-n", "nowhere"], ["queue", "-u", "daemon"],
                              ["queue", "--name", "a \"quoted\" name"], ["queue", "--name=e2", "--expand"]] {
                let (parser, fast) = try await Self.both(arguments, socket: socket)
                #expect(fast.status == parser.status && fast.stdout == parser.stdout && fast.stderr == parser.stderr,
                        "\(arguments): \(parser.status) \(fast.status)\n\(parser.stderr)\n\(fast.stderr)")
            }
            #expect(try await CLI.run(["queue", "--limit", "0"], socket: socket, environment: ["HEARTH_CLI_PARSER": "never"]).status == .exited(1),
                    "a daemon's refusal is exit 1 on the fast path too")
            // A misspelt user or node is named, as squeue -u does; a Unix user with no jobs yet is an empty table.
            let nobody = try await CLI.run(["queue", "-u", "nobody-by-that-name"], socket: socket)
            #expect(nobody.status == .exited(1) && nobody.stderr.contains("no user \"nobody-by-that-name\" here"), "\(nobody.stderr)")
            let nowhere = try await CLI.run(["queue", "-n", "nowhere"], socket: socket)
            #expect(nowhere.status == .exited(1) && nowhere.stderr.contains("no node named \"nowhere\""), "\(nowhere.stderr)")
            let idle = try await CLI.run(["queue", "-u", "daemon"], socket: socket)
            #expect(idle.status == .exited(0) && idle.stdout.hasPrefix("JOBID") && idle.stdout.split(separator: "\n").count == 1,
                    "\(idle.stdout)\(idle.stderr)")

            // Refused by the daemon after the fast path sent it: the daemon's sentence, exit 1.
            let (parserBad, fastBad) = try await Self.both(["submit", "--kind", "paint", plain], socket: socket)
            #expect(fastBad.status == .exited(1) && fastBad.stderr == parserBad.stderr && fastBad.stderr.contains("unknown job kind"))

            // Anything unusual is the parser's: help, usage errors, stdin. The fast path declines
            // (exit 70 under `never`), and by default the parser answers exactly as before.
            let notJSON = try file("not.json", "[1, 2]")
            let declined: [[String]] = [
                ["queue", "--help"], ["queue", "-h"], ["queue", "--bogus"], ["queue", "-u"], ["queue", "--limit", "x"],
                ["queue", "-au", "root"], ["queue", "extra"], ["queue", "-u", "a", "--user", "b"], ["queue", "--", "x"],
                ["submit", "--help"], ["submit", "--kind", "command", "--time-limit", "5x", plain],
                ["submit", "--kind", "command", "--array", "3-1", plain], ["submit", "--kind", "command", "/nonexistent.json"],
                ["submit", "--kind", "command", notJSON], ["submit", plain], ["submit", "--kind", "", plain],
                ["submit", "--kind", "command", "--gpus", "two", plain], ["submit", "--kind", "command", "-", plain],
                ["submit", "--kind", "command", "--preemptible", "--no-preemptible", plain], ["submit", "a.json", "b.json"],
            ]
            for arguments in declined {
                let never = try await CLI.run(arguments, socket: socket, environment: ["HEARTH_CLI_PARSER": "never"])
                #expect(never.status == .exited(70), "\(arguments) should be left to the parser: \(never.stderr)")
                let parser = try await CLI.run(arguments, socket: socket, environment: ["HEARTH_CLI_PARSER": "always"])
                let normal = try await CLI.run(arguments, socket: socket)
                #expect(normal.status == parser.status && Self.withoutNumbers(normal.stdout) == Self.withoutNumbers(parser.stdout)
                        && normal.stderr == parser.stderr, "\(arguments)")
            }
            let usage = try await CLI.run(["submit", "--kind", "command", "--time-limit", "5x", plain], socket: socket)
            #expect(usage.status == .exited(64) && usage.stderr.contains("is not a duration"))
            let help = try await CLI.run(["queue", "--help"], socket: socket)
            #expect(help.status == .exited(0) && help.stdout.contains("USAGE: hearth queue"))
        }
    }

    /// The tables the CLI prints and the daemon renders for it (`hearth nodes`) share one layout.
    @Test func textTablesAlignTheirColumnsAndWriteTimesAsSlurmDoes() {
        var table = TextTable(["A", "LONGER", "LAST"])
        table.add(["wide cell", "x", "end, not padded"])
        #expect(table.render() == "A          LONGER  LAST\nwide cell  x       end, not padded\n")
        #expect([0, 59, 61, 3_599, 3_661, 86_399, 90_061, -5].map(TextTable.duration)
                == ["0:00", "0:59", "1:01", "59:59", "1:01:01", "23:59:59", "1-01:01:01", "0:00"])
    }

    @Test func plainCancelNodesAndWhoamiPrintWhatTheParserPrints() async throws {
        try await TestDatabase.with { _, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-fastpath-more")
            let daemon = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "fast2", directory: dir)
            defer { daemon.child.signal(SIGKILL) }
            let socket = daemon.socketPath
            let api = ControlClient(socketPath: socket)
            func post(_ path: String, _ body: String) throws -> JobView {
                let reply = try api.request("POST", path, body: Data(body.utf8))
                #expect(reply.status == 201)
                return try APICoding.decoder().decode(JobView.self, from: reply.body)
            }
            // No GPUs here: these stay queued until cancelled.
            let jobs = try (0..<6).map { _ in try post("/v1/jobs", #"{"kind": "eval", "gpus": 1}"#).id }
            let arrays = try (0..<2).map { _ in try post("/v1/arrays", #"{"kind": "eval", "gpus": 1, "array": "0-3"}"#).id }

            // The same command on two runs: the parser's, then the fast path's.
            func same(_ arguments: [String], exact: Bool = true) async throws {
                let (parser, fast) = try await Self.both(arguments, socket: socket)
                let equal = exact ? fast.stdout == parser.stdout : Self.withoutNumbers(fast.stdout) == Self.withoutNumbers(parser.stdout)
                #expect(fast.status == parser.status && equal && fast.stderr == parser.stderr,
                        "\(arguments): \(parser.status) \(fast.status)\n\(parser.stdout)\(parser.stderr)\n\(fast.stdout)\(fast.stderr)")
            }
            // Twin commands on different jobs: the same output but for the ids.
            func twins(_ parserArguments: [String], _ fastArguments: [String]) async throws {
                let parser = try await CLI.run(parserArguments, socket: socket, environment: ["HEARTH_CLI_PARSER": "always"])
                let fast = try await CLI.run(fastArguments, socket: socket, environment: ["HEARTH_CLI_PARSER": "never"])
                #expect(parser.status == .exited(0) && fast.status == parser.status, "\(fastArguments): \(fast.stderr)")
                #expect(Self.withoutNumbers(fast.stdout) == Self.withoutNumbers(parser.stdout) && !fast.stdout.isEmpty,
                        "\(parser.stdout)\n\(fast.stdout)")
            }

            try await same(["whoami"])
            try await same(["whoami", "--json"])
            try await same(["nodes"], exact: false)  // LAST SEEN counts seconds
            // The daemon renders the table (GET /v1/nodes?format=table): header, one aligned row.
            let nodes = try await CLI.run(["nodes"], socket: socket)
            let lines = nodes.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 2 && lines[0] == "NODE   STATE  CPUS  MEMORY  GPUS  RUNNING  LAST SEEN", "\(nodes.stdout)")
            #expect(lines.count == 2 && lines[1].hasPrefix("fast2  up     ") && lines[1].hasSuffix(" ago"), "\(nodes.stdout)")
            #expect(try api.request("GET", "/v1/nodes?format=xml").status == 400)
            try await same(["nodes", "--json"], exact: false)
            for arguments in [["show", "\(jobs[0])"], ["show", "\(arrays[0])_1", "--json"], ["show", "999999"], ["show", "\(arrays[0])_9"],
                              ["logs", "\(jobs[1])"], ["logs", "--json", "\(arrays[1])_3"], ["logs", "-f", "999999"]] {
                try await same(arguments)
            }
            try await twins(["cancel", "\(jobs[0])"], ["cancel", "\(jobs[1])"])
            try await same(["cancel", "\(jobs[0])"])  // already cancelled: the same sentence
            try await twins(["cancel", "\(jobs[2])", "\(jobs[3])", "--json"], ["cancel", "\(jobs[4])", "\(jobs[5])", "--json"])
            try await twins(["cancel", "\(arrays[0])_2"], ["cancel", "\(arrays[1])_2"])
            try await twins(["cancel", "\(arrays[0])"], ["cancel", "\(arrays[1])"])
            let queue = try await CLI.run(["queue"], socket: socket)
            #expect(queue.stdout.split(separator: "\n").count == 1, "everything was cancelled: \(queue.stdout)")
            // A refusal: the daemon's sentence and exit 1 both ways.
            try await same(["cancel", "999999"])
            let refused = try await CLI.run(["cancel", "999999"], socket: socket, environment: ["HEARTH_CLI_PARSER": "never"])
            #expect(refused.status == .exited(1) && refused.stderr.contains("999999"), "\(refused.stderr)")

            // Left to the parser: its usage errors and help, word for word.
            for arguments in [["show"], ["show", "1", "2"], ["show", "x"], ["show", "--help"], ["logs", "1_x"], ["logs", "-x", "1"],
                              ["logs", "-f", "-f", "1"],
                              ["nodes", "extra"], ["nodes", "--help"], ["whoami", "--bogus"], ["cancel"], ["cancel", "x"],
                              ["cancel", "1", "--bogus"], ["cancel", "-1"], ["cancel", "--json", "--json", "1"]] {
                let never = try await CLI.run(arguments, socket: socket, environment: ["HEARTH_CLI_PARSER": "never"])
                #expect(never.status == .exited(70), "\(arguments) should be left to the parser: \(never.stderr)")
                let parser = try await CLI.run(arguments, socket: socket, environment: ["HEARTH_CLI_PARSER": "always"])
                let normal = try await CLI.run(arguments, socket: socket)
                #expect(normal.status == parser.status && normal.stdout == parser.stdout && normal.stderr == parser.stderr, "\(arguments)")
            }
        }
    }
}

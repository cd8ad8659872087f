import Foundation
import HearthAPI
import HearthClient
import HearthCore
import HearthProcess
import HearthStore
import HearthTesting
import Testing

/// Who may see and change what (Docs/security.md), through the real binaries as real Unix users:
/// root (an admin) and two volunteers, carol and dave, against a real `hearthd` on PostgreSQL.
/// Every attack is refused with a 4xx sentence and leaves the queue as it was.
@Suite(.serialized, .timeLimit(.minutes(10))) struct AccessControlTests {
    static let carol = "hearth-t-carol", dave = "hearth-t-dave"

    /// The volunteers (in group `hearth`, which may use the socket), created once; idempotent.
    static func makeUsers() throws {
        func run(_ program: String, _ args: [String]) throws {
            _ = try ChildProcess.spawn(program, args, descriptors: [nil, nil, nil]).waitBlocking()
        }
        if getgrnam("hearth") == nil { try run("/usr/sbin/groupadd", ["--system", "hearth"]) }
        for user in [carol, dave] where getpwnam(user) == nil {
            try run("/usr/sbin/useradd", ["--no-create-home", "--shell", "/usr/sbin/nologin", user])
        }
        for user in [carol, dave] { try run("/usr/sbin/usermod", ["-a", "-G", "hearth", user]) }
        guard getpwnam(carol) != nil, getpwnam(dave) != nil else {
            throw TestProcessError("could not create the test users (the tests run as root in CI)")
        }
    }

    /// The `hearth` CLI copied where the volunteers can run it (the checkout's parents may be 0700).
    static func reachableCLI() throws -> String {
        guard let built = BuiltProducts.path("hearth") else { throw TestProcessError("hearth is not built (swift build)") }
        let dir = "/var/tmp/hearth-authz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        chmod(dir, 0o755)
        let copy = dir + "/hearth"
        if !FileManager.default.fileExists(atPath: copy) { try FileManager.default.copyItem(atPath: built, toPath: copy) }
        chmod(copy, 0o755)
        return copy
    }

    /// Runs `hearth ARGS --socket S`, as `user` (through runuser) or as root.
    struct Runner {
        let cli: String
        let socket: String
        let scratch: URL

        struct Result {
            var status: ChildProcess.Termination
            var stdout: String
            var stderr: String
        }

        func callAs(_ user: String?, _ arguments: [String]) async throws -> Result {
            let name = UUID().uuidString.prefix(8)
            let out = scratch.appendingPathComponent("\(name).out").path, err = scratch.appendingPathComponent("\(name).err").path
            let o = open(out, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644), e = open(err, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
            let args = arguments + ["--socket", socket]
            let child = try ChildProcess.spawn(
                user == nil ? cli : "/usr/sbin/runuser", user == nil ? args : ["-u", user!, "--", cli] + args,
                environment: ["PATH": "/usr/bin:/bin", "NO_COLOR": "1"], descriptors: [nil, o, e])
            close(o)
            close(e)
            let status = await child.wait()
            defer { unlink(out); unlink(err) }
            return Result(status: status, stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                              stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
        }

        func carol(_ arguments: [String]) async throws -> Runner.Result { try await callAs(AccessControlTests.carol, arguments) }
        func dave(_ arguments: [String]) async throws -> Runner.Result { try await callAs(AccessControlTests.dave, arguments) }
        func root(_ arguments: [String]) async throws -> Runner.Result { try await callAs(nil, arguments) }

        /// The id in "submitted job N".
        func submitted(_ r: Runner.Result) throws -> Int64 {
            guard r.status == .exited(0), let id = r.stdout.split(separator: " ").last.flatMap({ Int64($0.trimmingCharacters(in: .newlines)) }) else {
                throw TestProcessError("submission failed: \(r.stdout) \(r.stderr)")
            }
            return id
        }
    }

    /// Every job row a refused request must leave as it was, and the grants.
    static func snapshot(_ client: PostgresClient) async throws -> [String] {
        let jobs = try await client.query("""
            SELECT row(id, account_id, state, priority, qos, preemptible, spec, cancel_requested_at, attempt)::text AS r
            FROM jobs ORDER BY id
            """)
        let grants = try await client.query("SELECT row(id, account_id, project_id, privilege)::text AS r FROM grants ORDER BY id")
        return try jobs.map { try $0.decode("r", as: String.self) } + grants.map { try $0.decode("r", as: String.self) }
    }

    /// `r` was refused by the daemon (exit 1) with a message containing each of `parts`.
    static func refused(_ r: Runner.Result, _ parts: String..., sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == .exited(1), "expected a refusal, got \(r.status): \(r.stdout)", sourceLocation: sourceLocation)
        for part in parts {
            #expect(r.stderr.contains(part), "\"\(part)\" not in: \(r.stderr)", sourceLocation: sourceLocation)
        }
    }

    @Test(.enabled(if: geteuid() == 0, "creating Unix users needs root; CI runs as root"))
    func volunteersSeeAndChangeOnlyWhatIsTheirs() async throws {
        try Self.makeUsers()
        let cli = try Self.reachableCLI()
        try await TestDatabase.with { client, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-authz")
            chmod(dir.path, 0o755)
            let worker = try #require(BuiltProducts.path("hearth-worker"))
            let data = try JobRunnerTests.Fixture.prepareData(worker: worker, in: dir)
            // The node admin's bind address for serve jobs (another loopback address, so the test
            // sees that it is this setting, not the default, that the worker used).
            let config = dir.appendingPathComponent("hearthd.toml")
            try "serve_bind_address = \"127.0.0.2\"\n".write(to: config, atomically: true, encoding: .utf8)
            let daemon = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "authz", directory: dir,
                                           extraArguments: ["--config", config.path, "--heartbeat-seconds", "0.5", "--lease-seconds", "5"])
            defer { daemon.child.signal(SIGKILL) }
            let hearth = Runner(cli: cli, socket: daemon.socketPath, scratch: dir)
            let queue = JobQueue(client: client)

            // carol trains a model; it succeeds and has a log.
            let trainSpec = dir.appendingPathComponent("train.json")
            try EndToEndTests.spec(data, steps: 20).write(to: trainSpec, atomically: true, encoding: .utf8)
            chmod(trainSpec.path, 0o644)
            let train = try hearth.submitted(try await hearth.carol(["submit", "--kind", "train", "--name", "carols-model", trainSpec.path]))
            try await EndToEndTests.waitUntil("carol's job succeeded") { try await queue.job(train)?.state == .succeeded }
            let checkpoint = try #require(try await queue.latestCheckpoint(jobID: train))

            // The listing shows every job's name and state, as squeue does.
            let listing = try await hearth.dave(["queue", "--all"])
            #expect(listing.stdout.contains("carols-model") && listing.stdout.contains("succeeded"), "\(listing.stderr)")

            // Her own log, details and results are hers to read.
            let ownLog = try await hearth.carol(["logs", "\(train)"])
            #expect(ownLog.status == .exited(0) && ownLog.stdout.contains("succeeded"), "\(ownLog.stderr)")
            #expect(try await hearth.carol(["show", "\(train)"]).status == .exited(0))
            let ownResults = try await hearth.carol(["eval", "show", "\(train)"])
            #expect(ownResults.status == .exited(0) && ownResults.stdout.contains("only eval jobs record results"), "\(ownResults.stderr)")

            // dave cannot read them.
            var before = try await Self.snapshot(client)
            Self.refused(try await hearth.dave(["logs", "\(train)"]),
                         "job \(train) belongs to \(Self.carol); only its owner and admins may read its log")
            Self.refused(try await hearth.dave(["show", "\(train)"]), "job \(train) belongs to \(Self.carol); only its owner and admins may read its details")
            Self.refused(try await hearth.dave(["eval", "show", "\(train)"]), "only its owner and admins may read its evaluation results")
            // ...nor cancel, nor use its checkpoint through a reference, alone or in a pipeline.
            let queuedSpec = dir.appendingPathComponent("queued.json")
            try #"{"argv": ["/bin/true"]}"#.write(to: queuedSpec, atomically: true, encoding: .utf8)
            chmod(queuedSpec.path, 0o644)
            let carolsQueued = try hearth.submitted(try await hearth.carol(["submit", "--kind", "command", "--gpus", "64", "--name", "waits", queuedSpec.path]))
            let arrayRun = try await hearth.carol(["submit", "--kind", "command", "--gpus", "64", "--array", "0-2", queuedSpec.path])
            let parts = arrayRun.stdout.split(separator: " ")
            let carolsArray = try #require(parts.count > 2 ? Int64(parts[2]) : nil, "\(arrayRun.stdout) \(arrayRun.stderr)")
            var elementRow: Int64?
            for _ in 0..<1200 where elementRow == nil {  // the daemon writes the elements right after answering
                elementRow = try await client.query(
                    "SELECT id FROM jobs WHERE array_id = \(carolsArray) AND array_index = 1").first?.decode("id", as: Int64.self)
                if elementRow == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            let element = try #require(elementRow, "array \(carolsArray)'s element 1 was never written")
            before = try await Self.snapshot(client)
            Self.refused(try await hearth.dave(["cancel", "\(carolsQueued)"]), "only its owner or a fleet admin can cancel it")
            // An element's refusal says which element the job id it names is.
            Self.refused(try await hearth.dave(["cancel", "\(carolsArray)_1"]),
                         "\(carolsArray)_1 (job \(element)):", "only its owner or a fleet admin can cancel it")
            Self.refused(try await hearth.dave(["cancel", "\(carolsArray)"]), "only its owner or a fleet admin can cancel it")
            let stealing = dir.appendingPathComponent("steal.json")
            try #"{"checkpoint": "@job:\#(train):path", "tokenizer": "\#(data)/tokenizer.json"}"#
                .write(to: stealing, atomically: true, encoding: .utf8)
            chmod(stealing.path, 0o644)
            Self.refused(try await hearth.dave(["submit", "--kind", "serve", stealing.path]),
                         "the spec refers to job \(train), which belongs to \(Self.carol)")
            let stealPipeline = dir.appendingPathComponent("steal-pipeline.json")
            try #"""
                {"steps": [{"name": "ok", "kind": "command", "spec": {"argv": ["/bin/true"]}},
                           {"name": "steal", "kind": "eval", "spec": {"checkpoint": "@job:\#(train):path", "tasks": ["lambada"]}}]}
                """#.write(to: stealPipeline, atomically: true, encoding: .utf8)
            chmod(stealPipeline.path, 0o644)
            Self.refused(try await hearth.dave(["submit", stealPipeline.path]), "step \"steal\"", "belongs to \(Self.carol)")
            let afterRefusals = try await Self.snapshot(client)
            #expect(afterRefusals == before,
                    "a refused request changed the queue: \(Set(before).symmetricDifference(afterRefusals).sorted())")
            _ = try await hearth.carol(["cancel", "\(carolsQueued)", "\(carolsArray)"])

            // QOS, priority and preemptibility beyond the defaults need a grant.
            before = try await Self.snapshot(client)
            Self.refused(try await hearth.dave(["submit", "--kind", "command", "--qos", "high", queuedSpec.path]),
                         "QOS high is not granted to \(Self.dave); you may use low, normal;",
                         "`hearth grant qos high --account \(Self.dave)`")
            Self.refused(try await hearth.dave(["submit", "--kind", "command", "--qos", "serving", queuedSpec.path]), "QOS serving is not granted")
            Self.refused(try await hearth.dave(["submit", "--kind", "command", "--priority", "1000", queuedSpec.path]),
                         "priority 1000 is above 0; volunteers may lower their jobs' priority")
            Self.refused(try await hearth.dave(["submit", "--kind", "command", "--no-preemptible", queuedSpec.path]),
                         "(preemptible: false) is not granted to \(Self.dave)", "hearth grant non-preemptible")
            let greedyPipeline = dir.appendingPathComponent("greedy.json")
            try #"""
                {"steps": [{"name": "a", "kind": "command", "spec": {"argv": ["/bin/true"]}},
                           {"name": "b", "kind": "command", "qos": "high", "after": ["a"], "spec": {"argv": ["/bin/true"]}}]}
                """#.write(to: greedyPipeline, atomically: true, encoding: .utf8)
            chmod(greedyPipeline.path, 0o644)
            Self.refused(try await hearth.dave(["submit", greedyPipeline.path]), "step \"b\": QOS high is not granted")
            // Arrays and batches go through the same checks, element by element.
            Self.refused(try await hearth.dave(["submit", "--kind", "command", "--qos", "high", "--array", "0-3", queuedSpec.path]),
                         "element 0: QOS high is not granted to \(Self.dave)")
            Self.refused(try await hearth.dave(["submit", "--kind", "command", "--priority", "5", "--array", "0-3", queuedSpec.path]),
                         "priority 5 is above 0")
            Self.refused(try await hearth.dave(["grant", "qos", "high", "--account", Self.dave]), "only admins can grant privileges")
            #expect(try await Self.snapshot(client) == before, "a refused submission changed the queue or the grants")
            // Lowering is always allowed.
            let humble = try hearth.submitted(try await hearth.dave(["submit", "--kind", "command", "--priority=-5", "--qos", "low", queuedSpec.path]))
            #expect(try await queue.job(humble)?.priority == -5)

            // An admin grants carol QOS high; then she may use it, and dave still may not.
            let granted = try await hearth.root(["grant", "qos", "high", "--account", Self.carol])
            #expect(granted.status == .exited(0) && granted.stdout.contains("qos-high to account \(Self.carol) (by root)"), "\(granted.stderr)")
            let high = try hearth.submitted(try await hearth.carol(["submit", "--kind", "command", "--qos", "high", queuedSpec.path]))
            #expect(try await queue.job(high)?.qos == .high)
            Self.refused(try await hearth.dave(["submit", "--kind", "command", "--qos", "high", queuedSpec.path]), "QOS high is not granted")
            let carolsGrants = try await hearth.carol(["grants"])
            #expect(carolsGrants.stdout.contains("qos-high") && carolsGrants.stdout.contains("root"), "\(carolsGrants.stderr)")
            #expect(!(try await hearth.dave(["grants"])).stdout.contains("qos-high"))
            Self.refused(try await hearth.dave(["grants", "--account", Self.carol]), "volunteers can list only the grants that apply to them")
            Self.refused(try await hearth.carol(["revoke", "qos", "high", "--account", Self.carol]), "only admins can revoke grants")
            let revoked = try await hearth.root(["revoke", "qos", "high", "--account", Self.carol])
            #expect(revoked.status == .exited(0) && revoked.stdout.contains("revoked grant"), "\(revoked.stderr)")
            Self.refused(try await hearth.carol(["submit", "--kind", "command", "--qos", "high", queuedSpec.path]), "QOS high is not granted")

            // A project: dave and carol are members; carol's project job is theirs to read, and a
            // grant to the project reaches its members.
            try await client.query("INSERT INTO projects (name) VALUES ('nlp')")
            for user in [Self.carol, Self.dave] {
                try await client.query("""
                    INSERT INTO project_members (project_id, account_id)
                    SELECT p.id, a.id FROM projects p, accounts a WHERE p.name = 'nlp' AND a.name = \(user)
                    """)
            }
            let nlp: Int64 = try await client.query("SELECT id FROM projects WHERE name = 'nlp'")[0].decode("id")
            let carolID = try #require(try await AccountStore(client: client).id(named: Self.carol))
            let shared = try await queue.enqueue(NewJob(kind: .command, accountID: carolID, projectID: nlp, name: "shared")).job.id
            #expect(try await hearth.dave(["show", "\(shared)"]).status == .exited(0))
            #expect(try await hearth.dave(["logs", "\(shared)"]).status == .exited(0))
            // Its empty spec fails and is retried: ended now, it cannot move between the snapshots
            // the refusals below are checked against (on a loaded machine it did).
            #expect(try await hearth.carol(["cancel", "\(shared)"]).status == .exited(0))
            try await EndToEndTests.waitUntil("the shared job ended") { try await queue.job(shared)?.state.isTerminal == true }
            Self.refused(try await hearth.dave(["show", "\(train)"]), "only its owner and admins may read its details")
            Self.refused(try await hearth.dave(["grant", "non-preemptible", "--project", "nlp"]), "only admins")
            #expect(try await hearth.root(["grant", "non-preemptible", "--project", "nlp"]).status == .exited(0))
            let firm = try hearth.submitted(try await hearth.dave(["submit", "--kind", "command", "--no-preemptible", queuedSpec.path]))
            #expect(try await queue.job(firm)?.preemptible == false)
            _ = try await hearth.root(["revoke", "non-preemptible", "--project", "nlp"])

            // A job that slipped past submission (queued directly) cannot use another's results
            // either: it fails as it starts, saying why.
            let daveID = try #require(try await AccountStore(client: client).id(named: Self.dave))
            let sneaky = try await queue.enqueue(NewJob(
                kind: .eval, accountID: daveID, specJSON: #"{"checkpoint": "@job:\#(train):path", "tasks": ["lambada"]}"#)).job.id
            try await EndToEndTests.waitUntil("the sneaky job failed") { try await queue.job(sneaky)?.state == .failed }
            #expect(try await queue.job(sneaky)?.lastError?.contains("belongs to \(Self.carol)") == true)

            // Serving: the spec may not choose the bind address; the endpoint needs its key, which
            // only carol (and admins) can see; without the grant her serve job is preemptible.
            let hosted = dir.appendingPathComponent("hosted.json")
            try #"{"checkpoint": "\#(checkpoint.path)", "tokenizer": "\#(data)/tokenizer.json", "host": "0.0.0.0"}"#
                .write(to: hosted, atomically: true, encoding: .utf8)
            chmod(hosted.path, 0o644)
            Self.refused(try await hearth.carol(["submit", "--kind", "serve", hosted.path]),
                         "cannot choose its bind address", "serve_bind_address in hearthd.toml")
            let serveSpec = dir.appendingPathComponent("serve.json")
            try #"{"checkpoint": "@job:\#(train):path", "tokenizer": "\#(data)/tokenizer.json", "port": 0}"#
                .write(to: serveSpec, atomically: true, encoding: .utf8)
            chmod(serveSpec.path, 0o644)
            let serve = try hearth.submitted(try await hearth.carol(["submit", "--kind", "serve", "--name", "carols-api", serveSpec.path]))
            #expect(try await queue.job(serve)?.preemptible == true)
            var endpoints: [EndpointView] = []
            try await EndToEndTests.waitUntil("carol's endpoint serves", timeout: 60) {
                let r = try await hearth.carol(["endpoints", "--json"])
                endpoints = (try? APICoding.decoder().decode([EndpointView].self, from: Data(r.stdout.utf8))) ?? []
                return !endpoints.isEmpty
            }
            let endpoint = try #require(endpoints.first)
            let key = try #require(endpoint.apiKey)
            #expect(endpoint.jobID == serve && key.hasPrefix("hk-") && endpoint.url.hasPrefix("http://127.0.0.2:"), "\(endpoint.url)")
            let table = try await hearth.carol(["endpoints"])
            #expect(table.stdout.contains("KEY") && table.stdout.contains(key))
            let rootView = try await hearth.root(["endpoints", "--json"])
            #expect(rootView.stdout.contains(key), "admins see every key")

            before = try await Self.snapshot(client)
            let daves = try await hearth.dave(["endpoints", "--json"])
            #expect(daves.status == .exited(0) && daves.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
            #expect(!(try await hearth.dave(["endpoints"])).stdout.contains(key))
            Self.refused(try await hearth.dave(["generate", "\(serve)", "the", "--max-tokens", "2"]),
                         "job \(serve) belongs to \(Self.carol); only its owner and admins may read its endpoint")
            let after = try await Self.snapshot(client)
            #expect(after == before, "a refused request changed the queue: \(Set(before).symmetricDifference(after).sorted())")

            let generated = try await hearth.carol(["generate", "\(serve)", "the", "--max-tokens", "3", "--temperature", "0"])
            #expect(generated.status == .exited(0) && generated.stdout.hasPrefix("the"), "\(generated.stderr)")
            let body = Data(#"{"prompt": "the", "max_tokens": 2, "stream": true}"#.utf8)
            for bearer in [nil, "hk-wrong", String(key.dropLast()) + (key.hasSuffix("0") ? "1" : "0")] {
                do {
                    try EventStreamClient.post(url: endpoint.url, path: "/v1/completions", body: body, bearer: bearer) { _ in }
                    Issue.record("a request with bearer \(bearer ?? "none") was served")
                } catch let failure as EventStreamClient.Failure {
                    #expect(failure.status == 401 && failure.message.contains("invalid_api_key"), "\(failure)")
                }
            }
            var served: [String] = []
            try EventStreamClient.post(url: endpoint.url, path: "/v1/completions", body: body, bearer: key) { served.append($0) }
            #expect(served.last == "[DONE]")

            _ = try await hearth.carol(["cancel", "\(serve)"])
            try await EndToEndTests.waitUntil("the serve job ended") { try await queue.job(serve)?.state == .cancelled }
            #expect(await daemon.stop(SIGTERM) == .exited(0))
        }
    }
}

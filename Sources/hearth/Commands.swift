import ArgumentParser
import Foundation
import HearthAPI

struct Submit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Submit a job from a JSON job file or flags.",
        discussion: """
            The job file is either a whole submission ({"kind": "train", "gpus": 1, "spec": {...}}), with \
            --kind just the spec (for training: the worker's job file, see Docs/worker-contract.md), or a \
            pipeline {"steps": [{"name": "train", "kind": "train", "spec": {...}}, {"name": "eval", "kind": "eval", \
            "spec": {"checkpoint": "@train.path", ...}}]} whose steps wait for the ones they name.
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "A JSON file; '-' reads standard input.") var file: String?
    @Option(help: "Job kind: train, eval, serve, distill.") var kind: String?
    @Option(help: "A name for the job.") var name: String?
    @Option(help: "GPUs on one node.") var gpus: Int?
    @Option(help: "Priority, -1000 to 1000.") var priority: Int?
    @Option(help: "QOS: low, normal, high, serving.") var qos: String?
    @Option(help: "Failed attempts before the job fails for good.") var maxAttempts: Int?
    @Option(help: "Submitting again with the same key returns the first job.") var idempotencyKey: String?
    @Option(name: .customLong("after"), parsing: .singleValue,
            help: ArgumentHelp("Start only after this job succeeded (repeatable; Slurm's afterok).", valueName: "job"))
    var after: [Int64] = []
    @Option(help: ArgumentHelp("Wall-time limit: seconds, or 90m, 2h, 1d; lets the scheduler backfill the job.", valueName: "time"))
    var timeLimit: String?
    @Option(help: "Every GPU must be this model, as hearth nodes shows it.") var gpuModel: String?
    @Option(help: ArgumentHelp("Every GPU must have at least this much memory, in GiB.", valueName: "GiB")) var gpuMemory: Int?
    @Flag(inversion: .prefixedNo, help: "Whether the scheduler may preempt the job (default: every kind but serve).")
    var preemptible: Bool?

    func run() throws {
        var submission: [String: JSONValue] = [:]
        if let file {
            let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile()
                : try Self.read(file)
            guard let value = try? JSONDecoder().decode(JSONValue.self, from: data), case .object(let object) = value else {
                throw ValidationError("\(file) is not a JSON object")
            }
            if kind != nil { submission["spec"] = .object(object) } else { submission = object }
            if kind == nil, object["steps"] != nil { return try submitPipeline(Data(try JSONEncoder().encode(value))) }
        }
        if let kind { submission["kind"] = .string(kind) }
        if let name { submission["name"] = .string(name) }
        if let gpus { submission["gpus"] = .number(Double(gpus)) }
        if let priority { submission["priority"] = .number(Double(priority)) }
        if let qos { submission["qos"] = .string(qos) }
        if let maxAttempts { submission["max_attempts"] = .number(Double(maxAttempts)) }
        if let idempotencyKey { submission["idempotency_key"] = .string(idempotencyKey) }
        if !after.isEmpty { submission["after_ok"] = .array(after.map { .number(Double($0)) }) }
        if let timeLimit {
            guard let seconds = Self.seconds(timeLimit) else {
                throw ValidationError("--time-limit \"\(timeLimit)\" is not a duration; write seconds or 90m, 2h, 1d")
            }
            submission["time_limit"] = .number(Double(seconds))
        }
        if let gpuModel { submission["gpu_model"] = .string(gpuModel) }
        if let gpuMemory { submission["gpu_memory_mib"] = .number(Double(gpuMemory * 1024)) }
        if let preemptible { submission["preemptible"] = .bool(preemptible) }
        guard submission["kind"] != nil else { throw ValidationError("say which kind of job: --kind train, or \"kind\" in the file") }
        let body = try JSONEncoder().encode(JSONValue.object(submission))
        let (job, raw) = try global.call("POST", "/v1/jobs", body: body, as: JobView.self)
        if global.json { print(String(decoding: raw, as: UTF8.self)); return }
        print(job.duplicate == true ? "job \(job.id) already submitted with this key (\(job.state))" : "submitted job \(job.id)")
    }

    /// A file with `"steps"`: the whole chain at once (`POST /v1/pipelines`).
    func submitPipeline(_ body: Data) throws {
        let (jobs, raw) = try global.call("POST", "/v1/pipelines", body: body, as: [JobView].self)
        if global.json { print(String(decoding: raw, as: UTF8.self)); return }
        print("submitted pipeline: " + jobs.map { "\($0.name)=\($0.id)" }.joined(separator: " "))
    }

    /// `3600`, `90s`, `90m`, `2h`, `1d` → seconds; `nil` when it is none of these.
    static func seconds(_ text: String) -> Int? {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        if let n = Int(text), n > 0 { return n }
        guard let unit = text.last.flatMap({ units[$0] }), let n = Int(text.dropLast()), n > 0 else { return nil }
        return n * unit
    }

    static func read(_ path: String) throws -> Data {
        do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ValidationError("cannot read \(path): \(error.localizedDescription)")
        }
    }
}

struct Queue: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List jobs (like squeue): queued, scheduled and running by default.")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.short, .customLong("user")], help: "Only this account's jobs.") var user: String?
    @Option(name: [.short, .customLong("state")], help: "Only these states (comma-separated).") var state: String?
    @Option(name: [.short, .customLong("node")], help: "Only jobs on this node.") var node: String?
    @Flag(name: [.short, .customLong("all")], help: "Include finished jobs.") var all = false

    func run() throws {
        var query: [String] = []
        if let user { query.append("user=" + Self.escape(user)) }
        if let state { query.append("state=" + Self.escape(state)) }
        if let node { query.append("node=" + Self.escape(node)) }
        if all { query.append("all=true") }
        let path = "/v1/jobs" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        let (jobs, raw) = try global.call("GET", path, as: [JobView].self)
        if global.json { print(String(decoding: raw, as: UTF8.self)); return }
        var table = Table(["JOBID", "NAME", "USER", "KIND", "STATE", "GPUS", "NODE", "TIME", "STEP", "LOSS"])
        for j in jobs {
            let elapsed = j.startedAt.map { Table.duration((j.finishedAt ?? Date()).timeIntervalSince($0)) } ?? "-"
            table.add(["\(j.id)", j.name.isEmpty ? "-" : j.name, j.account, j.kind,
                       j.state + (j.cancelRequested && j.state == "running" ? "*" : ""), "\(j.gpus)", j.node ?? "-",
                       elapsed, j.step.map(String.init) ?? "-", j.loss.map { String(format: "%.4f", $0) } ?? "-"])
        }
        print(table.render(), terminator: "")
    }

    static func escape(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+"))) ?? s
    }
}

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show one job in full.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The job id.") var job: Int64

    func run() throws {
        let (j, raw) = try global.call("GET", "/v1/jobs/\(job)", as: JobView.self)
        if global.json { print(String(decoding: raw, as: UTF8.self)); return }
        let f = ISO8601DateFormatter()
        let rows: [(String, String?)] = [
            ("Job", "\(j.id) \(j.name)"), ("Kind", j.kind), ("User", j.account), ("State", j.state),
            ("GPUs", "\(j.gpus)"), ("Priority", "\(j.priority) (\(j.qos))"), ("Node", j.node),
            ("Attempt", "\(j.attempt), \(j.failures) failed of \(j.maxAttempts) allowed, \(j.preemptions) preemptions"),
            ("Submitted", f.string(from: j.createdAt)), ("Started", j.startedAt.map(f.string(from:))),
            ("Finished", j.finishedAt.map(f.string(from:))), ("Step", j.step.map(String.init)),
            ("Loss", j.loss.map { String(format: "%.4f", $0) }), ("Last error", j.lastError),
        ]
        for (k, v) in rows { if let v { print(k.padding(toLength: 11, withPad: " ", startingAt: 0) + v) } }
    }
}

struct Cancel: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Cancel jobs (yours; admins: any).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Job ids.") var jobs: [Int64]

    func validate() throws { if jobs.isEmpty { throw ValidationError("name at least one job id") } }

    func run() throws {
        var failed = false
        for id in jobs {
            do {
                let (r, _) = try global.call("POST", "/v1/jobs/\(id)/cancel", as: CancelResponse.self)
                switch r.outcome {
                case "requested": print("job \(id): cancel requested; its node is stopping the worker")
                case "already-finished": print("job \(id): already \(r.state)")
                default: print("job \(id): cancelled")
                }
            } catch let code as ExitCode where code == ExitCode(1) {
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }
}

struct Nodes: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the fleet's nodes.")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let (nodes, raw) = try global.call("GET", "/v1/nodes", as: [NodeView].self)
        if global.json { print(String(decoding: raw, as: UTF8.self)); return }
        var table = Table(["NODE", "STATE", "CPUS", "MEMORY", "GPUS", "RUNNING", "LAST SEEN"])
        for n in nodes {
            let sim = n.gpus.contains(where: \.simulated) ? " (simulated)" : ""
            let gpus = n.gpus.isEmpty ? "0" : "\(n.gpus.count)× \(n.gpus[0].model)\(sim)"
            table.add([n.hostname, n.state, "\(n.cpus)", "\(n.memoryBytes >> 30) GiB", gpus, "\(n.runningJobs)",
                       Table.duration(Date().timeIntervalSince(n.lastHeartbeatAt)) + " ago"])
        }
        print(table.render(), terminator: "")
    }
}

struct WhoAmICommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "whoami", abstract: "Who the daemon thinks you are.")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let (me, raw) = try global.call("GET", "/v1/whoami", as: WhoAmI.self)
        if global.json { print(String(decoding: raw, as: UTF8.self)); return }
        print("\(me.account) (uid \(me.uid)), \(me.role)")
    }
}

struct NodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node", abstract: "Drain or resume a node (admins); reclaim, release or set the policy of one (its donor).",
        subcommands: [Drain.self, Resume.self, Reclaim.self, Release.self, Policy.self])

    struct Drain: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop a node taking new jobs; what it runs now finishes (like scontrol update state=drain).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The node's name (see hearth nodes).") var node: String
        func run() throws {
            _ = try global.call("POST", "/v1/nodes/\(Queue.escape(node))/drain", as: NodeView.self)
            print("node \(node) is draining: it finishes its running jobs and takes no new ones")
        }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let a drained node take jobs again.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The node's name.") var node: String
        func run() throws {
            _ = try global.call("POST", "/v1/nodes/\(Queue.escape(node))/resume", as: NodeView.self)
            print("node \(node) is up")
        }
    }
}

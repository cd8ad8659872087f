import ArgumentParser
import FoundationEssentials
import HearthAPI
import HearthCore
import HearthClient

struct Submit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Submit a job from a JSON job file or flags.",
        discussion: """
            The job file is either a whole submission ({"kind": "train", "gpus": 1, "spec": {...}}), with \
            --kind just the spec (for training: the worker's job file, see Docs/worker-contract.md), a \
            pipeline {"steps": [{"name": "train", "kind": "train", "spec": {...}}, {"name": "eval", "kind": "eval", \
            "spec": {"checkpoint": "@train.path", ...}}]} whose steps wait for the ones they name, or a batch \
            {"jobs": [submission, ...]} of different jobs queued in one request, all or none.
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "A JSON file; '-' reads standard input.") var file: String?
    @Option(help: "Job kind: train, eval, serve, distill, or command (your own program, run as you).") var kind: String?
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

    @Option(help: ArgumentHelp(
        "A job array: indexes as Slurm writes them (0-999, 0-15:4, 1,3,5) and an optional %N limit on how many run at once; {index} in the spec and name becomes each element's index.",
        valueName: "indexes"))
    var array: String?
    @Option(help: ArgumentHelp(
        "Run this shell command as a command job, with no job file (like sbatch --wrap); in an array, {index} and $HEARTH_ARRAY_INDEX give each element's index.",
        valueName: "command"))
    var wrap: String?

    func validate() throws {
        if let array { do { _ = try ArraySpec(parsing: array) } catch { throw ValidationError(error.message) } }
        try options.checkWrap()
        if file == nil && wrap == nil && kind == nil {
            throw ValidationError("give a job file, or --wrap \"COMMAND\" for a command job (hearth submit --help)")
        }
    }

    func run() throws {
        let options = options
        let prepared: SubmitOptions.Prepared
        // A refusal found while reading the file ends as the flags' refusals do, with this
        // command's usage (thrown from here, ArgumentParser would print the top-level one).
        do { prepared = try options.prepare() } catch let error as ValidationError {
            Stdio.error("Error: \(error.message)\nUsage: hearth \(Self.usageString())\n  See 'hearth submit --help' for more information.\n")
            throw ExitCode(64)
        }
        try options.send(prepared, via: global.connection)
    }

    /// The parsed flags as plain values (FastPath builds the same without the parser).
    var options: SubmitOptions {
        SubmitOptions(file: file, kind: kind, name: name, gpus: gpus, priority: priority, qos: qos, maxAttempts: maxAttempts,
                      idempotencyKey: idempotencyKey, after: after, timeLimit: timeLimit, gpuModel: gpuModel,
                      gpuMemory: gpuMemory, preemptible: preemptible, array: array, wrap: wrap)
    }

    /// `3600`, `90s`, `90m`, `2h`, `1d` → seconds; `nil` when it is none of these.
    static func seconds(_ text: String) -> Int? {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        if let n = Int(text), n > 0 { return n }
        guard let unit = text.last.flatMap({ units[$0] }), let n = Int(text.dropLast()), n > 0 else { return nil }
        return n * unit
    }

    static func read(_ path: String) throws -> Data {
        do { return try Stdio.readFile(path) } catch { throw ValidationError(error.message) }
    }
}

/// `hearth submit`'s flags as plain values: what ``Submit`` parsed, or what FastPath read.
struct SubmitOptions {
    var file: String?
    var kind: String?
    var name: String?
    var gpus: Int?
    var priority: Int?
    var qos: String?
    var maxAttempts: Int?
    var idempotencyKey: String?
    var after: [Int64] = []
    var timeLimit: String?
    var gpuModel: String?
    var gpuMemory: Int?
    var preemptible: Bool?
    var array: String?
    var wrap: String?

    /// `--wrap` is a command job's whole spec: no job file beside it, no other kind.
    func checkWrap() throws {
        guard let wrap else { return }
        if file != nil { throw ValidationError("--wrap is the job's command; give it or a job file, not both") }
        if let kind, kind != JobKind.command.rawValue {
            throw ValidationError("--wrap makes a command job; leave out --kind \(kind) (or write --kind command)")
        }
        if wrap.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\n" }) { throw ValidationError("--wrap is empty; give the command to run") }
    }

    /// The request to send: one job, an array, or a pipeline (a file with `"steps"`, the whole chain at once).
    enum Prepared {
        case job(Data), array(Data), pipeline(Data), batch(Data)
    }

    /// Whether any flag that shapes one job is set (a batch file's jobs carry their own fields).
    var shapesOneJob: Bool {
        name != nil || gpus != nil || priority != nil || qos != nil || maxAttempts != nil || idempotencyKey != nil || !after.isEmpty
            || timeLimit != nil || gpuModel != nil || gpuMemory != nil || preemptible != nil
    }

    /// Reads the file and checks every flag; nothing is sent yet, so a ValidationError here can
    /// still be reported by the parser (FastPath falls back to it).
    func prepare() throws -> Prepared {
        var submission = SubmitRequest(kind: "")
        try checkWrap()
        if let wrap {
            submission.kind = JobKind.command.rawValue
            submission.spec = .object(["shell": .string(wrap)])
        }
        if let file {
            let data = file == "-" ? Stdio.readStandardInput() : try Submit.read(file)
            let parsed: JSONValue
            let bytes = Array(data)
            do { parsed = try JSONValue(parsing: bytes) } catch {
                let before = bytes.prefix(error.offset)
                let line = before.count(where: { $0 == UInt8(ascii: "\n") }) + 1
                let column = before.count - (before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0) + 1
                throw ValidationError("\(file) is not valid JSON: \(error.message) at line \(line), column \(column)")
            }
            guard case .object(let object) = parsed else {
                throw ValidationError("\(file) must hold one JSON object, such as {\"steps\": 100}")
            }
            if kind != nil {
                submission.spec = .object(object)
            } else if object["steps"] != nil {
                guard array == nil else { throw ValidationError("--array takes one job, not a pipeline") }
                return .pipeline(data)
            } else if object["jobs"] != nil {
                // Many different jobs in one request (POST /v1/jobs/batch): all queued, or none.
                guard array == nil, !shapesOneJob else {
                    throw ValidationError("\(file) is a batch ({\"jobs\": [...]}): give each job its fields there, not as flags")
                }
                return .batch(data)
            } else {
                // A whole submission: the API's own type, its field names checked as the daemon checks them.
                if let unknown = Set(object.keys).subtracting(SubmitRequest.fieldNames).sorted().first {
                    throw ValidationError("\(file): unknown field \"\(unknown)\"; a submission has \(SubmitRequest.fieldNames.sorted().joined(separator: ", "))")
                }
                do { submission = try JSONDecoder().decode(SubmitRequest.self, from: data) } catch {
                    throw ValidationError("\(file) is not a job submission: \(error)")
                }
            }
        }
        if let kind { submission.kind = kind }
        if let name { submission.name = name }
        if let gpus { submission.gpus = gpus }
        if let priority { submission.priority = priority }
        if let qos { submission.qos = qos }
        if let maxAttempts { submission.maxAttempts = maxAttempts }
        if let idempotencyKey { submission.idempotencyKey = idempotencyKey }
        if !after.isEmpty { submission.afterOK = after }
        if let timeLimit {
            guard let seconds = Submit.seconds(timeLimit) else {
                throw ValidationError("--time-limit \"\(timeLimit)\" is not a duration; write seconds or 90m, 2h, 1d")
            }
            submission.timeLimit = seconds
        }
        if let gpuModel { submission.gpuModel = gpuModel }
        if let gpuMemory { submission.gpuMemoryMiB = gpuMemory * 1024 }
        if let preemptible { submission.preemptible = preemptible }
        guard !submission.kind.isEmpty else {
            throw ValidationError(file == nil
                ? "give a job file, or --wrap \"COMMAND\" for a command job (hearth submit --help)"
                : "say which kind of job: --kind train, or \"kind\" in the file")
        }
        if let array { return .array(try JSONEncoder().encode(ArraySubmitRequest(submission: submission, array: array))) }
        return .job(try JSONEncoder().encode(submission))
    }

    /// What ``prepare()`` builds for the common case — `--kind` and a spec file that is a plain
    /// JSON object (``JSONScan``) — written by hand around the file's own bytes, without
    /// JSONDecoder and JSONEncoder; `nil` for anything else (then ``prepare()`` decides).
    func preparePlain() -> Prepared? {
        guard wrap == nil, let kind, !kind.isEmpty, let file, file != "-", let data = try? Stdio.readFile(file) else { return nil }
        let spec = Array(data)
        guard JSONScan.object(spec) != nil else { return nil }
        var fields = ["\"kind\":" + JSONText.string(kind)]
        if let name { fields.append("\"name\":" + JSONText.string(name)) }
        if let gpus { fields.append("\"gpus\":\(gpus)") }
        if let priority { fields.append("\"priority\":\(priority)") }
        if let qos { fields.append("\"qos\":" + JSONText.string(qos)) }
        if let maxAttempts { fields.append("\"max_attempts\":\(maxAttempts)") }
        if let idempotencyKey { fields.append("\"idempotency_key\":" + JSONText.string(idempotencyKey)) }
        if !after.isEmpty { fields.append("\"after_ok\":[" + Stdio.join(after.map { "\($0)" }, ",") + "]") }
        if let timeLimit {
            guard let seconds = Submit.seconds(timeLimit) else { return nil }
            fields.append("\"time_limit\":\(seconds)")
        }
        if let gpuModel { fields.append("\"gpu_model\":" + JSONText.string(gpuModel)) }
        if let gpuMemory { fields.append("\"gpu_memory_mib\":\(gpuMemory * 1024)") }
        if let preemptible { fields.append("\"preemptible\":\(preemptible)") }
        if let array { fields.append("\"array\":" + JSONText.string(array)) }
        var body = Array(("{" + Stdio.join(fields, ",") + ",\"spec\":").utf8)
        body += spec
        body.append(UInt8(ascii: "}"))
        return array == nil ? .job(Data(body)) : .array(Data(body))
    }

    /// Sends what ``prepare()`` built and prints the answer.
    func send(_ prepared: Prepared, via connection: Connection) throws {
        switch prepared {
        case .pipeline(let body):
            let (jobs, raw) = try connection.call("POST", "/v1/pipelines", body: body, as: [JobView].self)
            if connection.json { print(String(decoding: raw, as: UTF8.self)); return }
            print("submitted pipeline: " + jobs.map { "\($0.name)=\($0.id)" }.joined(separator: " "))
        case .batch(let body):
            let (jobs, raw) = try connection.call("POST", "/v1/jobs/batch", body: body, as: [JobView].self)
            if connection.json { print(String(decoding: raw, as: UTF8.self)); return }
            let ids = jobs.map(\.id)
            let consecutive = zip(ids, ids.dropFirst()).allSatisfy { $1 == $0 + 1 }
            let list = consecutive && ids.count > 2 ? "\(ids[0])-\(ids[ids.count - 1])" : ids.map(String.init).joined(separator: " ")
            print("submitted \(ids.count) job\(ids.count == 1 ? "" : "s"): \(list)")
        case .array(let body):
            let (job, raw) = try Self.submitted("/v1/arrays", body, via: connection)
            if connection.json { Stdio.out(String(decoding: raw, as: UTF8.self) + "\n"); return }
            let size = job.arraySize ?? 1
            Stdio.out("submitted array \(job.arrayID ?? job.id) (\(size) job\(size == 1 ? "" : "s"))\n")
        case .job(let body):
            let (job, raw) = try Self.submitted("/v1/jobs", body, via: connection)
            if connection.json { Stdio.out(String(decoding: raw, as: UTF8.self) + "\n"); return }
            Stdio.out(job.duplicate == true ? "job \(job.id) already submitted with this key (\(job.state))\n" : "submitted job \(job.id)\n")
        }
    }

    /// The fields of the daemon's answer a submission prints.
    struct Submitted {
        var id: Int64
        var state: String
        var duplicate: Bool?
        var arrayID: Int64?
        var arraySize: Int?
    }

    /// POSTs a submission; the answer's few printed fields are read by ``JSONScan`` when it is
    /// plain, else by JSONDecoder as the API's `JobView` (errors: the daemon's sentence, as always).
    static func submitted(_ path: String, _ body: Data, via connection: Connection) throws -> (Submitted, Data) {
        let reply: ControlClient.Reply
        do { reply = try connection.client.request("POST", path, body: body) } catch {
            Stdio.error("hearth: \(error)\n")
            throw ExitCode(3)
        }
        let bytes = Array(reply.body)
        if (200..<300).contains(reply.status), let m = JSONScan.object(bytes),
           let id = JSONScan.integer(bytes, m["id"]), let state = JSONScan.string(bytes, m["state"]) {
            let arraySize = JSONScan.integer(bytes, m["array_size"]).map { Int($0) }
            return (Submitted(id: id, state: state, duplicate: JSONScan.bool(bytes, m["duplicate"]),
                              arrayID: JSONScan.integer(bytes, m["array_id"]), arraySize: arraySize), reply.body)
        }
        let (job, raw) = try connection.decode(reply, as: JobView.self)
        return (Submitted(id: job.id, state: job.state.rawValue, duplicate: job.duplicate, arrayID: job.arrayID, arraySize: job.arraySize), raw)
    }
}

struct Queue: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List jobs (like squeue): queued, scheduled and running by default.",
        discussion: """
            An array's queued elements show as one row, 12_[3-999] (array 12, indexes 3 to 999); --expand lists \
            them one by one. At most --limit rows are shown (default 1,000); when there are more, the last line \
            says how to see the next page.
            """)
    @OptionGroup var global: GlobalOptions
    @Option(name: [.short, .customLong("user")], help: "Only this account's jobs.") var user: String?
    @Option(name: [.short, .customShort("t"), .customLong("state")], help: "Only these states (comma-separated; -t as squeue has it).")
    var state: String?
    @Option(name: [.short, .customLong("node")], help: "Only jobs on this node.") var node: String?
    @Option(help: "Only jobs with this exact name.") var name: String?
    @Flag(name: [.short, .customLong("all")], help: "Include finished jobs.") var all = false
    @Flag(help: "One row per array element instead of one row for an array's queued elements.") var expand = false
    @Option(help: ArgumentHelp("Only this array's elements.", valueName: "array-id")) var array: Int64?
    @Option(help: "Rows to show (1 to 100000; the daemon's default is 1000).") var limit: Int?
    @Option(help: ArgumentHelp("Start after this point, as the previous page's last line names it.", valueName: "cursor"))
    var after: String?

    func run() throws {
        try QueueOptions(user: user, state: state, node: node, name: name, all: all, expand: expand, array: array, limit: limit,
                         after: after).run(via: global.connection)
    }

    static func escape(_ s: String) -> String { s.percentEncoded }
}

/// `hearth queue`'s flags as plain values: what ``Queue`` parsed, or what FastPath read.
struct QueueOptions {
    var user: String?
    var state: String?
    var node: String?
    var name: String?
    var all = false
    var expand = false
    var array: Int64?
    var limit: Int?
    var after: String?

    func run(via connection: Connection) throws {
        var query: [String] = []
        if let user { query.append("user=" + Queue.escape(user)) }
        if let state { query.append("state=" + Queue.escape(state)) }
        if let node { query.append("node=" + Queue.escape(node)) }
        if let name { query.append("name=" + Queue.escape(name)) }
        if all { query.append("all=true") }
        if let array { query.append("array=\(array)") }
        if let limit { query.append("limit=\(limit)") }
        if let after { query.append("after=" + Queue.escape(after)) }
        // Scripts (--json) get every element as JSON; people get arrays folded, as squeue shows them,
        // in rows the daemon formats, copied to the output as they arrive.
        if !connection.json {
            query.append("format=table")
            if !expand { query.append("group=arrays") }
        }
        let path = "/v1/jobs" + (query.isEmpty ? "" : "?" + Stdio.join(query, "&"))
        var errorBody: [UInt8] = []
        var next: String?
        var status = 0
        do {
            try connection.client.stream("GET", path, onHead: { code, headers in
                status = code
                next = headers["hearth-next-cursor"]
                if (200..<300).contains(code) && !connection.json {
                    Stdio.out("JOBID           NAME              USER        KIND     STATE       GPUS  NODE          TIME        STEP     LOSS\n")
                }
            }, onBody: { bytes in
                guard (200..<300).contains(status) else { errorBody += bytes; return }
                Stdio.out(bytes: bytes)
            })
        } catch {
            Stdio.error("hearth: \(error)\n")
            throw ExitCode(3)
        }
        guard (200..<300).contains(status) else {
            let message = (try? APICoding.decoder().decode(APIError.self, from: Data(errorBody)))?.message
                ?? "the daemon answered HTTP \(status)"
            Stdio.error("hearth: \(message)\n")
            // 503: the daemon is up but cannot reach its database, as for every other command.
            throw ExitCode(status == 503 ? 3 : 1)
        }
        if connection.json { Stdio.out("\n") }
        if let next {
            Stdio.error("(more jobs than shown: the next page is `hearth queue --after \(next)\(limit.map { " --limit \($0)" } ?? "")`)\n")
        }
    }
}

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show one job in full.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: ArgumentHelp("The job id, or an array element as ARRAY_INDEX.", valueName: "job"), transform: JobArgument.parse)
    var job: JobReference

    func run() throws {
        try Self.show(job, via: global.connection)
    }

    /// An array's progress: `20: 14 queued, 3 running, 3 succeeded`, states in their lifecycle's order.
    static func elements(_ states: [String: Int]) -> String {
        let total = states.values.reduce(0, +)
        let parts = JobState.allCases.compactMap { s in states[s.rawValue].map { "\($0) \(s.rawValue)" } }
        return "\(total): " + parts.joined(separator: ", ")
    }

    /// The command itself, for the parsed command and FastPath.
    static func show(_ job: JobReference, via connection: Connection) throws {
        let id = try connection.jobID(job)
        let (j, raw) = try connection.call("GET", "/v1/jobs/\(id)", as: JobView.self)
        if connection.json { print(String(decoding: raw, as: UTF8.self)); return }
        let rows: [(String, String?)] = [
            ("Job", j.name.isEmpty ? "\(j.id)" : "\(j.id) \(j.name)"), ("Kind", j.kind.rawValue), ("User", j.account), ("State", j.state.rawValue),
            ("Array", j.arrayID.map { a in "\(a)_\(j.arrayIndex ?? 0)" + (j.arrayParallel.map { " (at most \($0) at once)" } ?? "") }),
            ("Elements", j.arrayStates.map(Self.elements)),
            ("GPUs", "\(j.gpus)"), ("Priority", "\(j.priority) (\(j.qos))"),
            ("Node", j.node ?? j.lastNode.map { "\($0) (its last attempt's)" }),
            ("Attempt", "\(j.attempt), \(j.failures) failed of \(j.maxAttempts) allowed, \(j.preemptions) preemptions"),
            ("Submitted", LocalTime.iso8601(j.createdAt)), ("Started", j.startedAt.map(LocalTime.iso8601)),
            ("Finished", j.finishedAt.map(LocalTime.iso8601)), ("Step", j.step.map(String.init)),
            ("Loss", j.loss.map { String(format: "%.4f", $0) }), ("Last error", j.lastError),
        ]
        for (k, v) in rows { if let v { print(k.padded(to: 11) + v) } }
    }
}

struct Cancel: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cancel jobs (yours; admins: any).",
        discussion: """
            An array's id (12) cancels every element; 12_7 cancels element 7 alone, 12_[1-3,7] \
            elements 1 to 3 and 7 (as scancel does).

            Instead of ids, a filter cancels every unfinished job it matches, as scancel -u/-t/--name \
            does: hearth cancel --user $USER --state queued. A volunteer's filter covers their own \
            jobs; an admin's covers every account's unless --user narrows it.
            """)
    @OptionGroup var global: GlobalOptions
    @Option(name: [.short, .customLong("user")], help: "Only this account's jobs.") var user: String?
    @Option(name: [.short, .customShort("t"), .customLong("state")],
            help: "Only jobs in these states (comma-separated: queued, scheduled, running).") var state: String?
    @Option(help: "Only jobs with this exact name.") var name: String?
    @Option(name: [.short, .customLong("node")], help: "Only jobs on this node.") var node: String?
    @Argument(help: ArgumentHelp("Job ids, array ids, array elements as ARRAY_INDEX, or several as ARRAY_[1-3,7].", valueName: "job"))
    var jobs: [String] = []

    var filter: CancelFilterRequest {
        CancelFilterRequest(user: user, states: state.map { $0.split(separator: ",").map { String($0.filter { $0 != " " }) } },
                            name: name, node: node)
    }

    func validate() throws {
        if jobs.isEmpty && filter.isEmpty {
            throw ValidationError("name at least one job id, or a filter: --user, --state, --name or --node (hearth cancel --user $USER --state queued)")
        }
        if !jobs.isEmpty && !filter.isEmpty {
            throw ValidationError("give job ids or a filter (--user, --state, --name, --node), not both")
        }
        for job in jobs {
            if let some = ArrayElementsReference(job) {
                do { _ = try some.parsed() } catch { throw ValidationError(error.message) }
            } else if JobReference(job) == nil {
                throw ValidationError("\"\(job)\" is not a job: write a job id (12), an array element (12_7) or elements (12_[1-3,7]), as hearth queue shows them")
            }
        }
    }

    func run() throws {
        if jobs.isEmpty {
            try CancelOptions.run(filter, via: global.connection)
        } else {
            try CancelOptions(jobs: jobs).run(via: global.connection)
        }
    }
}

/// `hearth cancel`'s arguments as plain values: what ``Cancel`` parsed, or what FastPath read.
struct CancelOptions {
    var jobs: [String]

    /// An array's cancel in words: `4 cancelled, 1 stopping on their nodes, 1 already finished`.
    static func counts(_ r: ArrayCancelResponse) -> String {
        var parts = ["\(r.cancelled) cancelled"]
        if r.requested > 0 { parts.append("\(r.requested) stopping on \(r.requested == 1 ? "its node" : "their nodes")") }
        if r.alreadyFinished > 0 { parts.append("\(r.alreadyFinished) already finished") }
        return parts.joined(separator: ", ")
    }

    /// `hearth cancel --user/--state/--name/--node`: one request; the daemon says what matched.
    static func run(_ filter: CancelFilterRequest, via connection: Connection) throws {
        let body = try APICoding.encoder().encode(filter)
        let (r, raw) = try connection.call("POST", "/v1/jobs/cancel", body: body, as: CancelFilterResponse.self)
        if connection.json {
            print(String(decoding: raw, as: UTF8.self))
            return
        }
        guard !r.matched.isEmpty else {
            print("no unfinished job matches " + Self.words(filter))
            return
        }
        var parts: [String] = []
        if r.cancelled > 0 || r.requested == 0 { parts.append("cancelled \(r.cancelled) \(r.cancelled == 1 ? "job" : "jobs")") }
        if r.requested > 0 { parts.append(r.requested == 1 ? "1 running: its node is stopping it" : "\(r.requested) running: their nodes are stopping them") }
        let settled = r.matched.count - r.cancelled - r.requested
        if settled > 0 { parts.append("\(settled) finished meanwhile") }
        print(parts.joined(separator: "; "))
    }

    /// The filter as the command line gave it: `--user alice --state queued`.
    static func words(_ filter: CancelFilterRequest) -> String {
        var parts: [String] = []
        if let user = filter.user { parts.append("--user \(user)") }
        if let states = filter.states, !states.isEmpty { parts.append("--state \(states.joined(separator: ","))") }
        if let name = filter.name { parts.append("--name \(name)") }
        if let node = filter.node { parts.append("--node \(node)") }
        return parts.joined(separator: " ")
    }

    func run(via connection: Connection) throws {
        var failed = false
        for text in jobs {
            if let some = ArrayElementsReference(text) {
                do {
                    let body = try APICoding.encoder().encode(ArrayCancelRequest(indexes: some.indexes))
                    let (r, _) = try connection.call("POST", "/v1/arrays/\(some.arrayID)/cancel", body: body, as: ArrayCancelResponse.self)
                    print("\(some): " + Self.counts(r))
                } catch let code as ExitCode where code == ExitCode(1) {
                    failed = true
                }
                continue
            }
            let ref = JobReference(text)!
            do {
                let id = try connection.jobID(ref)
                if ref.arrayIndex == nil {
                    // Only an array's head cancels the whole array. Another's job is not readable:
                    // then the cancel below gives the daemon's own refusal.
                    let head = try? connection.client.call("GET", "/v1/jobs/\(ref.id)", as: JobView.self).0
                    if let job = head, job.arrayID == job.id {
                        let (r, _) = try connection.call("POST", "/v1/arrays/\(ref.id)/cancel", as: ArrayCancelResponse.self)
                        print("array \(ref.id): " + Self.counts(r))
                        continue
                    }
                }
                let r: CancelResponse
                if ref.arrayIndex != nil {
                    // The daemon's refusal names the element's job id; say which element that is.
                    do { r = try connection.client.call("POST", "/v1/jobs/\(id)/cancel", as: CancelResponse.self).0 } catch {
                        Stdio.error("hearth: \(ref) (job \(id)): \(error.message)\n")
                        throw ExitCode(error.exitCode)
                    }
                } else {
                    r = try connection.call("POST", "/v1/jobs/\(id)/cancel", as: CancelResponse.self).0
                }
                switch r.outcome {
                case "requested": print("job \(ref): cancel requested; its node is stopping the worker")
                case "already-finished": print("job \(ref): already \(r.state)")
                default: print("job \(ref): cancelled")
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
        try Self.list(via: global.connection)
    }

    /// The listing itself, for the parsed command and FastPath. People get the table the daemon
    /// renders (no JSON to decode here: most of the command's work when it was).
    static func list(via connection: Connection) throws {
        if connection.json {
            let (_, raw) = try connection.call("GET", "/v1/nodes", as: [NodeView].self)
            print(String(decoding: raw, as: UTF8.self))
            return
        }
        let reply: ControlClient.Reply
        do { reply = try connection.client.request("GET", "/v1/nodes?format=table") } catch {
            Stdio.error("hearth: \(error)\n")  // as Connection.call says it: the daemon is unreachable
            throw ExitCode(3)
        }
        guard (200..<300).contains(reply.status) else {
            _ = try connection.decode(reply, as: [NodeView].self)  // prints the daemon's sentence and exits
            return
        }
        Stdio.out(String(decoding: reply.body, as: UTF8.self))
    }
}

struct WhoAmICommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "whoami", abstract: "Who the daemon thinks you are.")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        try Self.show(via: global.connection)
    }

    /// The answer itself, for the parsed command and FastPath.
    static func show(via connection: Connection) throws {
        let (me, raw) = try connection.call("GET", "/v1/whoami", as: WhoAmI.self)
        if connection.json { print(String(decoding: raw, as: UTF8.self)); return }
        print("\(me.account) (uid \(me.uid)), \(me.role)")
    }
}

struct NodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node", abstract: "Drain or resume a node (admins); reclaim, release or set the policy of one (its donor).",
        subcommands: [Drain.self, Resume.self, Reclaim.self, Release.self, Policy.self, Invite.self, Revoke.self])

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

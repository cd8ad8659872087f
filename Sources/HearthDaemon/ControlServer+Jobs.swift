import Foundation
import HearthAPI
import HearthCore
import HearthStore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The job listing, job arrays and batch submission.
extension ControlServer {
    static let jobListRoutes: Set<String> = [
        "GET /v1/jobs", "POST /v1/jobs/batch", "POST /v1/arrays", "POST /v1/arrays/{id}/cancel", "GET /v1/arrays/{id}/{index}",
    ]

    /// The response header naming the next page's cursor when a listing was cut at its limit.
    static let nextCursorHeader = HTTPField.Name("Hearth-Next-Cursor")!

    func addJobListRoutes(to router: Router<ControlContext>) {
        router.get("/v1/jobs") { request, context in
            do {
                try await requireUser(context)
                let q = request.uri.queryParameters
                guard q["format"] == nil || q["format"] == "table" || q["format"] == "json" else {
                    throw APIFailure.badRequest("format is json (the default) or table (the rows hearth queue prints)")
                }
                let table = q["format"] == "table"
                await arrayExpansions.settle()  // arrays submitted here are listed whole
                let key = request.uri.query ?? ""
                let page: APIQueries.JobPage
                if let kept = listings?.page(for: key) {
                    page = kept
                } else {
                    let epoch = listings?.changes.current  // before the statement: see ListingCache
                    page = try await queries.jobPage(try Self.jobFilter(q), table: table)
                    listings?.keep(page, for: key, readAt: epoch)
                }
                if page.count == 0 && page.next == nil { try await explainEmptyListing(q) }
                var headers: HTTPFields = [.contentType: table ? "text/plain; charset=utf-8" : "application/json"]
                if let next = page.next { headers[Self.nextCursorHeader] = next.text }
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: page.json)))
            } catch {
                // Errors take the common path (a JSON APIError with its status).
                return try await respond(context) { _ -> JobView in throw error }
            }
        }
        router.post("/v1/jobs/batch") { request, context in
            try await respond(context, status: .created) { who in try await submitBatch(request, who: who) }
        }
        router.post("/v1/arrays") { request, context in
            try await respond(context, status: .created) { who in try await submitArray(request, who: who) }
        }
        router.post("/v1/arrays/:id/cancel") { request, context in
            try await respond(context) { who in
                try await cancelArray(try jobID(context), indexes: try await Self.arrayCancelIndexes(request), who: who)
            }
        }
        router.get("/v1/arrays/:id/:index") { _, context in
            try await respond(context) { _ in
                let id = try jobID(context)
                await arrayExpansions.settle()
                guard let text = context.parameters.get("index"), let index = Int(text), index >= 0 else {
                    throw APIFailure.badRequest("an array index is a number from 0, as in 12_7")
                }
                guard let job = try await queue.arrayElement(id, index: index), let view = try await queries.job(job.id) else {
                    if try await !isArray(id) { throw Self.noArray(id) }
                    throw APIFailure.notFound("array \(id) has no element \(index); hearth queue --array \(id) --all --expand lists them")
                }
                return view
            }
        }
    }

    /// The listing shows every account's jobs, as squeue does, so it needs to know only that the
    /// caller is a user of this node (`SO_PEERCRED` and the user database, as ``identify(_:)``
    /// checks): no account read, so `hearth queue` costs one statement. A user's account is still
    /// made on their first request that acts as them (submit, whoami, cancel...).
    func requireUser(_ context: ControlContext) async throws {
        guard let provider = context.channel as? any SocketOptionProvider else {
            throw APIFailure.forbidden("the connection carries no peer credentials (not a Unix socket)")
        }
        let cred: PeerCredentials = try await provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED)).get()
        var entry = passwd()
        var found: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwuid_r(cred.uid, &entry, &buffer, buffer.count, &found) == 0, found != nil else {
            throw APIFailure.forbidden("uid \(cred.uid) has no user name on this node")
        }
    }

    /// An empty listing filtered by a user or node nobody has: a misspelt name says so, as
    /// `squeue -u` does, instead of printing an empty table. A user counts if the fleet has their
    /// account or this node has them as a Unix user (who may not have submitted yet).
    func explainEmptyListing(_ q: Parameters) async throws {
        try await explainUnknown(user: q["user"].map(String.init), node: q["node"].map(String.init))
        if let id = q["array"].flatMap({ Int64($0) }), try await !isArray(id) { throw Self.noArray(id) }
    }

    /// Whether `id` is an array's id (its first job's).
    func isArray(_ id: Int64) async throws -> Bool {
        try await !queries.client.query("SELECT 1 AS one FROM jobs WHERE id = \(id) AND array_id = \(id)").isEmpty
    }

    static func noArray(_ id: Int64) -> APIFailure {
        APIFailure.notFound("no array \(id); an array's id is its first job's (hearth queue shows 12_[0-9])")
    }

    /// Refuses a `user` or `node` that nobody has (the sentences of ``explainEmptyListing(_:)``).
    func explainUnknown(user: String?, node: String?) async throws {
        if let user, !Self.isLocalUser(user),
           try await queries.client.query("SELECT 1 AS one FROM accounts WHERE name = \(user)").isEmpty {
            throw APIFailure.notFound("no user \"\(user)\" here and no account by that name in the fleet; give a user name as hearth whoami prints it")
        }
        if let node,
           try await queries.client.query("SELECT 1 AS one FROM nodes WHERE hostname = \(node)").isEmpty {
            throw APIFailure.notFound("no node named \"\(node)\"; hearth nodes lists them")
        }
    }

    /// Whether this node's user database knows `name` (`getpwnam_r`: requests resolve concurrently).
    static func isLocalUser(_ name: String) -> Bool {
        var entry = passwd()
        var buffer = [CChar](repeating: 0, count: 4096)
        var found: UnsafeMutablePointer<passwd>?
        return getpwnam_r(name, &entry, &buffer, buffer.count, &found) == 0 && found != nil
    }

    /// The query of `GET /v1/jobs`: `user`, `state`, `node`, `name`, `all`, `array`, `group=arrays`, `limit`, `after`
    /// (and `format`, read by the handler).
    static func jobFilter(_ q: Parameters) throws -> APIQueries.JobFilter {
        var filter = APIQueries.JobFilter()
        filter.account = q["user"].map(String.init)
        filter.node = q["node"].map(String.init)
        filter.name = q["name"].map(String.init)
        filter.states = q["state"].map { $0.split(separator: ",").map(String.init) } ?? []
        filter.all = q["all"].map { $0 == "true" || $0 == "1" } ?? false
        filter.groupArrays = q["group"] == "arrays"
        for s in filter.states where JobState(rawValue: s) == nil {
            throw APIFailure.badRequest("unknown state \"\(s)\"; use \(JobState.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let text = q["limit"] {
            guard let n = Int(text), (1...APIQueries.maxListLimit).contains(n) else {
                throw APIFailure.badRequest("limit must be a number from 1 to \(APIQueries.maxListLimit), not \"\(text)\"")
            }
            filter.limit = n
        }
        if let text = q["after"] {
            guard let cursor = APIQueries.ListCursor(String(text)) else {
                throw APIFailure.badRequest("after \"\(text)\" is not a cursor; pass the Hearth-Next-Cursor of the previous page")
            }
            filter.after = cursor
        }
        if let text = q["array"] {
            guard let id = Int64(text), id > 0 else { throw APIFailure.badRequest("array must be an array's job id, not \"\(text)\"") }
            filter.array = id
        }
        return filter
    }

    // MARK: Submission of many jobs

    /// A submission as the queue takes it, checked field by field, then against what the caller
    /// may ask for (grants, references: ``authorizeSubmission(_:spec:who:label:)``). Every
    /// submission path — one job, a batch, an array — goes through it.
    func newJob(_ submit: SubmitRequest, specJSON: String, spec: JSONValue, who: Identity) async throws -> NewJob {
        if let mib = submit.gpuMemoryMiB, mib < 0 { throw APIFailure.badRequest("gpu_memory_mib cannot be negative") }
        let kind: JobKind, qos: QOS
        do { (kind, qos) = (try JobKind(validating: submit.kind), try QOS(validating: submit.qos)) } catch {
            throw APIFailure.badRequest(error.message)
        }
        let new = NewJob(
            kind: kind, accountID: who.accountID, name: submit.name ?? "", specJSON: specJSON,
            priority: submit.priority ?? 0, qos: qos, gpus: submit.gpus ?? 0,
            idempotencyKey: submit.idempotencyKey, maxAttempts: submit.maxAttempts ?? 3, afterOK: submit.afterOK ?? [],
            timeLimitSeconds: submit.timeLimit, preemptible: submit.preemptible, gpuModel: submit.gpuModel,
            gpuMemoryBytes: Int64(max(0, min(submit.gpuMemoryMiB ?? 0, 1 << 30))) << 20)
        // Every caller passes a spec it parsed as an object and wrote back itself, so only the
        // fields are checked here (the spec's own form is SpecCheck's).
        do { try new.validateFields() } catch { throw APIFailure.badRequest(error.message) }
        do { try SpecCheck.check(kind: kind, spec: spec) } catch { throw APIFailure(status: .badRequest, error: error) }
        return try await authorizeSubmission(new, spec: spec, who: who)
    }

    private func enqueue(_ jobs: [NewJob], array: JobQueue.ArrayShape?, who: Identity) async throws -> [Int64] {
        do { return try await queue.enqueueBatch(jobs, array: array) } catch let error as QueueError {
            throw APIFailure.badRequest(error.message)
        }
    }

    /// `POST /v1/jobs/batch`: `{"jobs": [submission, …]}`, queued in one statement, all or none.
    private func submitBatch(_ request: Request, who: Identity) async throws -> [JobView] {
        let bytes = try await Self.bodyBytes(request, upTo: 8 << 20, send: "{\"jobs\": [submission, ...]}")
        // Parsed once by hand, as one submission is (a thousand specs through JSONDecoder and
        // JSONEncoder were two thirds of a 1,000-job batch's time).
        let root = try Self.jsonObject(bytes)
        try Self.refuseUnknownFields(root, allowed: ["jobs"], what: "a batch")
        guard case .array(let items)? = root["jobs"] else {
            throw APIFailure.badRequest("a field has the wrong type: \"jobs\" must be a list of submissions")
        }
        guard !items.isEmpty else { throw APIFailure.badRequest("\"jobs\" is empty; send at least one submission") }
        guard items.count <= JobQueue.maxBatch else {
            throw APIFailure.badRequest("a batch has at most \(JobQueue.maxBatch) jobs, not \(items.count); split it")
        }
        var jobs: [NewJob] = []
        for (i, item) in items.enumerated() {
            do {
                guard case .object(let fields) = item else { throw APIFailure.badRequest("a submission must be a JSON object") }
                let submit = try Self.submission(fields, allowed: SubmitRequest.fieldNames)
                let spec = submit.spec ?? .object([:])
                guard spec.objectKeys != nil else { throw APIFailure.badRequest("\"spec\" must be a JSON object") }
                jobs.append(try await newJob(submit, specJSON: spec.jsonText, spec: spec, who: who))
            } catch let failure as APIFailure {
                var f = failure
                f.error.message = "job \(i + 1) of the batch: " + f.error.message
                throw f
            }
        }
        let queued = try await enqueue(jobs, array: nil, who: who)
        logger.info("batch submitted", metadata: [
            "hearth.event": "submitted", "jobs": "\(queued.count)", "account.name": "\(who.account)",
            "job.id": "\(queued.first ?? 0)-\(queued.last ?? 0)"])
        return try await views(queued)
    }

    /// `POST /v1/arrays`: a submission with `"array": "0-999%10"`; `{index}` in the spec and name
    /// becomes each element's index. Every element is checked here; one row is written before the
    /// answer (the first element; the array's id is its id) and the others right after it
    /// (``ArrayExpansions``).
    private func submitArray(_ request: Request, who: Identity) async throws -> JobView {
        let bytes = try await Self.bodyBytes(request, upTo: 8 << 20, send: "a JSON job submission with \"array\"")
        let (submit, fields) = try Self.submission(bytes, allowed: ArraySubmitRequest.fieldNames)
        guard case .string(let arrayText)? = fields["array"] else {
            throw APIFailure.badRequest(fields["array"] == nil ? "a field has the wrong type: \"array\" is required"
                                                               : "a field has the wrong type: \"array\" must be a string such as \"0-999%10\"")
        }
        let shape: ArraySpec
        do { shape = try ArraySpec(parsing: arrayText) } catch { throw APIFailure.badRequest(error.message) }
        if submit.idempotencyKey != nil {
            throw APIFailure.badRequest("an idempotency key names one job; leave it out of an array submission")
        }
        let spec = submit.spec ?? .object([:])
        guard spec.objectKeys != nil else { throw APIFailure.badRequest("\"spec\" must be a JSON object") }
        let template = spec.jsonText
        // Each distinct element is checked as it will be queued; without `{index}` they are one job.
        let varies = template.contains("{index}") || submit.name?.contains("{index}") == true
        var checked: NewJob?
        for index in varies ? shape.indexes : [shape.indexes[0]] {
            var element = submit
            element.name = submit.name.map { ArraySpec.substitute($0, index: index) }
            let specJSON = ArraySpec.substitute(template, index: index)
            do {
                var elementSpec = spec
                if varies {
                    do { elementSpec = try JSONValue(parsing: Array(specJSON.utf8)) } catch {
                        throw APIFailure.badRequest("{index} in the spec makes it invalid JSON (\(error)); put it inside a string or where a number goes")
                    }
                }
                let job = try await newJob(element, specJSON: specJSON, spec: elementSpec, who: who)
                if checked == nil { checked = job }
            } catch let failure as APIFailure {
                var f = failure
                f.error.message = "element \(index): " + f.error.message
                throw f
            }
        }
        guard var arrayJob = checked else { throw APIFailure.badRequest("the array has no indexes") }
        arrayJob.name = submit.name ?? ""
        arrayJob.specJSON = template
        let first: Job
        do {
            first = try await queue.enqueueArray(arrayJob, indexes: shape.indexes, parallel: shape.parallel)
        } catch let error as QueueError {
            throw APIFailure.badRequest(error.message)
        }
        logger.info("array submitted", metadata: [
            "hearth.event": "submitted", "job.id": "\(first.id)", "array.size": "\(shape.indexes.count)",
            "account.name": "\(who.account)", "job.kind": "\(submit.kind)"])
        if shape.indexes.count > 1 { arrayExpansions.start(first.id, queue: queue, changes: listings?.changes, logger: logger) }
        var view = Self.view(ofNew: first, account: who.account)
        view.arrayParallel = shape.parallel
        view.arraySize = shape.indexes.count
        return view
    }

    /// The listing's view of these jobs, in this order (one query).
    private func views(_ ids: [Int64]) async throws -> [JobView] {
        guard let low = ids.min(), let high = ids.max() else { return [] }
        var filter = APIQueries.JobFilter()
        filter.all = true
        filter.after = .init(id: low - 1, individual: true)
        filter.limit = Int(high - low + 1)
        let page = try await queries.jobPage(filter)
        let wanted = Set(ids)
        return try APICoding.decoder().decode([JobView].self, from: Data(page.json.utf8)).filter { wanted.contains($0.id) }
    }

    /// The indexes a cancel names in its body (`{"indexes": "1-3,7"}`), or `nil` (no body): all.
    static func arrayCancelIndexes(_ request: Request) async throws -> [Int]? {
        var buffer = try await request.body.collect(upTo: 1 << 16)
        guard let bytes = buffer.readBytes(length: buffer.readableBytes), !bytes.isEmpty else { return nil }
        let object = try jsonObject(bytes)
        try refuseUnknownFields(object, allowed: ["indexes"], what: "an array's cancel")
        guard case .string(let text)? = object["indexes"] else {
            throw APIFailure.badRequest("\"indexes\" must be a string in Slurm's syntax, like \"1-3,7\"")
        }
        do { return try ArrayElementsReference(arrayID: 0, indexes: text).parsed() } catch {
            throw APIFailure.badRequest(error.message.replacing("0_[\(text)]", with: "indexes \"\(text)\""))
        }
    }

    /// `POST /v1/arrays/{id}/cancel`: every element, or those at `indexes`; queued ones in one statement.
    private func cancelArray(_ id: Int64, indexes: [Int]?, who: Identity) async throws -> ArrayCancelResponse {
        await arrayExpansions.settle()
        let elements = try await queue.arrayElements(id)
        guard let first = elements.first else {
            throw Self.noArray(id)
        }
        guard who.isAdmin || first.job.accountID == who.accountID else {
            throw APIFailure.forbidden("array \(id) belongs to another account; only its owner or an admin can cancel it")
        }
        if let indexes { return try await cancelElements(id, indexes: indexes, of: elements, who: who) }
        var response = ArrayCancelResponse(arrayID: id, cancelled: 0, requested: 0, alreadyFinished: 0)
        response.alreadyFinished = elements.filter { $0.job.state.isTerminal }.count
        response.cancelled = try await queue.cancelQueuedElements(arrayID: id)
        // The rest: on a node (at most the array's parallel limit), read again after the statement
        // above so that an element placed meanwhile is not missed.
        for (_, job) in try await queue.arrayElements(id) where [.scheduled, .running].contains(job.state) {
            switch try await queue.cancel(jobID: job.id) {
            case .cancelled: response.cancelled += 1
            case .requested: response.requested += 1
            case .alreadyFinished: break
            }
        }
        logger.notice("array cancelled", metadata: ["hearth.event": "cancelled", "job.id": "\(id)", "account.name": "\(who.account)"])
        return response
    }

    /// Some elements of an array (`hearth cancel 12_[1-3]`): all must exist; queued ones in one statement.
    private func cancelElements(_ id: Int64, indexes: [Int], of elements: [(index: Int, job: Job)], who: Identity) async throws -> ArrayCancelResponse {
        let byIndex = Dictionary(elements.map { ($0.index, $0.job) }, uniquingKeysWith: { a, _ in a })
        let missing = indexes.filter { byIndex[$0] == nil }
        guard missing.isEmpty else {
            throw APIFailure.notFound("array \(id) has no element \(ArraySpec.compress(missing)); its elements are \(id)_[\(ArraySpec.compress(elements.map(\.index)))]")
        }
        let chosen = indexes.compactMap { byIndex[$0] }
        var response = ArrayCancelResponse(arrayID: id, cancelled: 0, requested: 0, alreadyFinished: 0)
        let done = try await queue.cancelQueued(jobIDs: chosen.filter { $0.state == .queued }.map(\.id))
        response.cancelled = done.count
        for job in chosen where !done.contains(job.id) {
            switch try await queue.cancel(jobID: job.id) {
            case .cancelled: response.cancelled += 1
            case .requested: response.requested += 1
            case .alreadyFinished: response.alreadyFinished += 1
            }
        }
        logger.notice("array elements cancelled", metadata: [
            "hearth.event": "cancelled", "job.id": "\(id)", "array.indexes": "\(ArraySpec.compress(indexes))", "account.name": "\(who.account)"])
        return response
    }
}

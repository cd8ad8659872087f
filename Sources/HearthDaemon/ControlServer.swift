import Foundation
import HearthAPI
import HearthArtifacts
import HearthCore
import HearthScheduler
import HearthStore
import Hummingbird
import Logging
import NIOCore

/// The request context: the connection's channel, from which the caller's peer credentials come.
struct ControlContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// Bodies above 1 MiB are refused (413).
    var maxUploadSize: Int { 1 << 20 }
}

/// An error response: an HTTP status and an ``APIError`` body.
struct APIFailure: Error {
    var status: HTTPResponse.Status
    var error: APIError

    static func badRequest(_ m: String) -> APIFailure { .init(status: .badRequest, error: .init(code: "bad-request", message: m)) }
    static func forbidden(_ m: String) -> APIFailure { .init(status: .forbidden, error: .init(code: "forbidden", message: m)) }
    static func notFound(_ m: String) -> APIFailure { .init(status: .notFound, error: .init(code: "not-found", message: m)) }
}

/// The control API: HTTP/1.1 + JSON over a Unix socket, identity from `SO_PEERCRED`.
/// See `Docs/api/openapi.yaml`.
public struct ControlServer: Sendable {
    let queue: JobQueue
    let accounts: AccountStore
    let queries: APIQueries
    let adminGroup: String
    let logger: Logger
    /// What `hearth priority` explains with: the leader's scheduler and the same snapshot reader.
    let scheduler: Scheduler
    let snapshots: SnapshotLoader
    /// Arrays this daemon is still writing out (``ArrayExpansions``).
    let arrayExpansions = ArrayExpansions()
    /// Prometheus metrics at `GET /metrics`, when enabled (`hearthd run --metrics`); not under /v1.
    var metrics: MetricsEndpoint? = nil
    /// `GET /health` and the 503 gate while the database is unreachable (ControlServer+Health.swift).
    var health: HealthEndpoint? = nil
    /// The fleet's artifact store (datasets, checkpoints); `nil` answers its routes with a 400.
    var artifacts: ArtifactServices? = nil
    /// The owner's pool, for fleet-wide actions (other nodes' rows, grants, invites, revocations);
    /// `nil` on an enrolled node, where nobody is a fleet admin (ControlServer+Fleet.swift).
    var fleet: PostgresClient? = nil
    /// This node's name: its root and admin group are admins of it alone.
    var nodeName: String = ""
    /// Callers resolved before (``IdentityCache``); `nil` reads the account for every request.
    var identities: IdentityCache? = nil
    /// Listing pages answered before (``ListingCache``); `nil` reads every listing.
    var listings: ListingCache? = nil

    /// Every route served, as "METHOD /path" with OpenAPI-style parameters; a test holds
    /// Docs/api/openapi.yaml to exactly this set.
    public static let routes: Set<String> = Set([
        "GET /v1/whoami", "POST /v1/jobs", "GET /v1/jobs/{id}", "POST /v1/jobs/{id}/cancel", "GET /v1/jobs/{id}/log",
        "GET /v1/jobs/{id}/eval",
        "GET /v1/nodes", "POST /v1/nodes/{name}/drain", "POST /v1/nodes/{name}/resume",
        "GET /v1/endpoints",
        "GET /v1/reports/donors/{name}", "GET /v1/reports/projects/{name}", "GET /v1/reports/accounts/{name}",
        "GET /v1/reports/fleet", "GET /v1/usage",
        "GET /v1/ledger/verify",
    ]).union(fleetRoutes).union(schedulingRoutes).union(pipelineRoutes).union(jobListRoutes).union(cancelByFilterRoutes).union(grantRoutes).union(artifactRoutes).union(checkpointRoutes).union(datasetPrepareRoutes)

    func makeRouter() -> Router<ControlContext> {
        let router = Router(context: ControlContext.self)
        if let listings { router.add(middleware: ListingWrites(changes: listings.changes)) }  // before every route
        addHealthRoutes(to: router)
        addArtifactRoutes(to: router)
        addCheckpointRoutes(to: router)
        addDatasetPrepareRoutes(to: router)
        router.get("/v1/endpoints") { request, context in
            try await respond(context) { who in try await endpoints(request, who: who) }
        }
        router.get("/v1/whoami") { _, context in
            try await respond(context) { who in WhoAmI(account: who.account, uid: Int(who.uid), role: who.role.rawValue) }
        }
        addCancelByFilterRoutes(to: router)
        router.post("/v1/jobs") { request, context in
            try await respond(context, status: .created) { who in try await submit(request, who: who) }
        }
        router.get("/v1/jobs/:id") { _, context in
            try await respond(context) { who in
                let id = try jobID(context)
                try await authorizeRead(job: id, who: who, what: "details")
                guard var job = try await queries.job(id) else { throw APIFailure.notFound("no job \(id)") }
                if job.arrayID == job.id {  // an array's first job also tells how far the array is
                    await arrayExpansions.settle()
                    _ = try await queue.expandArrays(arrayID: id)
                    job.arrayStates = try await queries.arrayStates(id)
                }
                return job
            }
        }
        router.post("/v1/jobs/:id/cancel") { _, context in
            try await respond(context) { who in try await cancel(jobID(context), who: who) }
        }
        router.get("/v1/jobs/:id/log") { request, context in
            try await respond(context) { who in
                let id = try jobID(context)
                try await authorizeRead(job: id, who: who, what: "log")
                let cursor = APIQueries.LogCursor(request.uri.queryParameters["cursor"].map(String.init))
                guard let page = try await queries.log(jobID: id, after: cursor) else { throw APIFailure.notFound("no job \(id)") }
                return page
            }
        }
        router.get("/v1/jobs/:id/eval") { _, context in
            try await respond(context) { who in
                let id = try jobID(context)
                try await authorizeRead(job: id, who: who, what: "evaluation results")
                guard let view = try await queries.evalResults(jobID: id) else { throw APIFailure.notFound("no job \(id)") }
                return view
            }
        }
        router.get("/v1/nodes") { request, context in
            switch request.uri.queryParameters["format"] {
            case nil, "json":
                return try await respond(context) { _ in try await queries.nodes() }
            case "table":
                do {
                    try await requireUser(context)
                    let text = NodeTable.render(try await queries.nodes(), now: Date())
                    return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                                    body: .init(byteBuffer: ByteBuffer(string: text)))
                } catch {
                    return try await respond(context) { _ -> [NodeView] in throw error }
                }
            default:
                return try await respond(context) { _ -> [NodeView] in
                    throw APIFailure.badRequest("format is json (the default) or table (the rows hearth nodes prints)")
                }
            }
        }
        for (action, state) in [("drain", "draining"), ("resume", "up")] {
            router.post("/v1/nodes/:name/\(action)") { _, context in
                try await respond(context) { who in try await setNodeState(context, to: state, action: action, who: who) }
            }
        }
        addSchedulingRoutes(to: router)
        addJobListRoutes(to: router)
        addPipelineRoutes(to: router)
        addGrantRoutes(to: router)
        addFleetRoutes(to: router)
        if let metrics {
            router.get("/metrics") { _, _ in
                let text = try await metrics.scrape()
                return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                                body: .init(byteBuffer: ByteBuffer(string: text)))
            }
        }
        // Reports (ControlServer+Reports.swift).
        for (path, scope) in [("donors", UsageReport.Scope.donor), ("projects", .project), ("accounts", .account)] {
            router.get("/v1/reports/\(path)/:name") { request, context in
                try await respond(context) { who in
                    try await usageReport(request, scope: scope, subject: context.parameters.get("name"), who: who)
                }
            }
        }
        router.get("/v1/reports/fleet") { request, context in
            try await respond(context) { who in try await usageReport(request, scope: .fleet, subject: nil, who: who) }
        }
        router.get("/v1/usage") { request, context in
            try await respond(context) { who in try await accountUsage(request, who: who) }
        }
        router.get("/v1/ledger/verify") { request, context in
            try await respond(context) { who in try await verifyLedger(request, who: who) }
        }
        return router
    }

    // MARK: Handlers

    private func submit(_ request: Request, who: Identity) async throws -> JobView {
        let bytes = try await Self.bodyBytes(request, upTo: 1 << 20, send: "a JSON job submission")
        let (submit, _) = try Self.submission(bytes, allowed: SubmitRequest.fieldNames)
        var spec = submit.spec ?? .object([:])
        guard spec.objectKeys != nil else { throw APIFailure.badRequest("\"spec\" must be a JSON object") }
        // Dataset names are pinned to their digest now (other paths keep the name, resolved at launch).
        spec = try await resolveDatasets(in: spec, who: who)
        let specJSON = spec.jsonText
        // Field checks first (cheap, and they name the field), then the spec's form, then grants.
        let new = try await newJob(submit, specJSON: specJSON, spec: spec, who: who)
        let result: JobQueue.Submission
        do { result = try await queue.enqueue(new) } catch let error as QueueError {
            switch error.code {
            case .idempotencyConflict: throw APIFailure(status: .conflict, error: .init(code: "conflict", message: error.message))
            default: throw APIFailure.badRequest(error.message)
            }
        }
        if result.created {
            logger.info("job submitted", metadata: [
                "hearth.event": "submitted", "job.id": "\(result.job.id)", "account.name": "\(who.account)", "job.kind": "\(submit.kind)"])
        }
        // A new job's answer is the row the statement returned (one round trip fewer); an earlier
        // job found by its key may have moved on since, so it is read as it is now.
        let current: JobView? = result.created ? Self.view(ofNew: result.job, account: who.account) : try await queries.job(result.job.id)
        guard var view = current else { throw APIFailure.notFound("job vanished") }
        view.duplicate = !result.created
        return view
    }

    /// A submission body read as `POST /v1/jobs` and `POST /v1/arrays` take it: a JSON object
    /// (parsed once, by hand: ``JSONValue/init(parsing:)``) with no field outside `allowed`.
    /// Returns the submission and the object it was read from (for fields beyond a submission's).
    static func submission(_ bytes: [UInt8], allowed: Set<String>) throws -> (SubmitRequest, [String: JSONValue]) {
        let object = try jsonObject(bytes)
        return (try submission(object, allowed: allowed), object)
    }

    /// A request's whole body (at most `limit` bytes); an empty one is refused, saying what to `send`.
    static func bodyBytes(_ request: Request, upTo limit: Int, send: String) async throws -> [UInt8] {
        var buffer = try await request.body.collect(upTo: limit)
        guard let bytes = buffer.readBytes(length: buffer.readableBytes), !bytes.isEmpty else {
            throw APIFailure.badRequest("the request has no body; send \(send)")
        }
        return bytes
    }

    /// A request body that must be one JSON object, parsed by hand.
    static func jsonObject(_ bytes: [UInt8]) throws -> [String: JSONValue] {
        do {
            guard case .object(let o) = try JSONValue(parsing: bytes) else {
                throw APIFailure.badRequest("the body must be a JSON object")
            }
            return o
        } catch let error as JSONValue.ParseError {
            throw APIFailure.badRequest("the body is not valid JSON: \(error)")
        }
    }

    /// One submission from its object: no field outside `allowed`, each field of its type.
    static func submission(_ object: [String: JSONValue], allowed: Set<String>) throws -> SubmitRequest {
        try refuseUnknownFields(object, allowed: allowed, what: "a submission")
        do { return try SubmitRequest(object: object) } catch {
            throw APIFailure.badRequest("a field has the wrong type: \(error.message)")
        }
    }

    /// Refuses a field outside `allowed`, so a typo is not silently ignored.
    static func refuseUnknownFields(_ object: [String: JSONValue], allowed: Set<String>, what: String) throws {
        if let unknown = object.keys.filter({ !allowed.contains($0) }).sorted().first {
            throw APIFailure(status: .badRequest, error: .init(code: "unknown-field", message:
                "unknown field \"\(unknown)\"; \(what) has \(allowed.sorted().joined(separator: ", "))"))
        }
    }

    /// A job just queued, as `GET /v1/jobs/{id}` shows it (no node, progress or array yet).
    static func view(ofNew job: Job, account: String) -> JobView {
        var view = JobView(
            id: job.id, kind: job.kind, name: job.name, account: account, state: job.state, gpus: job.gpus,
            priority: job.priority, qos: job.qos, attempt: job.attempt, failures: job.failures, maxAttempts: job.maxAttempts,
            preemptions: job.preemptions, node: nil, createdAt: job.createdAt, startedAt: job.startedAt,
            finishedAt: job.finishedAt, cancelRequested: job.cancelRequestedAt != nil, lastError: job.lastError,
            step: nil, loss: nil)
        view.afterOK = job.afterOK
        view.timeLimit = job.timeLimitSeconds
        view.arrayID = job.arrayID
        view.arrayIndex = job.arrayIndex
        return view
    }

    private func cancel(_ id: Int64, who: Identity) async throws -> CancelResponse {
        guard let job = try await queue.job(id) else { throw APIFailure.notFound("no job \(id)") }
        guard who.isAdmin || job.accountID == who.accountID else {
            throw APIFailure.forbidden("job \(id) belongs to another account; only its owner or a fleet admin can cancel it"
                + (who.nodeAdmin ? " (\(notFleetAdmin(who)))" : ""))
        }
        let outcome = try await queue.cancel(jobID: id)
        let state = try await queue.job(id)?.state ?? job.state
        switch outcome {
        case .cancelled: return CancelResponse(id: id, outcome: "cancelled", state: state)
        case .requested: return CancelResponse(id: id, outcome: "requested", state: state)
        case .alreadyFinished: return CancelResponse(id: id, outcome: "already-finished", state: state)
        }
    }

    private func setNodeState(_ context: ControlContext, to state: String, action: String, who: Identity) async throws -> NodeView {
        let name = context.parameters.get("name") ?? ""
        guard who.isAdmin || (who.nodeAdmin && name == nodeName) else {
            if who.nodeAdmin {
                throw APIFailure.forbidden("to \(action) node \(name) is a fleet-wide action; \(notFleetAdmin(who))")
            }
            throw APIFailure.forbidden("only admins can \(action) nodes (fleet admins, or root and members of \(adminGroup) their own node)")
        }
        guard let target = NodeState(rawValue: state),
              try await nodeStore(for: name).setState(hostname: name, to: target) != nil,
              let node = try await queries.nodes().first(where: { $0.hostname == name }) else {
            throw APIFailure.notFound("no node named \"\(name)\"; hearth nodes lists them")
        }
        logger.notice("node \(action) by \(who.account)", metadata: ["node.name": "\(name)", "hearth.event": "node-\(action)"])
        return node
    }

    func jobID(_ context: ControlContext) throws -> Int64 {
        guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else {
            throw APIFailure.badRequest("a job id is a positive number")
        }
        return id
    }

    // MARK: Plumbing

    /// Identifies the caller, runs the handler, and turns its value or error into a JSON response.
    func respond<T: Encodable>(
        _ context: ControlContext, status: HTTPResponse.Status = .ok, _ body: (Identity) async throws -> T
    ) async throws -> Response {
        do {
            let who = try await identify(context)
            return try json(try await body(who), status: status)
        } catch let failure as APIFailure {
            return try json(failure.error, status: failure.status)
        } catch is NIOTooManyBytesError {
            return try json(APIError(code: "too-large", message: "the request body is over 1 MiB"), status: .contentTooLarge)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            return try json(APIError(code: "too-large", message: "the request body is over 1 MiB"), status: .contentTooLarge)
        } catch {
            logger.error("request failed: \(String(reflecting: error))")
            return try json(APIError(code: "internal", message: "the daemon could not complete the request: \(error)"),
                            status: .internalServerError)
        }
    }

    func identify(_ context: ControlContext) async throws -> Identity {
        guard let provider = context.channel as? any SocketOptionProvider else {
            throw APIFailure.forbidden("the connection carries no peer credentials (not a Unix socket)")
        }
        let cred: PeerCredentials = try await provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED)).get()
        guard let who = try await Identity.resolve(uid: cred.uid, adminGroup: adminGroup, accounts: accounts, fleetWide: fleet != nil,
                                                   cache: identities) else {
            throw APIFailure.forbidden("uid \(cred.uid) has no user name on this node")
        }
        return who
    }

    private func json<T: Encodable>(_ value: T, status: HTTPResponse.Status) throws -> Response {
        let data = try APICoding.encoder().encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func describe(_ error: any Error) -> String {
        guard let e = error as? DecodingError else { return "\(error)" }
        switch e {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
            let path = c.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? c.debugDescription : "\"\(path)\": \(c.debugDescription)"
        case .keyNotFound(let key, _):
            return "\"\(key.stringValue)\" is required"
        @unknown default:
            return "\(error)"
        }
    }
}

/// Linux's `struct ucred` (pid, uid, gid), as `getsockopt(SO_PEERCRED)` fills it.
struct PeerCredentials {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

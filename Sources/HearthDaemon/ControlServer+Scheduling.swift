import Foundation
import HearthAPI
import HearthCore
import HearthScheduler
import HearthStore
import Hummingbird
import Logging

/// The scheduler's part of the control API: `hearth priority`, donor policies and reclaim.
extension ControlServer {
    static let schedulingRoutes: Set<String> = [
        "GET /v1/priority", "GET /v1/jobs/{id}/priority",
        "GET /v1/nodes/{name}/policy", "PUT /v1/nodes/{name}/policy",
        "POST /v1/nodes/{name}/reclaim", "POST /v1/nodes/{name}/release",
    ]

    func addSchedulingRoutes(to router: Router<ControlContext>) {
        router.get("/v1/priority") { _, context in
            try await respond(context) { _ in try await priorities(job: nil) }
        }
        router.get("/v1/jobs/:id/priority") { _, context in
            try await respond(context) { _ in
                let id = try jobID(context)
                if let view = try await priorities(job: id).first { return view }
                guard let job = try await queue.job(id) else { throw APIFailure.notFound("no job \(id)") }
                if job.state == .queued, let array = job.arrayID, let index = job.arrayIndex {
                    // Held back by the array's %N limit: the scheduler does not see it yet.
                    throw APIFailure(status: .conflict, error: .init(code: "not-pending", message: """
                        job \(id) (\(array)_\(index)) waits for its array's limit on how many run at once; \
                        it is weighed once an earlier element of array \(array) ends (hearth queue --array \(array))
                        """))
                }
                throw APIFailure(status: .conflict, error: .init(code: "not-pending", message: job.state == .queued
                    ? "job \(id) is queued but not yet weighed by the scheduler; ask again in a moment"
                    : "job \(id) is \(job.state.rawValue), not queued: priority explains only pending jobs"))
            }
        }
        router.get("/v1/nodes/:name/policy") { _, context in
            try await respond(context) { _ in
                let name = context.parameters.get("name") ?? ""
                let rows = try await queue.client.query("SELECT policy::text AS policy FROM nodes WHERE hostname = \(name)")
                guard let row = rows.first else { throw APIFailure.notFound("no node named \"\(name)\"; hearth nodes lists them") }
                return try JSONDecoder().decode(PolicyDocument.self, from: Data(try row.decode("policy", as: String.self).utf8))
            }
        }
        router.put("/v1/nodes/:name/policy") { request, context in
            try await respond(context) { who in try await setPolicy(request, context: context, who: who) }
        }
        router.post("/v1/nodes/:name/reclaim") { _, context in
            try await respond(context) { who in
                let name = try await authorizeDonorAction(context, who: who, action: "reclaim")
                guard let jobs = try await nodeStore(for: name).reclaim(hostname: name) else {
                    throw APIFailure.notFound("no node named \"\(name)\"; hearth nodes lists them")
                }
                logger.notice("node reclaimed by its donor; preempting its jobs", metadata: [
                    "node.name": "\(name)", "account": "\(who.account)", "jobs": "\(jobs)", "hearth.event": "node-reclaimed"])
                return ReclaimResponse(node: name, reclaimed: true, preempting: jobs)
            }
        }
        router.post("/v1/nodes/:name/release") { _, context in
            try await respond(context) { who in
                let name = try await authorizeDonorAction(context, who: who, action: "release")
                guard try await nodeStore(for: name).release(hostname: name) else {
                    throw APIFailure.notFound("no node named \"\(name)\"; hearth nodes lists them")
                }
                logger.notice("node lent again by its donor", metadata: [
                    "node.name": "\(name)", "account": "\(who.account)", "hearth.event": "node-released"])
                return ReclaimResponse(node: name, reclaimed: false, preempting: [])
            }
        }
    }

    /// Explanations for one pending job, or for the whole queue in pass order.
    private func priorities(job: Int64?) async throws -> [PriorityView] {
        await arrayExpansions.settle()
        let loaded = try await snapshots.load()
        let explanations: [PriorityExplanation]
        if let job {
            explanations = scheduler.explain(job: job, in: loaded.snapshot, now: loaded.now).map { [$0] } ?? []
        } else {
            explanations = scheduler.explainQueue(in: loaded.snapshot, now: loaded.now)
        }
        let pending = Dictionary(loaded.snapshot.pending.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var views = explanations.map { e in
            let f = e.factors
            let factors = [
                PriorityView.Factor(name: "age", value: f.age, weight: e.ageWeight, points: f.age * e.ageWeight),
                PriorityView.Factor(name: "fairshare", value: f.fairShare, weight: e.fairShareWeight, points: f.fairShare * e.fairShareWeight),
                PriorityView.Factor(name: "size", value: f.size, weight: e.sizeWeight, points: f.size * e.sizeWeight),
                PriorityView.Factor(name: "qos", value: f.qos, weight: e.qosWeight, points: f.qos * e.qosWeight),
                PriorityView.Factor(name: "user", value: f.user, weight: e.userPriorityWeight, points: f.user * e.userPriorityWeight),
            ]
            let account = pending[e.jobID].map { loaded.accountNames[$0.accountID] ?? "#\($0.accountID)" } ?? "?"
            let usage = pending[e.jobID].flatMap { p in
                loaded.snapshot.usage.usage[Association(projectID: p.projectID, accountID: p.accountID)]
            }
            var view = PriorityView(
                jobID: e.jobID, account: account, priority: f.priority, factors: factors, rank: e.rank,
                queueLength: e.queueLength, reason: e.reason.label, explanation: sentence(e.reason, names: loaded.nodeNames),
                expectedStart: e.expectedStart, expectedNode: e.expectedNode.map { loaded.nodeNames[$0] ?? "\($0)" },
                decayedGPUHours: (usage ?? 0) / 3600, fairShareFactor: e.fairShare?.factor)
            view.inputsCachedOn = loaded.snapshot.inputLocality[e.jobID].map { held in
                held.map { PriorityView.CachedInputs(node: loaded.nodeNames[$0.key] ?? "node \($0.key)", bytes: $0.value) }
                    .sorted { ($0.bytes, $1.node) > ($1.bytes, $0.node) }
            }
            return view
        }
        // One job's explanation also says how much its inputs weigh in all.
        if job != nil {
            for i in views.indices {
                views[i].inputBytes = try await queue.client.query(
                    "SELECT coalesce(sum(bytes), 0)::bigint AS n FROM hearth_job_input_blobs(\(views[i].jobID)::bigint)")[0].decode("n")
            }
        }
        return views
    }

    /// The scheduler's sentence, with node names instead of ids.
    private func sentence(_ reason: PendingReason, names: [Int64: String]) -> String {
        if case .startingNow(let node) = reason { return "starting now on \(names[node] ?? "node \(node)")" }
        return reason.sentence
    }

    /// The node named in the path, when the caller is its donor or an admin.
    private func authorizeDonorAction(_ context: ControlContext, who: Identity, action: String) async throws -> String {
        let name = context.parameters.get("name") ?? ""
        let (exists, donor) = try await NodeStore(client: queue.client).donor(hostname: name)
        guard exists else { throw APIFailure.notFound("no node named \"\(name)\"; hearth nodes lists them") }
        guard who.isAdmin || (donor != nil && donor == who.account) || (who.nodeAdmin && name == nodeName) else {
            let owner = donor.map { "its donor (\($0))" } ?? "a fleet admin (the node has no donor)"
            throw APIFailure.forbidden("only \(owner), a fleet admin or the node's own root can \(action) node \(name)"
                + (who.nodeAdmin ? " (\(notFleetAdmin(who)))" : ""))
        }
        return name
    }

    private func setPolicy(_ request: Request, context: ControlContext, who: Identity) async throws -> PolicyDocument {
        let name = try await authorizeDonorAction(context, who: who, action: "set the policy of")
        var body = try await request.body.collect(upTo: 1 << 20)
        guard let bytes = body.readBytes(length: body.readableBytes), !bytes.isEmpty else {
            throw APIFailure.badRequest("the request has no body; send the policy as a JSON object")
        }
        guard let raw = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)), let keys = raw.objectKeys else {
            throw APIFailure.badRequest("the policy must be a JSON object")
        }
        if let unknown = keys.subtracting(PolicyDocument.fieldNames).sorted().first {
            throw APIFailure(status: .badRequest, error: .init(code: "unknown-field", message:
                "unknown policy key \"\(unknown)\"; a policy has \(PolicyDocument.fieldNames.sorted().joined(separator: ", "))"))
        }
        let policy: PolicyDocument
        do { policy = try JSONDecoder().decode(PolicyDocument.self, from: Data(bytes)) } catch {
            throw APIFailure.badRequest("a policy field has the wrong type: \(Self.describe(error))")
        }
        do { try policy.validate(knownKinds: JobKind.allCases.map(\.rawValue)) } catch {
            throw APIFailure(status: .badRequest, error: error)
        }
        let json = String(decoding: try APICoding.encoder().encode(policy), as: UTF8.self)
        guard try await nodeStore(for: name).setPolicy(hostname: name, policyJSON: json) else {
            throw APIFailure.notFound("no node named \"\(name)\"; hearth nodes lists them")
        }
        logger.notice("node policy changed", metadata: [
            "node.name": "\(name)", "account": "\(who.account)", "policy": "\(json)", "hearth.event": "node-policy"])
        return policy
    }
}

import Foundation
import HearthAPI
import HearthCore
import HearthStore
import Hummingbird
import Logging

/// `POST /v1/pipelines`: a chain of jobs (train → eval → distill → serve) in one submission.
extension ControlServer {
    static let pipelineRoutes: Set<String> = ["POST /v1/pipelines"]

    func addPipelineRoutes(to router: Router<ControlContext>) {
        router.post("/v1/pipelines") { request, context in
            try await respond(context, status: .created) { who in try await submitPipeline(request, who: who) }
        }
    }

    /// Checks every step before queueing any, then queues them in order with their
    /// dependencies, in one transaction: a pipeline is queued whole or not at all.
    private func submitPipeline(_ request: Request, who: Identity) async throws -> [JobView] {
        var body = try await request.body.collect(upTo: 1 << 20)
        guard let bytes = body.readBytes(length: body.readableBytes), !bytes.isEmpty,
              let raw = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)), case .object(let top) = raw else {
            throw APIFailure.badRequest("the body must be a JSON object {\"steps\": [...]}")
        }
        if let unknown = Set(top.keys).subtracting(["steps"]).sorted().first {
            throw APIFailure(status: .badRequest, error: .init(code: "unknown-field", message: "unknown field \"\(unknown)\"; a pipeline has only \"steps\""))
        }
        guard case .array(let rawSteps)? = top["steps"], !rawSteps.isEmpty, rawSteps.count <= 32 else {
            throw APIFailure.badRequest("\"steps\" must list 1 to 32 jobs")
        }
        for (i, step) in rawSteps.enumerated() {
            guard let keys = step.objectKeys else { throw APIFailure.badRequest("step \(i + 1) must be a JSON object") }
            if let unknown = keys.subtracting(PipelineRequest.Step.fieldNames).sorted().first {
                throw APIFailure(status: .badRequest, error: .init(code: "unknown-field", message:
                    "step \(i + 1): unknown field \"\(unknown)\"; a step has \(PipelineRequest.Step.fieldNames.sorted().joined(separator: ", "))"))
            }
        }
        let pipeline: PipelineRequest
        do { pipeline = try JSONDecoder().decode(PipelineRequest.self, from: Data(bytes)) } catch {
            throw APIFailure.badRequest("a step field has the wrong type: \(Self.describe(error))")
        }

        // Check everything first: names, order, references, fields, specs.
        var seen: Set<String> = []
        var plans: [(step: PipelineRequest.Step, after: [String], preemptible: Bool?, kind: JobKind, qos: QOS)] = []
        for step in pipeline.steps {
            let label = "step \"\(step.name)\""
            if step.name.isEmpty || seen.contains(step.name) {
                throw APIFailure.badRequest("every step needs a name of its own; \(step.name.isEmpty ? "one has none" : "\"\(step.name)\" is used twice")")
            }
            let spec = step.spec ?? .object([:])
            guard spec.objectKeys != nil else { throw APIFailure.badRequest("\(label): \"spec\" must be a JSON object") }
            let refs = PipelineRequest.references(in: spec)
            let after = Array(Set(step.after ?? []).union(refs)).sorted()
            if let unknown = after.first(where: { !seen.contains($0) }) {
                throw APIFailure.badRequest("\(label) refers to \"\(unknown)\", which is not an earlier step; list steps in the order they run")
            }
            let kind: JobKind, qos: QOS
            do { (kind, qos) = (try JobKind(validating: step.kind), try QOS(validating: step.qos)) } catch {
                throw APIFailure.badRequest("\(label): \(error.message)")
            }
            let probe = NewJob(kind: kind, accountID: who.accountID, name: step.name, priority: step.priority ?? 0,
                               qos: qos, gpus: step.gpus ?? 0, afterOK: after.map { _ in 1 },
                               timeLimitSeconds: step.timeLimit, preemptible: step.preemptible)
            do { try probe.validate() } catch { throw APIFailure.badRequest("\(label): \(error.message)") }
            do { try SpecCheck.check(kind: kind, spec: spec) } catch {
                throw APIFailure(status: .badRequest, error: .init(code: error.code, message: "\(label): \(error.message)"))
            }
            // Every step within the caller's grants, or nothing is queued.
            let allowed = try await authorizeSubmission(probe, spec: spec, who: who, label: label)
            seen.insert(step.name)
            plans.append((step, after, allowed.preemptible, kind, qos))
        }

        // Queue in order, in one transaction: all steps or none (never some queued, then cancelled).
        let queued: [Int64]
        do {
            let steps = plans
            queued = try await queue.enqueueAll(count: steps.count) { earlier in
                let (step, after, preemptible, kind, qos) = steps[earlier.count]
                let ids = Dictionary(uniqueKeysWithValues: zip(steps.prefix(earlier.count).map(\.0.name), earlier))
                let spec = PipelineRequest.rewrite(step.spec ?? .object([:]), ids: ids)
                let specJSON = String(decoding: try JSONEncoder().encode(spec), as: UTF8.self)
                return NewJob(
                    kind: kind, accountID: who.accountID, name: step.name, specJSON: specJSON,
                    priority: step.priority ?? 0, qos: qos, gpus: step.gpus ?? 0,
                    afterOK: after.compactMap { ids[$0] }, timeLimitSeconds: step.timeLimit, preemptible: preemptible)
            }.map(\.id)
        } catch let q as QueueError {
            throw APIFailure.badRequest("the pipeline was not queued: \(q.message)")
        }
        logger.info("pipeline submitted", metadata: [
            "account": "\(who.account)", "jobs": "\(queued)", "hearth.event": "submitted"])
        var views: [JobView] = []
        for id in queued { if let v = try await queries.job(id) { views.append(v) } }
        return views
    }
}

import Foundation
import HearthAPI
import HearthArtifacts
import HearthCore
import HearthStore
import Hummingbird
import Logging

/// Removing a job's stored checkpoints (`hearth checkpoints rm`): retention keeps a job's newest
/// `keep_checkpoints` and always its final one, until its owner (or an admin) removes them.
extension ControlServer {
    static let checkpointRoutes: Set<String> = ["DELETE /v1/jobs/{id}/checkpoints"]

    func addCheckpointRoutes(to router: Router<ControlContext>) {
        router.delete("/v1/jobs/:id/checkpoints") { request, context in
            try await respond(context) { who in
                let id = try jobID(context)
                let step = try request.uri.queryParameters["step"].map { text -> Int in
                    guard let n = Int(String(text)), n >= 0 else {
                        throw APIFailure.badRequest("step must be a checkpoint's step (a whole number), got \"\(text)\"")
                    }
                    return n
                }
                return try await removeCheckpoints(job: id, step: step, who: who)
            }
        }
    }

    private func removeCheckpoints(job id: Int64, step: Int?, who: Identity) async throws -> [ArtifactView] {
        let owner = try await authorizeRead(job: id, who: who, what: "checkpoints")
        guard who.isAdmin || owner.accountID == who.accountID else {
            throw APIFailure.forbidden("job \(id) belongs to \(owner.account); only its owner and admins may remove its checkpoints")
        }
        guard let job = try await queue.job(id) else { throw APIFailure.notFound("no job \(id)") }
        // A job that may still run resumes from its newest stored checkpoint: it stays.
        guard job.state.isTerminal else {
            throw APIFailure(status: .conflict, error: .init(code: "conflict", message: """
                job \(id) is \(job.state.rawValue) and resumes from its stored checkpoints; remove them once it has ended \
                (or cancel it first: hearth cancel \(id))
                """))
        }
        let catalog = try services().catalog
        let stored = try await catalog.checkpoints(jobID: id)
        let chosen = stored.filter { step == nil || $0.step == step }
        guard !chosen.isEmpty else {
            let steps = stored.compactMap(\.step).map(String.init).joined(separator: ", ")
            throw APIFailure.notFound(step.map { s in
                "job \(id) has no stored checkpoint at step \(s)" + (steps.isEmpty ? "" : " (stored: \(steps))")
            } ?? "job \(id) has no stored checkpoints")
        }
        for c in chosen { try await catalog.delete(id: c.id) }
        logger.info("checkpoints removed", metadata: [
            "hearth.event": "checkpoints-removed", "job.id": "\(id)", "account": "\(who.account)",
            "checkpoint.steps": "\(chosen.compactMap(\.step).map(String.init).joined(separator: ","))"])
        return chosen.map(Self.view)
    }
}

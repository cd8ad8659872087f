import Foundation
import HearthAPI
import HearthArtifacts
import HearthCore
import HearthStore
import Hummingbird
import Logging

/// Raw text pushed as a dataset (`hearth dataset push corpus.txt --name NAME`): the text is kept
/// as a `text` artifact of the pusher's, and a job of theirs prepares it on a node
/// (`hearth-worker prepare`, char tokenizer) and stores the shards as the next version of NAME
/// (``JobRunner/publishPreparedDataset``). The CLI stays small: it never links the trainer.
extension ControlServer {
    static let datasetPrepareRoutes: Set<String> = ["POST /v1/datasets/prepare"]

    func addDatasetPrepareRoutes(to router: Router<ControlContext>) {
        router.post("/v1/datasets/prepare") { request, context in
            try await respond(context, status: .accepted) { who in try await prepareDataset(request, who: who) }
        }
    }

    private func prepareDataset(_ request: Request, who: Identity) async throws -> DatasetPrepareView {
        var body = try await request.body.collect(upTo: 1 << 20)
        guard let bytes = body.readBytes(length: body.readableBytes),
              let req = try? JSONDecoder().decode(DatasetPrepareRequest.self, from: Data(bytes)) else {
            throw APIFailure.badRequest("the body must be {\"name\": NAME, \"text\": {\"path\", \"sha256\", \"bytes\"}}")
        }
        guard req.name.range(of: #"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"#, options: .regularExpression) != nil else {
            throw APIFailure.badRequest("\"\(req.name)\" cannot name a dataset: use letters, digits, '_', '.' and '-' (up to 128), starting with a letter or digit")
        }
        let file = req.text.path
        guard !file.isEmpty, !file.contains("/"), file != ".", file != ".." else {
            throw APIFailure.badRequest("the text's file name \"\(file)\" must be a plain name, without '/'")
        }
        let artifacts = try services()
        guard try await artifacts.store.blob(sha256: req.text.sha256)?.bytes == req.text.bytes else {
            throw APIFailure.badRequest("\(file): no stored blob \(req.text.sha256) of \(req.text.bytes) bytes; upload it first (POST /v1/blobs)")
        }
        guard req.text.bytes > 0 else { throw APIFailure.badRequest("\(file) is empty: there is no text to prepare") }
        let text: Artifact
        do {
            text = try await artifacts.catalog.create(
                kind: .text, name: req.name, ownerID: who.accountID,
                files: [ArtifactFile(path: file, sha256: req.text.sha256, bytes: req.text.bytes)])
        } catch let error as ArtifactError {
            throw APIFailure.badRequest(error.message)
        }
        let spec: [String: Any] = ["prepare": ["text_artifact": text.id, "file": file, "dataset": req.name]]
        let specJSON = String(decoding: try JSONSerialization.data(withJSONObject: spec, options: [.sortedKeys]), as: UTF8.self)
        let job: Job
        do {
            job = try await queue.enqueue(NewJob(kind: .command, accountID: who.accountID, name: "prepare-\(req.name)", specJSON: specJSON)).job
        } catch {
            _ = try? await artifacts.catalog.delete(id: text.id)
            throw error
        }
        logger.info("raw text pushed; a job prepares it", metadata: [
            "hearth.event": "dataset-prepare-queued", "job.id": "\(job.id)", "account": "\(who.account)", "dataset": "\(req.name)",
            "bytes": "\(req.text.bytes)"])
        return DatasetPrepareView(name: req.name, job: job.id)
    }
}

import Foundation
import HearthArtifacts
import HearthCore
import HearthProcess
import HearthStore
import Logging

/// Raw text pushed as a dataset (`POST /v1/datasets/prepare`): a command job whose spec is
/// `{"prepare": {"text_artifact": ID, "file": NAME, "dataset": DATASET}}`. The node puts the text
/// in the job's inputs, runs `hearth-worker prepare TEXT --out DIR` as the job's user, and on
/// exit 0 stores DIR as the next version of DATASET, owned by the job's owner.
struct PrepareSpec: Sendable, Hashable {
    var textArtifact: Int64
    var file: String
    var dataset: String
    /// Set at launch: the text and the output directory, as the job sees them.
    var input: String?
    var output: String?

    init?(specJSON: String) {
        guard specJSON.contains("\"prepare\""),
              let spec = (try? JSONSerialization.jsonObject(with: Data(specJSON.utf8))) as? [String: Any],
              let p = spec["prepare"] as? [String: Any], let id = (p["text_artifact"] as? NSNumber)?.int64Value,
              let file = p["file"] as? String, let dataset = p["dataset"] as? String else { return nil }
        textArtifact = id; self.file = file; self.dataset = dataset
        input = p["input"] as? String; output = p["output"] as? String
    }

    /// `specJSON` with this `prepare` object in place of its own.
    func written(into specJSON: String) throws -> String {
        guard var spec = try JSONSerialization.jsonObject(with: Data(specJSON.utf8)) as? [String: Any] else { return specJSON }
        var p: [String: Any] = ["text_artifact": textArtifact, "file": file, "dataset": dataset]
        if let input { p["input"] = input }
        if let output { p["output"] = output }
        spec["prepare"] = p
        return String(decoding: try JSONSerialization.data(withJSONObject: spec, options: [.sortedKeys]), as: UTF8.self)
    }
}

extension JobRunner {
    /// Puts a prepare job's text in `inputs/text/ID/FILE` and names it and the attempt's output
    /// directory (`prepared-ATTEMPT` in the job's own directory) in the spec. Only the job's
    /// owner's text is taken.
    func materializeText(specJSON: String, job: Job, inputs: JobInputs, outputDirectory: String, log: Logger) async throws
        -> (specJSON: String, pins: [String])
    {
        guard job.kind == .command, var prepare = PrepareSpec(specJSON: specJSON) else { return (specJSON, []) }
        guard let artifacts = configuration.artifacts else {
            throw SpecReferences.Unresolved(description: "the job prepares pushed text, and this node has no artifact store")
        }
        guard let text = try await artifacts.catalog.artifact(id: prepare.textArtifact), text.kind == .text,
              text.ownerID == job.accountID, let file = text.files.first(where: { $0.path == prepare.file }) else {
            throw SpecReferences.Unresolved(description: """
                the text to prepare as dataset \(prepare.dataset) is gone (or is not this job's owner's); push it again
                """)
        }
        let pins = try await artifacts.cache.pin([file])
        let target = try inputs.area("text").appendingPathComponent("\(text.id)")
        do {
            if !FileManager.default.fileExists(atPath: target.path) {
                try await artifacts.cache.materialize([file], into: target, link: inputs.link)
                JobInputs.openToReaders(target)
            }
            prepare.input = inputs.visible(target.appendingPathComponent(file.path).path)
            prepare.output = outputDirectory
            return (try prepare.written(into: specJSON), pins)
        } catch {
            await releaseArtifacts(pins)
            throw error
        }
    }

    /// The worker's `prepare` mode for a launched prepare job (its spec names input and output).
    static func prepareProgram(_ prepare: PrepareSpec, workerPath: String) -> (executable: String, arguments: [String])? {
        guard let input = prepare.input, let output = prepare.output else { return nil }
        return (workerPath, ["prepare", input, "--out", output])
    }

    /// After a prepare job exited 0: stores its output directory (opened below `root` without
    /// following links, only files of the job's user) as the next version of its dataset, owned
    /// by the job's owner, and removes the pushed text. Returns why it failed, or nil.
    func publishPreparedDataset(_ prepare: PrepareSpec, job: Job, root: String?, user: UnixUser?, log: Logger) async -> String? {
        guard let artifacts = configuration.artifacts else { return "this node has no artifact store" }
        guard let output = prepare.output else { return "the prepare job's output directory is unknown" }
        let uid = Self.fileOwner(user: user, root: root)
        do {
            let files = try await retryingWhileUnreachable("the prepared dataset's upload", log) {
                try await DirectoryUpload.upload(directory: output, beneath: root, ownerUID: uid, to: artifacts.store)
            }
            guard files.contains(where: { $0.path == "index.json" }) else {
                return "hearth-worker prepare left no index.json in \(output)"
            }
            let dataset = try await retryingWhileUnreachable("the prepared dataset", log) {
                try await artifacts.catalog.create(kind: .dataset, name: prepare.dataset, ownerID: job.accountID, files: files)
            }
            _ = try? await artifacts.catalog.delete(id: prepare.textArtifact)
            log.info("dataset \(dataset.label) prepared from pushed text (\(dataset.bytes) bytes)", metadata: [
                "hearth.event": "dataset-prepared", "dataset": "\(dataset.label)"])
            return nil
        } catch {
            log.warning("could not store the prepared dataset \(prepare.dataset): \(error)")
            return "could not store the prepared dataset \(prepare.dataset): \(error)"
        }
    }
}

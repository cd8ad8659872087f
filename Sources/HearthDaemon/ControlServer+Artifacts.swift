import Foundation
import HearthAPI
import HearthArtifacts
import HearthStore
import Hummingbird
import Logging
import NIOCore

/// Fleet artifacts through the control socket (Docs/artifacts.md): blobs streamed in by
/// `hearth dataset push`, datasets by name and version, a job's stored checkpoints; and the
/// resolution of dataset names in a submitted spec.
extension ControlServer {
    static let artifactRoutes: Set<String> = [
        "POST /v1/blobs", "POST /v1/datasets", "GET /v1/datasets", "DELETE /v1/datasets/{name}", "GET /v1/jobs/{id}/checkpoints",
    ]

    func addArtifactRoutes(to router: Router<ControlContext>) {
        router.post("/v1/blobs") { request, context in
            try await respond(context, status: .created) { _ in try await storeBlob(request) }
        }
        router.post("/v1/datasets") { request, context in
            try await respond(context, status: .created) { who in try await createDataset(request, who: who) }
        }
        router.get("/v1/datasets") { request, context in
            try await respond(context) { who in
                let name = request.uri.queryParameters["name"].map(String.init)
                return try await services().catalog.list(kind: .dataset, ownerID: who.accountID, name: name).map(Self.view)
            }
        }
        router.delete("/v1/datasets/:name") { request, context in
            try await respond(context) { who in
                let name = context.parameters.get("name") ?? ""
                let version = request.uri.queryParameters["version"].flatMap { Int(String($0)) }
                let catalog = try services().catalog
                let versions = try await catalog.list(kind: .dataset, ownerID: who.accountID, name: name)
                    .filter { version == nil || $0.version == version }
                guard !versions.isEmpty else {
                    throw APIFailure.notFound("you have no dataset \"\(name)\"\(version.map { " version \($0)" } ?? ""); hearth dataset list shows yours")
                }
                for v in versions { try await catalog.delete(id: v.id) }
                logger.info("dataset removed", metadata: ["hearth.event": "dataset-removed", "account": "\(who.account)", "dataset": "\(name)"])
                return versions.map(Self.view)
            }
        }
        router.get("/v1/jobs/:id/checkpoints") { _, context in
            try await respond(context) { who in
                let id = try jobID(context)
                try await authorizeRead(job: id, who: who, what: "checkpoints")
                return try await services().catalog.checkpoints(jobID: id).map(Self.view)
            }
        }
    }

    func services() throws -> ArtifactServices {
        guard let artifacts else { throw APIFailure.badRequest("this node has no artifact store") }
        return artifacts
    }

    /// Streams the request body into the blob store through a pipe (the store reads it on its
    /// connection's thread while this task writes), never holding the file in memory.
    private func storeBlob(_ request: Request) async throws -> BlobView {
        guard let length = request.headers[.contentLength].flatMap({ Int64($0) }) else {
            throw APIFailure.badRequest("send the file's bytes with a Content-Length")
        }
        let store = try services().store
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw APIFailure.badRequest("cannot make a pipe: \(String(cString: strerror(errno)))") }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        let storing = Task { try await store.write(from: readEnd, expectedSHA256: nil, expectedBytes: length) }
        let writer = DispatchQueue(label: "hearth.blob-upload")
        var failed = false
        do {
            for try await buffer in request.body {
                let bytes = Array(buffer.readableBytesView)
                let ok = await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
                    writer.async {
                        var done = 0
                        while done < bytes.count {
                            let n = bytes.withUnsafeBytes { write(writeEnd, $0.baseAddress! + done, $0.count - done) }
                            if n < 0 && errno == EINTR { continue }
                            if n <= 0 { c.resume(returning: false); return }
                            done += n
                        }
                        c.resume(returning: true)
                    }
                }
                if !ok { failed = true; break }
            }
        } catch {
            failed = true
        }
        close(writeEnd)
        defer { close(readEnd) }
        do {
            let blob = try await storing.value
            return BlobView(sha256: blob.sha256, bytes: blob.bytes, uploaded: blob.uploaded)
        } catch let error as ArtifactError {
            throw APIFailure.badRequest(failed ? "the upload was cut off; nothing was stored" : error.message)
        }
    }

    private func createDataset(_ request: Request, who: Identity) async throws -> ArtifactView {
        var body = try await request.body.collect(upTo: 1 << 20)
        guard let bytes = body.readBytes(length: body.readableBytes),
              let req = try? JSONDecoder().decode(DatasetRequest.self, from: Data(bytes)) else {
            throw APIFailure.badRequest("the body must be {\"name\": NAME, \"files\": [{\"path\", \"sha256\", \"bytes\"}, ...]}")
        }
        guard req.name.range(of: #"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"#, options: .regularExpression) != nil else {
            throw APIFailure.badRequest("\"\(req.name)\" cannot name a dataset: use letters, digits, '_', '.' and '-' (up to 128), starting with a letter or digit")
        }
        guard !req.files.isEmpty, Set(req.files.map(\.path)).count == req.files.count else {
            throw APIFailure.badRequest("a dataset needs at least one file, each name once")
        }
        guard req.files.contains(where: { $0.path == "index.json" }) else {
            throw APIFailure.badRequest("""
                a dataset needs its index.json (a directory made by hearth-worker prepare); raw text goes to POST /v1/datasets/prepare
                """)
        }
        let artifacts = try services()
        for f in req.files where try await artifacts.store.blob(sha256: f.sha256)?.bytes != f.bytes {
            throw APIFailure.badRequest("\(f.path): no stored blob \(f.sha256) of \(f.bytes) bytes; upload it first (POST /v1/blobs)")
        }
        do {
            let dataset = try await artifacts.catalog.create(
                kind: .dataset, name: req.name, ownerID: who.accountID,
                files: req.files.map { ArtifactFile(path: $0.path, sha256: $0.sha256, bytes: $0.bytes) })
            logger.info("dataset pushed", metadata: [
                "hearth.event": "dataset-pushed", "account": "\(who.account)", "dataset": "\(dataset.label)", "bytes": "\(dataset.bytes)"])
            return Self.view(dataset)
        } catch let error as ArtifactError {
            throw APIFailure.badRequest(error.message)
        }
    }

    /// Replaces each `{"dataset": REF}` in a training spec's `data` with the dataset's digest
    /// (`sha256:DIGEST`), resolved for the submitter now: a missing name, a digest that matches
    /// nothing, or someone else's dataset is refused with a sentence and nothing is queued.
    func resolveDatasets(in spec: JSONValue, who: Identity, prefix: String = "") async throws -> JSONValue {
        guard case .object(var fields) = spec, case .array(let data)? = fields["data"],
              data.contains(where: { if case .object(let d) = $0, d["dataset"] != nil { return true }; return false }) else { return spec }
        let catalog = try services().catalog
        var resolved: [JSONValue] = []
        for (i, entry) in data.enumerated() {
            guard case .object(var d) = entry, let ref = d["dataset"] else { resolved.append(entry); continue }
            guard case .string(let reference) = ref, d["path"] == nil else {
                throw APIFailure.badRequest("\(prefix)spec.data[\(i)]: give either \"path\" or \"dataset\" (NAME, NAME@VERSION or sha256:DIGEST), as a string")
            }
            do {
                let dataset = try await catalog.resolve(reference, kind: .dataset, accountID: who.accountID, isAdmin: who.isAdmin)
                d["dataset"] = .string("sha256:" + dataset.digest)
                d["dataset_name"] = dataset.label == "" ? nil : .string(dataset.label)
                resolved.append(.object(d))
            } catch let error as ArtifactError {
                let message = "\(prefix)spec.data[\(i)]: \(error.message)"
                switch error.code {
                case .forbidden: throw APIFailure.forbidden(message)
                default: throw APIFailure.badRequest(message)
                }
            }
        }
        fields["data"] = .array(resolved)
        return .object(fields)
    }

    static func view(_ a: Artifact) -> ArtifactView {
        ArtifactView(id: a.id, kind: a.kind.rawValue, name: a.name, version: a.version, owner: a.owner, job: a.jobID, step: a.step,
                     digest: a.digest, bytes: a.bytes, createdAt: a.createdAt,
                     files: a.files.map { ArtifactFileView(path: $0.path, sha256: $0.sha256, bytes: $0.bytes) })
    }
}

extension ControlServer {
    /// Checks each `"@checkpoint:JOB:STEP"` of a spec for the submitter: the job exists and is
    /// theirs, their project's (or they are an admin), and that step is stored.
    func authorizeCheckpointReferences(in spec: JSONValue, who: Identity, prefix: String = "") async throws {
        let texts = CheckpointReferences.strings(in: spec)
        guard !texts.isEmpty else { return }
        let catalog = try services().catalog
        for text in Set(texts).sorted() {
            guard let r = CheckpointReferences.parse(text) else {
                throw APIFailure.badRequest("\(prefix)\"\(text)\": name a stored checkpoint as @checkpoint:JOB:STEP or @checkpoint:JOB:latest, optionally followed by /FILE")
            }
            guard let owner = try await grantStore.ownership(ofJob: r.job) else {
                throw APIFailure.badRequest("\(prefix)\"\(text)\" names job \(r.job), which does not exist")
            }
            if !who.isAdmin, try await !grantStore.sharesJob(owner, with: who.accountID) {
                throw APIFailure.forbidden("""
                    \(prefix)"\(text)": job \(r.job) belongs to \(owner.account); a spec may use the checkpoints of your own \
                    jobs and your project's only
                    """)
            }
            let stored = try await catalog.checkpoints(jobID: r.job)
            if let step = r.step, !stored.contains(where: { $0.step == step }) {
                let steps = stored.compactMap(\.step).sorted().map(String.init).joined(separator: ", ")
                throw APIFailure.badRequest("\(prefix)\"\(text)\": job \(r.job) has no stored checkpoint at step \(step) (stored: \(steps.isEmpty ? "none" : steps); hearth checkpoints \(r.job))")
            }
            if r.step == nil, stored.isEmpty {
                throw APIFailure.badRequest("\(prefix)\"\(text)\": job \(r.job) has no stored checkpoint yet")
            }
        }
    }
}

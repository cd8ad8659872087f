import Foundation

/// `POST /v1/blobs` (the body is the file's bytes): a stored blob, named by its SHA-256.
public struct BlobView: Sendable, Hashable, Codable {
    public var sha256: String
    public var bytes: Int64
    /// Whether this upload stored it (`false`: the same bytes were already stored).
    public var uploaded: Bool

    public init(sha256: String, bytes: Int64, uploaded: Bool) {
        self.sha256 = sha256; self.bytes = bytes; self.uploaded = uploaded
    }
}

/// One file of an artifact.
public struct ArtifactFileView: Sendable, Hashable, Codable {
    public var path: String
    public var sha256: String
    public var bytes: Int64

    public init(path: String, sha256: String, bytes: Int64) {
        self.path = path; self.sha256 = sha256; self.bytes = bytes
    }
}

/// `POST /v1/datasets`: a new version of dataset `name` made of blobs already stored.
public struct DatasetRequest: Sendable, Hashable, Codable {
    public var name: String
    public var files: [ArtifactFileView]

    public init(name: String, files: [ArtifactFileView]) {
        self.name = name; self.files = files
    }
}

/// `POST /v1/datasets/prepare`: raw text (one stored blob) that a job on a node prepares into
/// the next version of dataset `name`, with the char tokenizer.
public struct DatasetPrepareRequest: Sendable, Hashable, Codable {
    public var name: String
    public var text: ArtifactFileView

    public init(name: String, text: ArtifactFileView) {
        self.name = name; self.text = text
    }
}

/// The answer to a ``DatasetPrepareRequest``: the job that prepares it.
public struct DatasetPrepareView: Sendable, Hashable, Codable {
    public var name: String
    public var job: Int64

    public init(name: String, job: Int64) {
        self.name = name; self.job = job
    }
}

/// A dataset version or a stored checkpoint (`GET /v1/datasets`, `GET /v1/jobs/{id}/checkpoints`).
public struct ArtifactView: Sendable, Hashable, Codable {
    public var id: Int64
    public var kind: String
    public var name: String?
    public var version: Int?
    public var owner: String
    public var job: Int64?
    public var step: Int?
    /// The artifact's content address: specs may name it as `sha256:DIGEST`.
    public var digest: String
    public var bytes: Int64
    public var createdAt: Date
    public var files: [ArtifactFileView]

    enum CodingKeys: String, CodingKey {
        case id, kind, name, version, owner, job, step, digest, bytes, files
        case createdAt = "created_at"
    }

    public init(id: Int64, kind: String, name: String?, version: Int?, owner: String, job: Int64?, step: Int?, digest: String,
                bytes: Int64, createdAt: Date, files: [ArtifactFileView]) {
        self.id = id; self.kind = kind; self.name = name; self.version = version; self.owner = owner; self.job = job
        self.step = step; self.digest = digest; self.bytes = bytes; self.createdAt = createdAt; self.files = files
    }
}

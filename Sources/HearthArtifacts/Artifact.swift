import Foundation

/// What users and specs name: a dataset or tokenizer (a name and version of its owner's), or a
/// checkpoint (a job and step). A set of files, each a blob in the ``BlobStore``.
public struct Artifact: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// `text`: raw text waiting for the job that prepares it into a dataset.
        case dataset, tokenizer, checkpoint, text
    }

    public var id: Int64
    public var kind: Kind
    /// Datasets and tokenizers only.
    public var name: String?
    public var version: Int?
    public var ownerID: Int64
    /// The owner's account name.
    public var owner: String
    public var projectID: Int64?
    /// Checkpoints only: the job and step that wrote it.
    public var jobID: Int64?
    public var step: Int?
    /// SHA-256 of the manifest: the artifact's own content address.
    public var digest: String
    public var bytes: Int64
    public var createdAt: Date
    public var files: [ArtifactFile]

    /// `NAME@VERSION` for named artifacts, `job J step S` for checkpoints.
    public var label: String {
        if let name, let version { return "\(name)@\(version)" }
        return "job \(jobID ?? 0) step \(step ?? 0)"
    }
}

/// One file of an artifact: its path inside the artifact's directory and the blob it is.
public struct ArtifactFile: Sendable, Hashable, Codable {
    public var path: String
    public var sha256: String
    public var bytes: Int64

    public init(path: String, sha256: String, bytes: Int64) {
        self.path = path
        self.sha256 = sha256
        self.bytes = bytes
    }

    /// Whether `name` may be a file of an artifact: one path component of plain characters.
    public static func isValidPath(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 200 && name != "." && name != ".."
            && name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "_.-".unicodeScalars.contains($0)) }
    }
}

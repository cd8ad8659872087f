import Foundation

/// Where artifact bytes live: content-addressed blobs (one per distinct file), named by their
/// SHA-256. The catalog (names, versions, owners, which files make an artifact) is always in
/// PostgreSQL (``ArtifactCatalog``); only the bytes sit behind this protocol, so a fleet that
/// outgrows PostgreSQL can keep them in an S3-compatible store (Docs/artifacts.md).
///
/// Every implementation promises:
/// - **atomic visibility**: ``contains(sha256:)`` and ``read(sha256:into:)`` see a blob only once
///   all its bytes are stored; an uploader killed midway leaves nothing visible and nothing that
///   blocks a retry;
/// - **content addressing**: a blob's name is the SHA-256 of its bytes, computed while they are
///   streamed; storing the same bytes twice stores them once;
/// - **streaming**: no call holds a whole blob in memory.
public protocol BlobStore: Sendable {
    /// The stored blob with this SHA-256, if any.
    func blob(sha256: String) async throws -> StoredBlob?

    /// Streams the file open at `fd` (read from its current offset to its end) into the store.
    /// - Parameter expectedSHA256: when given and already stored, nothing is read or sent; when
    ///   given and the bytes hash to something else, the upload fails and nothing is stored.
    ///   - expectedBytes: when given and the file ends sooner or later, nothing is stored (a
    ///     client that went away midway leaves no truncated blob).
    /// - Returns: the blob (new, or the one already stored with the same bytes).
    func write(from fd: Int32, expectedSHA256: String?, expectedBytes: Int64?) async throws -> StoredBlob

    /// Streams blob `sha256` to the file open at `fd`, verifying its hash and size as it goes.
    /// - Returns: the number of bytes written.
    /// - Throws: ``ArtifactError`` when no such blob is stored, or it does not hash to its name.
    func read(sha256: String, into fd: Int32) async throws -> Int64
}

extension BlobStore {
    /// Streams the file open at `fd` into the store (see ``write(from:expectedSHA256:expectedBytes:)``).
    public func write(from fd: Int32, expectedSHA256: String?) async throws -> StoredBlob {
        try await write(from: fd, expectedSHA256: expectedSHA256, expectedBytes: nil)
    }
}

/// A blob in a ``BlobStore``.
public struct StoredBlob: Sendable, Hashable {
    /// SHA-256 of the bytes, lowercase hex.
    public var sha256: String
    /// Its size in bytes.
    public var bytes: Int64
    /// Whether this call stored it (`false`: the same bytes were already there).
    public var uploaded: Bool

    public init(sha256: String, bytes: Int64, uploaded: Bool) {
        self.sha256 = sha256
        self.bytes = bytes
        self.uploaded = uploaded
    }
}

/// What went wrong with an artifact, as a sentence that says what to do.
public struct ArtifactError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Code: Sendable, Equatable {
        /// No such blob, artifact, name or version.
        case notFound
        /// Bytes that do not hash to what they were named (a corrupt transfer, a changed file).
        case hashMismatch
        /// A local file could not be read or written.
        case io
        /// A reference or path that is not acceptable.
        case invalid
        /// Someone else's artifact.
        case forbidden
    }

    public var code: Code
    public var message: String
    public var description: String { message }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    static func io(_ what: String, _ err: Int32 = errno) -> ArtifactError {
        ArtifactError(.io, "\(what): \(String(cString: strerror(err)))")
    }
}

/// Whether `text` is a SHA-256 in lowercase hex.
public func isSHA256Hex(_ text: some StringProtocol) -> Bool {
    text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
}

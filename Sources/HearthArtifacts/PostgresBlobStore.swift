import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HearthStore

/// Blobs in PostgreSQL: each upload is a run of `artifact_chunks` rows sent with one binary
/// `COPY FROM STDIN` and published by `hearth_artifact_upload_commit` in the same transaction
/// (Migrations/0012_artifacts.sql). A reader streams them back with `COPY TO STDOUT`.
///
/// The transaction is what makes an upload atomic: until it commits no blob row names the
/// chunks, and if the uploader dies (kill -9, a lost connection) the server rolls it back, so
/// nothing is visible and a retry starts on a fresh upload id.
public struct PostgresBlobStore: BlobStore {
    /// Bytes per chunk row (1 MiB): large enough that per-row costs vanish, small enough that
    /// the server never holds much of one upload in memory.
    public static let defaultChunkSize = 1 << 20

    public let client: PostgresClient
    public let chunkSize: Int

    public init(client: PostgresClient, chunkSize: Int = PostgresBlobStore.defaultChunkSize) {
        self.client = client
        self.chunkSize = max(4096, chunkSize)
    }

    public func blob(sha256: String) async throws -> StoredBlob? {
        guard isSHA256Hex(sha256) else { return nil }
        let rows = try await client.query("SELECT bytes FROM artifact_blobs WHERE sha256 = \(sha256)")
        return try rows.first.map { StoredBlob(sha256: sha256, bytes: try $0.decode("bytes"), uploaded: false) }
    }

    public func write(from fd: Int32, expectedSHA256: String?, expectedBytes: Int64?) async throws -> StoredBlob {
        if let expectedSHA256, let stored = try await blob(sha256: expectedSHA256) { return stored }
        let chunkSize = self.chunkSize
        return try await client.withTransaction { connection in
            let upload: Int64 = try await connection.query("SELECT hearth_artifact_upload_begin() AS id")[0].decode("id")
            // `upload` is a number this process got from the server: splicing it is safe (COPY takes no parameters).
            let sent = try await connection.copyIn(
                unsafeSQL: "COPY artifact_chunks (upload_id, seq, data) FROM STDIN (FORMAT binary)"
            ) { copy in
                let sent = try Self.send(fd: fd, upload: upload, chunkSize: chunkSize, to: copy)
                if let expectedBytes, sent.bytes != expectedBytes {
                    // Thrown inside the COPY: the server discards its rows.
                    throw ArtifactError(.io, "the upload ended after \(sent.bytes) of \(expectedBytes) bytes; nothing was stored")
                }
                return sent
            }
            if let expectedSHA256, expectedSHA256 != sent.sha256 {
                throw ArtifactError(.hashMismatch, "the file hashes to \(sent.sha256), not the expected \(expectedSHA256); it changed while it was read, or was named wrongly")
            }
            let fresh: Bool = try await connection.query("""
                SELECT hearth_artifact_upload_commit(\(upload), \(sent.sha256), \(sent.bytes), \(sent.chunks)) AS fresh
                """)[0].decode("fresh")
            return StoredBlob(sha256: sent.sha256, bytes: sent.bytes, uploaded: fresh)
        }
    }

    /// Reads `fd` to its end in chunks, sending each as a COPY row and hashing it.
    static func send(fd: Int32, upload: Int64, chunkSize: Int, to copy: PostgresCopyIn) throws -> (sha256: String, bytes: Int64, chunks: Int32) {
        var hasher = SHA256()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 4096)
        defer { buffer.deallocate() }
        try CopyBinary.header.withUnsafeBytes { try copy.send($0) }
        var total: Int64 = 0
        var seq: Int32 = 0
        while true {
            // Fill a whole chunk (short reads happen on pipes), so rows are chunkSize but the last.
            var filled = 0
            while filled < chunkSize {
                let n = Glibc.read(fd, buffer.baseAddress! + filled, chunkSize - filled)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ArtifactError.io("cannot read the file being stored")
                }
                if n == 0 { break }
                filled += n
            }
            if filled == 0 { break }
            let data = UnsafeRawBufferPointer(rebasing: buffer[0..<filled])
            hasher.update(bufferPointer: data)
            try CopyBinary.chunkRowPrefix(upload: upload, seq: seq, length: Int32(filled)).withUnsafeBytes { try copy.send($0) }
            try copy.send(data)
            total += Int64(filled)
            seq += 1
            if filled < chunkSize { break }
        }
        try CopyBinary.trailer.withUnsafeBytes { try copy.send($0) }
        return (hasher.finalize().hex, total, seq)
    }

    public func read(sha256: String, into fd: Int32) async throws -> Int64 {
        let rows = try await client.query("SELECT upload_id, bytes FROM artifact_blobs WHERE sha256 = \(sha256)")
        guard let row = rows.first else {
            throw ArtifactError(.notFound, "blob \(sha256) is not stored")
        }
        let upload: Int64 = try row.decode("upload_id")
        let expected: Int64 = try row.decode("bytes")
        let state = ReadState()
        try await client.withConnection { connection in
            try await connection.copyOut(
                unsafeSQL: "COPY (SELECT data FROM artifact_chunks WHERE upload_id = \(upload) ORDER BY seq) TO STDOUT (FORMAT binary)"
            ) { message in
                let s = state
                guard let data = try CopyBinary.singleField(of: message, first: !s.started) else { return }
                s.started = true
                s.hasher.update(bufferPointer: data)
                try writeAll(fd: fd, data)
                s.bytes += Int64(data.count)
            }
        }
        let (bytes, digest) = (state.bytes, state.hasher.finalize().hex)
        guard bytes == expected, digest == sha256 else {
            throw ArtifactError(.hashMismatch, "blob \(sha256) read back as \(bytes) bytes hashing to \(digest): the store is damaged")
        }
        return bytes
    }

    /// Touched only on the connection's queue, one message after another.
    private final class ReadState: @unchecked Sendable {
        var started = false
        var hasher = SHA256()
        var bytes: Int64 = 0
    }
}

/// Writes all of `data` to `fd`, through short writes and EINTR.
func writeAll(fd: Int32, _ data: UnsafeRawBufferPointer) throws {
    var done = 0
    while done < data.count {
        let n = write(fd, data.baseAddress! + done, data.count - done)
        if n < 0 {
            if errno == EINTR { continue }
            throw ArtifactError.io("cannot write the fetched file")
        }
        done += n
    }
}

extension Digest {
    /// Lowercase hex.
    var hex: String {
        var out = ""
        out.reserveCapacity(Self.byteCount * 2)
        for byte in self {
            let hi = byte >> 4, lo = byte & 0xF
            out.unicodeScalars.append(Unicode.Scalar(hi < 10 ? 48 + hi : 87 + hi))
            out.unicodeScalars.append(Unicode.Scalar(lo < 10 ? 48 + lo : 87 + lo))
        }
        return out
    }
}

import Foundation
import HearthArtifacts
import HearthStore
import HearthTesting
import Testing

@Suite(.timeLimit(.minutes(10))) struct BlobStoreTests {
    @Test func streamsAFileInChunksAndReadsBackTheSameBytes() async throws {
        let dir = try ArtifactFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await TestDatabase.with { client, _ in
            let store = PostgresBlobStore(client: client, chunkSize: 64 << 10)
            let data = ArtifactFixture.bytes(64 << 10 * 3 + 12345, seed: 1)
            let source = dir.appendingPathComponent("model.safetensors")
            let fd = try ArtifactFixture.openFile(source, data)
            defer { close(fd) }
            let blob = try await store.write(from: fd, expectedSHA256: nil)
            #expect(blob.sha256 == (try ArtifactFixture.sha256sum(source)))
            #expect(blob.bytes == Int64(data.count) && blob.uploaded)
            #expect(try await ArtifactFixture.count(client, "SELECT count(*) AS n FROM artifact_chunks") == 4)

            let copy = dir.appendingPathComponent("copy")
            let out = open(copy.path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            #expect(try await store.read(sha256: blob.sha256, into: out) == Int64(data.count))
            close(out)
            #expect(try Data(contentsOf: copy) == data)

            // The same bytes again: stored once.
            _ = lseek(fd, 0, SEEK_SET)
            let again = try await store.write(from: fd, expectedSHA256: nil)
            #expect(again.sha256 == blob.sha256 && !again.uploaded)
            #expect(try await ArtifactFixture.count(client, "SELECT count(*) AS n FROM artifact_chunks") == 4)
            #expect(try await ArtifactFixture.count(client, "SELECT count(*) AS n FROM artifact_blobs") == 1)
            // A known hash is not even read.
            let known = try await store.write(from: -1, expectedSHA256: blob.sha256)
            #expect(known.bytes == blob.bytes && !known.uploaded)
        }
    }

    @Test func anEmptyFileIsABlobToo() async throws {
        let dir = try ArtifactFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await TestDatabase.with { client, _ in
            let store = PostgresBlobStore(client: client)
            let fd = try ArtifactFixture.openFile(dir.appendingPathComponent("empty"), Data())
            defer { close(fd) }
            let blob = try await store.write(from: fd, expectedSHA256: nil)
            #expect(blob.sha256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" && blob.bytes == 0)
            let out = open(dir.appendingPathComponent("back").path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            defer { close(out) }
            #expect(try await store.read(sha256: blob.sha256, into: out) == 0)
        }
    }

    @Test func aWrongExpectedHashStoresNothing() async throws {
        let dir = try ArtifactFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await TestDatabase.with { client, _ in
            let store = PostgresBlobStore(client: client, chunkSize: 4096)
            let fd = try ArtifactFixture.openFile(dir.appendingPathComponent("f"), ArtifactFixture.bytes(10_000, seed: 2))
            defer { close(fd) }
            let wrong = String(repeating: "ab", count: 32)
            let error = await #expect(throws: ArtifactError.self) { try await store.write(from: fd, expectedSHA256: wrong) }
            #expect(error?.code == .hashMismatch)
            #expect(error?.message.contains(wrong) == true)
            #expect(try await ArtifactFixture.count(client, "SELECT count(*) AS n FROM artifact_chunks") == 0)
            #expect(try await ArtifactFixture.count(client, "SELECT count(*) AS n FROM artifact_blobs") == 0)
            let missing = await #expect(throws: ArtifactError.self) {
                try await store.read(sha256: wrong, into: -1)
            }
            #expect(missing?.code == .notFound)
        }
    }

    /// The uploader's connection dies mid-COPY (as when its process is killed): the server rolls
    /// the upload back, no blob is visible, and a retry of the same bytes succeeds.
    @Test func anUploadCutOffMidwayLeavesNothingAndDoesNotBlockARetry() async throws {
        let dir = try ArtifactFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await TestDatabase.with { client, info in
            let uploader = try info.makeClient(maxConnections: 1)
            defer { uploader.shutdown() }
            let store = PostgresBlobStore(client: uploader, chunkSize: 4096)
            let data = ArtifactFixture.bytes(200_000, seed: 3)
            // Bytes arrive through a pipe: half now, the rest never (a writer that stalled).
            var fds: [Int32] = [0, 0]
            #expect(pipe(&fds) == 0)
            let half = Data(data.prefix(100_000))
            let (readEnd, writeEnd) = (fds[0], fds[1])
            let writer = Task.detached {
                half.withUnsafeBytes { raw in
                    var done = 0
                    while done < raw.count { let n = write(writeEnd, raw.baseAddress! + done, raw.count - done); if n <= 0 { break }; done += n }
                }
            }
            let upload = Task.detached { try await store.write(from: readEnd, expectedSHA256: nil) }
            await writer.value
            // Wait until the server has rows of the upload in hand, then kill its backend.
            let deadline = ContinuousClock.now + .seconds(60)
            var killed = false
            while !killed && ContinuousClock.now < deadline {
                let rows = try await client.query("""
                    SELECT pg_terminate_backend(p.pid) AS killed FROM pg_stat_progress_copy p
                    WHERE p.relid = 'artifact_chunks'::regclass AND p.tuples_processed >= 10
                    """)
                killed = !rows.isEmpty
                if !killed { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(killed)
            close(fds[1])  // the reader sees the end of its input and finds its connection gone
            await #expect(throws: (any Error).self) { try await upload.value }
            close(fds[0])
            #expect(try await ArtifactFixture.count(client, "SELECT count(*) AS n FROM artifact_blobs") == 0)
            #expect(try await ArtifactFixture.count(client, "SELECT count(*) AS n FROM artifact_chunks") == 0)

            let fd = try ArtifactFixture.openFile(dir.appendingPathComponent("f"), data)
            defer { close(fd) }
            let retry = try await PostgresBlobStore(client: client, chunkSize: 4096).write(from: fd, expectedSHA256: nil)
            #expect(retry.uploaded && retry.bytes == 200_000)
        }
    }
}

import Foundation
import HearthArtifacts
import HearthStore
import HearthTesting
import Testing

@Suite(.timeLimit(.minutes(10))) struct ArtifactCacheTests {
    private func storeBlobs(_ store: PostgresBlobStore, _ dir: URL, sizes: [Int]) async throws -> [StoredBlob] {
        var out: [StoredBlob] = []
        for (i, size) in sizes.enumerated() {
            let fd = try ArtifactFixture.openFile(dir.appendingPathComponent("src-\(i)"), ArtifactFixture.bytes(size, seed: UInt64(100 + i)))
            defer { close(fd) }
            out.append(try await store.write(from: fd, expectedSHA256: nil))
        }
        return out
    }

    @Test func concurrentFetchesOfOneBlobDownloadItOnce() async throws {
        let dir = try ArtifactFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await TestDatabase.with { client, _ in
            let store = PostgresBlobStore(client: client, chunkSize: 8192)
            let blob = try await storeBlobs(store, dir, sizes: [300_000])[0]
            let cache = try ArtifactCache(directory: dir.appendingPathComponent("cache"), store: store, maxBytes: 1 << 30)
            let paths = try await withThrowingTaskGroup(of: URL.self) { group in
                for _ in 0..<8 { group.addTask { try await cache.fetch(blob.sha256) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(Set(paths).count == 1)
            #expect(await cache.fetchedBytes == 300_000)
            #expect(try ArtifactFixture.sha256sum(paths[0]) == blob.sha256)
            // Reopened (a restarted daemon), it still holds the blob and fetches nothing.
            let reopened = try ArtifactCache(directory: dir.appendingPathComponent("cache"), store: store, maxBytes: 1 << 30)
            _ = try await reopened.fetch(blob.sha256)
            #expect(await reopened.fetchedBytes == 0)
            #expect(await reopened.usedBytes == 300_000)
        }
    }

    @Test func leastRecentlyUsedGoesFirstButNeverAPinnedBlob() async throws {
        let dir = try ArtifactFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await TestDatabase.with { client, _ in
            let store = PostgresBlobStore(client: client)
            let blobs = try await storeBlobs(store, dir, sizes: [100_000, 100_000, 100_000])
            let files = blobs.enumerated().map { ArtifactFile(path: "f\($0.offset)", sha256: $0.element.sha256, bytes: $0.element.bytes) }
            let cache = try ArtifactCache(directory: dir.appendingPathComponent("cache"), store: store, maxBytes: 250_000)
            // Blob 0 is pinned (a running job's) and the oldest; blob 1 is unpinned.
            let pin0 = try await cache.pin([files[0]])
            _ = try await cache.fetch(blobs[1].sha256)
            _ = try await cache.fetch(blobs[2].sha256)  // 300 000 > 250 000: one must go, and not blob 0
            #expect(await cache.contains(blobs[0].sha256))
            #expect(!(await cache.contains(blobs[1].sha256)))
            #expect(await cache.contains(blobs[2].sha256))
            #expect(await cache.usedBytes <= 250_000)
            await cache.unpin(pin0)

            // Materialized copies are whole, and a second use of cached blobs fetches nothing.
            let before = await cache.fetchedBytes
            let target = dir.appendingPathComponent("job/ckpt")
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try await cache.materialize([files[0], files[2]], into: target, link: false)
            #expect(try ArtifactFixture.sha256sum(target.appendingPathComponent("f0")) == blobs[0].sha256)
            #expect(try ArtifactFixture.sha256sum(target.appendingPathComponent("f2")) == blobs[2].sha256)
            #expect(await cache.fetchedBytes == before)
        }
    }
}

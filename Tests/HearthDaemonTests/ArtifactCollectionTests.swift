import Foundation
import HearthArtifacts
import HearthProcess
import HearthStore
import HearthTesting
import Testing

/// The leader's collection of unused artifact blobs on a timer (Docs/artifacts.md, "Sizes and
/// retention"): a real daemon and database, blobs stored the way nodes store them.
@Suite(.serialized, .timeLimit(.minutes(10))) struct ArtifactCollectionTests {
    typealias E2E = EndToEndTests

    @Test func theLeaderCollectsOldUnusedBlobsAndKeepsUsedAndRecentOnes() async throws {
        try await TestDatabase.with { client, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-collect")
            // Every 1.2 s, so the test sees several turns of the timer; grace: the default hour.
            let config = dir.appendingPathComponent("hearthd.toml")
            try "artifact_collect_interval_minutes = 0.02\n".write(to: config, atomically: true, encoding: .utf8)
            let node = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "node-gc", directory: dir,
                                               extraArguments: ["--config", config.path, "--heartbeat-seconds", "0.5"])
            defer { node.child.signal(SIGKILL) }

            // Three blobs: one a dataset uses, one no artifact uses (its dataset was removed),
            // one unused but younger than the grace (an upload whose artifact comes next).
            let store = PostgresBlobStore(client: client, chunkSize: 4096)
            func blob(_ seed: UInt8, _ bytes: Int) async throws -> StoredBlob {
                let file = dir.appendingPathComponent("blob-\(seed)")
                try Data((0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }).write(to: file)
                let fd = open(file.path, O_RDONLY | O_CLOEXEC)
                defer { close(fd) }
                return try await store.write(from: fd, expectedSHA256: nil)
            }
            let used = try await blob(1, 10_000), unused = try await blob(2, 20_000), recent = try await blob(3, 30_000)
            let owner = try await AccountStore(client: client).ensure(name: "gc-owner", uid: 4242)
            let catalog = ArtifactCatalog(client: client)
            _ = try await catalog.create(kind: .dataset, name: "kept", ownerID: owner, files: [
                ArtifactFile(path: "train.bin", sha256: used.sha256, bytes: used.bytes)])
            let removed = try await catalog.create(kind: .dataset, name: "dropped", ownerID: owner, files: [
                ArtifactFile(path: "train.bin", sha256: unused.sha256, bytes: unused.bytes)])
            #expect(try await catalog.delete(id: removed.id))
            try await client.query("""
                UPDATE artifact_blobs SET created_at = now() - interval '2 hours' WHERE sha256 IN (\(used.sha256), \(unused.sha256))
                """)

            func exists(_ sha: String) async throws -> Bool {
                try await client.query("SELECT count(*) AS n FROM artifact_blobs WHERE sha256 = \(sha)")[0].decode("n", as: Int.self) == 1
            }
            try await E2E.waitUntil("the leader's timer collects the unused blob", timeout: 60) { try await !exists(unused.sha256) }
            // One statement removed it; the same statement judged the other two.
            #expect(try await exists(used.sha256), "a blob a dataset uses is kept")
            #expect(try await exists(recent.sha256), "a blob younger than the grace is kept")
            let chunks: Int = try await client.query("""
                SELECT count(*) AS n FROM artifact_chunks c LEFT JOIN artifact_blobs b ON b.upload_id = c.upload_id WHERE b.sha256 IS NULL
                """)[0].decode("n")
            #expect(chunks == 0, "the collected blob's chunks went with it")
            try await E2E.waitUntil("the collection is logged", timeout: 10) { node.log.contains("hearth.event=artifacts-collected") }
            let line = try #require(node.log.split(separator: "\n").first { $0.contains("hearth.event=artifacts-collected") })
            #expect(line.contains("artifact.blobs_freed=1") && line.contains("artifact.bytes_freed=20000"), Comment(rawValue: String(line)))
            #expect(await node.stop(SIGTERM) == .exited(0))
        }
    }
}

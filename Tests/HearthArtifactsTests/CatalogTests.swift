import Foundation
import HearthArtifacts
import HearthCore
import HearthStore
import HearthTesting
import Testing

@Suite(.timeLimit(.minutes(10))) struct CatalogTests {
    /// Stores a directory of small files and returns its files.
    private func push(_ store: PostgresBlobStore, _ dir: URL, seed: UInt64) async throws -> [ArtifactFile] {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try ArtifactFixture.bytes(5000, seed: seed).write(to: dir.appendingPathComponent("train-00000.bin"))
        try Data(#"{"vocab": 65}"#.utf8).write(to: dir.appendingPathComponent("tokenizer.json"))
        return try await DirectoryUpload.upload(directory: dir.path, to: store)
    }

    @Test func datasetsHaveVersionsAndResolveByNameVersionOrDigest() async throws {
        let dir = try ArtifactFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await TestDatabase.with { client, _ in
            let store = PostgresBlobStore(client: client)
            let catalog = ArtifactCatalog(client: client)
            let alice = try await ArtifactFixture.account(client, "alice", uid: 1000)
            let bob = try await ArtifactFixture.account(client, "bob", uid: 1001)
            let v1files = try await push(store, dir.appendingPathComponent("a"), seed: 1)
            #expect(v1files.map(\.path) == ["tokenizer.json", "train-00000.bin"])
            let v1 = try await catalog.create(kind: .dataset, name: "shakespeare", ownerID: alice, files: v1files)
            let v2 = try await catalog.create(kind: .dataset, name: "shakespeare", ownerID: alice,
                                              files: try await push(store, dir.appendingPathComponent("b"), seed: 2))
            #expect(v1.version == 1 && v2.version == 2 && v1.digest != v2.digest && v1.bytes == 5000 + 13)
            // The digest is the manifest's SHA-256, computed the same way outside PostgreSQL.
            let manifest = v1files.map { "\($0.path) \($0.sha256) \($0.bytes)\n" }.joined()
            let manifestFile = dir.appendingPathComponent("manifest")
            try Data(manifest.utf8).write(to: manifestFile)
            #expect(v1.digest == (try ArtifactFixture.sha256sum(manifestFile)))

            #expect(try await catalog.resolve("shakespeare", kind: .dataset, accountID: alice).id == v2.id)
            #expect(try await catalog.resolve("shakespeare@1", kind: .dataset, accountID: alice).id == v1.id)
            #expect(try await catalog.resolve("sha256:" + v1.digest, kind: .dataset, accountID: alice).id == v1.id)

            let missing = await #expect(throws: ArtifactError.self) {
                try await catalog.resolve("tolstoy", kind: .dataset, accountID: alice)
            }
            #expect(missing?.code == .notFound && missing?.message.contains("no dataset named \"tolstoy\"") == true)
            let noVersion = await #expect(throws: ArtifactError.self) {
                try await catalog.resolve("shakespeare@7", kind: .dataset, accountID: alice)
            }
            #expect(noVersion?.message.contains("versions: 1, 2") == true)
            let unknownDigest = await #expect(throws: ArtifactError.self) {
                try await catalog.resolve(String(repeating: "0", count: 64), kind: .dataset, accountID: alice)
            }
            #expect(unknownDigest?.code == .notFound)
            // Bob's names are his own; alice's digest is not his to use.
            await #expect(throws: ArtifactError.self) { try await catalog.resolve("shakespeare", kind: .dataset, accountID: bob) }
            let forbidden = await #expect(throws: ArtifactError.self) {
                try await catalog.resolve(v1.digest, kind: .dataset, accountID: bob)
            }
            #expect(forbidden?.code == .forbidden && forbidden?.message.contains("belongs to alice") == true)
            #expect(try await catalog.resolve(v1.digest, kind: .dataset, accountID: bob, isAdmin: true).id == v1.id)

            // Removing v1 leaves its blobs until collected; v2 shares the tokenizer blob, which stays.
            #expect(try await catalog.delete(id: v1.id))
            #expect(try await catalog.collect(grace: .zero) == 5000)
            #expect(try await ArtifactFixture.count(client, "SELECT count(*) AS n FROM artifact_blobs") == 2)
            #expect(try await ArtifactFixture.count(client, "SELECT count(*) AS n FROM artifact_chunks") == 2)
        }
    }

    @Test func aJobKeepsItsNewestStoredCheckpointsFleetWide() async throws {
        let dir = try ArtifactFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await TestDatabase.with { client, _ in
            let store = PostgresBlobStore(client: client)
            let catalog = ArtifactCatalog(client: client)
            let alice = try await ArtifactFixture.account(client, "alice", uid: 1000)
            let job = try await JobQueue(client: client).enqueue(NewJob(kind: .train, accountID: alice, specJSON: "{}")).job
            for step in [50, 100, 150] {
                let files = try await push(store, dir.appendingPathComponent("step-\(step)"), seed: UInt64(step))
                try await catalog.storeCheckpoint(jobID: job.id, step: step, files: files, keep: 2)
            }
            let kept = try await catalog.checkpoints(jobID: job.id)
            #expect(kept.map(\.step) == [150, 100])
            #expect(kept.allSatisfy { $0.ownerID == alice && $0.kind == .checkpoint })
            // Storing a step again returns the stored one.
            let again = try await catalog.storeCheckpoint(jobID: job.id, step: 150, files: kept[0].files, keep: 2)
            #expect(again == kept[0].id)
            #expect(try await catalog.collect(grace: .zero) == 5000)
        }
    }
}

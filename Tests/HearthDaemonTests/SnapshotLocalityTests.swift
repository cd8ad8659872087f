import Foundation
import HearthCore
import HearthScheduler
import HearthStore
import HearthTesting
import Testing
@testable import HearthDaemon

/// The pass's view of locality (SnapshotLoader+Locality): each pending job's cached input bytes
/// per node, from its datasets, its `@checkpoint:` references (`latest` followed as it moves) and
/// its own newest checkpoint, a blob shared by two references counted once.
@Suite(.timeLimit(.minutes(10))) struct SnapshotLocalityTests {
    static func blob(_ client: PostgresClient, _ sha256: String, bytes: Int) async throws {
        try await client.withConnection { c in
            try await c.execute(unsafeSQL: """
                DO $$ DECLARE u bigint := hearth_artifact_upload_begin(); BEGIN
                    INSERT INTO artifact_chunks (upload_id, seq, data) VALUES (u, 0, decode(repeat('ab', \(bytes)), 'hex'));
                    PERFORM hearth_artifact_upload_commit(u, '\(sha256)', \(bytes), 1);
                END $$
                """)
        }
    }

    @Test func eachPendingJobsCachedInputBytesPerNode() async throws {
        try await TestDatabase.with { client, _ in
            let a = String(repeating: "a", count: 64), b = String(repeating: "b", count: 64), c = String(repeating: "c", count: 64)
            for (sha, n) in [(a, 1000), (b, 2000), (c, 4000)] { try await Self.blob(client, sha, bytes: n) }
            let nodes = NodeStore(client: client)
            let n1 = try await nodes.register(hostname: "n1", cpus: 2, memoryBytes: 1 << 30, gpus: [])
            let n2 = try await nodes.register(hostname: "n2", cpus: 2, memoryBytes: 1 << 30, gpus: [])
            let account = try await AccountStore(client: client).ensure(name: "ann", uid: 1001)
            let queue = JobQueue(client: client)
            func file(_ sha: String, _ n: Int) -> String { #"[{"path": "f", "sha256": "\#(sha)", "bytes": \#(n)}]"# }
            let producer = try await queue.enqueue(NewJob(kind: .train, accountID: account, specJSON: "{}")).job.id
            func checkpoint(_ step: Int, _ sha: String, _ n: Int) async throws {
                try await client.query("""
                    SELECT id FROM hearth_artifact_create('checkpoint', NULL, \(account), NULL, \(producer), \(step)::bigint, \(file(sha, n))::jsonb)
                    """)
            }
            try await checkpoint(100, b, 2000)
            try await checkpoint(200, c, 4000)
            let digest: String = try await client.query("""
                SELECT digest FROM hearth_artifact_create('dataset', 'words', \(account), NULL, NULL, NULL, \(file(a, 1000))::jsonb)
                """)[0].decode("digest")
            let train = try await queue.enqueue(NewJob(kind: .train, accountID: account, specJSON: """
                {"data": [{"dataset": "sha256:\(digest)"}]}
                """)).job.id
            let command = try await queue.enqueue(NewJob(kind: .command, accountID: account, specJSON: """
                {"argv": ["x", "@checkpoint:\(producer):latest/model.safetensors", "@checkpoint:\(producer):100"],
                 "data": [{"dataset": "sha256:\(digest)"}]}
                """)).job.id
            let plain = try await queue.enqueue(NewJob(kind: .command, accountID: account, specJSON: #"{"argv": ["x"]}"#)).job.id
            func record(_ node: Int64, _ blobs: [String]) async throws {
                try await client.query("""
                    SELECT hearth_node_cache_record(\(node)::bigint, string_to_array(\(blobs.joined(separator: ","))::text, ','))
                    """)
            }
            let loader = SnapshotLoader(client: client, halfLife: 3600)
            #expect(try await loader.load().snapshot.inputLocality.isEmpty, "no node recorded a cache yet")
            try await record(n1, [a, b, c])
            try await record(n2, [c])
            var locality = try await loader.load().snapshot.inputLocality
            #expect(locality[train] == [n1: 1000])
            #expect(locality[command] == [n1: 7000, n2: 4000], "dataset a, step 100 (b) and latest = step 200 (c)")
            #expect(locality[producer] == [n1: 4000, n2: 4000], "it resumes from its newest checkpoint (c)")
            #expect(locality[plain] == nil)

            // `latest` moves to step 300, whose blob is the dataset's own (a): counted once.
            try await checkpoint(300, a, 1000)
            try await record(n2, [])
            locality = try await loader.load().snapshot.inputLocality
            #expect(locality[command] == [n1: 3000], "a once, and b")
            #expect(locality[producer] == [n1: 1000])
        }
    }
}

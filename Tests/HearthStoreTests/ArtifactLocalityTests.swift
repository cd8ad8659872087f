import Foundation
import HearthCore
import HearthStore
import HearthTesting
import Testing

/// Migrations/0015 as nodes use it, each through its own login role: recording which blobs a
/// node's cache holds, the inputs a job will fetch, and collection's floor on the grace.
/// Serialized: each test holds an owner pool and two node pools (up to 16 connections).
@Suite(.serialized, .timeLimit(.minutes(10))) struct ArtifactLocalityTests {
    typealias Fleet = NodeRoleTests.Fleet

    /// Stores a blob of `bytes` bytes named `sha256` (the store does not hash: the name is the caller's).
    static func blob(_ owner: PostgresClient, _ sha256: String, bytes: Int) async throws {
        try await owner.withConnection { c in
            try await c.execute(unsafeSQL: """
                DO $$ DECLARE u bigint := hearth_artifact_upload_begin(); BEGIN
                    INSERT INTO artifact_chunks (upload_id, seq, data) VALUES (u, 0, decode(repeat('ab', \(bytes)), 'hex'));
                    PERFORM hearth_artifact_upload_commit(u, '\(sha256)', \(bytes), 1);
                END $$
                """)
        }
    }

    static func files(_ blobs: [(String, Int)]) -> String {
        "[" + blobs.enumerated().map { #"{"path": "f\#($0.offset)", "sha256": "\#($0.element.0)", "bytes": \#($0.element.1)}"# }
            .joined(separator: ", ") + "]"
    }

    static let a = String(repeating: "a", count: 64), b = String(repeating: "b", count: 64)
    static let c = String(repeating: "c", count: 64), missing = String(repeating: "d", count: 64)

    @Test func aNodeRecordsOnlyItsOwnCacheAndOnlyStoredBlobsAtTheirTrueSize() async throws {
        try await TestDatabase.with { owner, info in
            let f = try await Fleet(owner, info)
            defer { f.shutdown() }
            try await Self.blob(owner, Self.a, bytes: 1000)
            try await Self.blob(owner, Self.b, bytes: 2000)
            func record(_ client: PostgresClient, node: Int64, _ blobs: [String]) async throws -> Int {
                try await client.query("""
                    SELECT hearth_node_cache_record(\(node)::bigint, string_to_array(\(blobs.joined(separator: ","))::text, ',')) AS n
                    """)[0].decode("n")
            }
            // A blob that is not stored is ignored: a node can claim only what exists.
            #expect(try await record(f.a, node: f.nodeA, [Self.a, Self.b, Self.missing]) == 2)
            #expect(try await record(f.b, node: f.nodeB, [Self.a]) == 1)
            // Node A cannot write node B's list, not even to empty it.
            #expect(await NodeRoleTests.refusal(f.a, "SELECT hearth_node_cache_record(\(f.nodeB), '{}'::text[])") == "42501")
            #expect(await NodeRoleTests.refusal(f.a, "DELETE FROM node_cached_blobs") == "42501")
            #expect(await NodeRoleTests.refusal(f.a, "INSERT INTO node_cached_blobs (node_id, sha256) VALUES (\(f.nodeB), '\(Self.b)')") == "42501")
            // A new list replaces the old one: evicted blobs leave it.
            #expect(try await record(f.a, node: f.nodeA, [Self.b]) == 1)
            let rows = try await owner.query("""
                SELECT n.hostname, c.sha256 FROM node_cached_blobs c JOIN nodes n ON n.id = c.node_id ORDER BY 1, 2
                """).map { "\(try $0.decode("hostname", as: String.self)) \(try $0.decode("sha256", as: String.self).prefix(1))" }
            #expect(rows == ["node-a b", "node-b a"])
            // Collecting a blob takes its rows with it.
            try await owner.query("UPDATE artifact_blobs SET created_at = now() - interval '1 day'")
            let gone = try await owner.query("SELECT blobs, bytes FROM hearth_artifact_collect_counted('1 hour')")[0]
            #expect(try gone.decode("blobs", as: Int64.self) == 2 && gone.decode("bytes", as: Int64.self) == 3000)
            #expect(try await owner.query("SELECT count(*) AS n FROM node_cached_blobs")[0].decode("n", as: Int.self) == 0)
        }
    }

    @Test func aNodeCollectsOnlyWithAGraceOfTenMinutesOrMore() async throws {
        try await TestDatabase.with { owner, info in
            let f = try await Fleet(owner, info)
            defer { f.shutdown() }
            try await Self.blob(owner, Self.a, bytes: 10)
            try await owner.query("UPDATE artifact_blobs SET created_at = now() - interval '5 minutes'")
            #expect(await NodeRoleTests.refusal(f.a, "SELECT * FROM hearth_artifact_collect_counted('1 minute')") == "42501")
            #expect(try await owner.query("SELECT count(*) AS n FROM artifact_blobs")[0].decode("n", as: Int.self) == 1)
            let row = try await f.a.query("SELECT blobs FROM hearth_artifact_collect_counted('10 minutes')")[0]
            #expect(try row.decode("blobs", as: Int64.self) == 0, "younger than the grace: kept")
        }
    }

    @Test func aJobsInputsAreItsDatasetsItsNamedCheckpointsAndItsOwnNewestCheckpoint() async throws {
        try await TestDatabase.with { owner, info in
            let f = try await Fleet(owner, info)
            defer { f.shutdown() }
            for (sha, n) in [(Self.a, 1000), (Self.b, 2000), (Self.c, 4000)] { try await Self.blob(owner, sha, bytes: n) }
            let queue = JobQueue(client: owner)
            let producer = try await queue.enqueue(NewJob(kind: .train, accountID: f.account, specJSON: "{}")).job
            // Two stored checkpoints of the producer; ":latest" means the newer (blob c).
            for (step, sha, n) in [(100, Self.b, 2000), (200, Self.c, 4000)] {
                try await owner.query("""
                    SELECT id FROM hearth_artifact_create('checkpoint', NULL, \(f.account), NULL, \(producer.id), \(step)::bigint,
                                                          \(Self.files([(sha, n)]))::jsonb)
                    """)
            }
            let digest: String = try await owner.query("""
                SELECT digest FROM hearth_artifact_create('dataset', 'words', \(f.account), NULL, NULL, NULL, \(Self.files([(Self.a, 1000)]))::jsonb)
                """)[0].decode("digest")
            func inputs(_ job: Int64) async throws -> [String: Int64] {
                var out: [String: Int64] = [:]
                for r in try await f.a.query("SELECT sha256, bytes FROM hearth_job_input_blobs(\(job)::bigint)") {
                    out[String(try r.decode("sha256", as: String.self).prefix(1))] = try r.decode("bytes")
                }
                return out
            }
            let train = try await queue.enqueue(NewJob(kind: .train, accountID: f.account, specJSON: """
                {"data": [{"dataset": "sha256:\(digest)"}, {"path": "/srv/other"}]}
                """)).job
            #expect(try await inputs(train.id) == ["a": 1000])
            let eval = try await queue.enqueue(NewJob(kind: .command, accountID: f.account, specJSON: """
                {"argv": ["/bin/true", "@checkpoint:\(producer.id):latest/model.safetensors", "@checkpoint:\(producer.id):100"]}
                """)).job
            #expect(try await inputs(eval.id) == ["b": 2000, "c": 4000])
            // The producer itself resumes from its newest stored checkpoint.
            #expect(try await inputs(producer.id) == ["c": 4000])
            // Malformed references and unknown digests name nothing.
            let odd = try await queue.enqueue(NewJob(kind: .command, accountID: f.account, specJSON: """
                {"argv": ["@checkpoint:x:1", "@checkpoint:\(producer.id):999"], "data": [{"dataset": "sha256:\(Self.missing)"}]}
                """)).job
            #expect(try await inputs(odd.id).isEmpty)
        }
    }
}

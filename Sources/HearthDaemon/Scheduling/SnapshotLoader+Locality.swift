import HearthStore
import Synchronization

extension SnapshotLoader {
    /// Locality for the pass (``Snapshot/inputLocality``): for each pending job, the bytes of its
    /// stored inputs that each node's cache holds, as the nodes last recorded them
    /// (`node_cached_blobs`). A job's inputs are the fleet datasets of its `spec.data`, the
    /// checkpoints its `@checkpoint:` references name, and its own newest stored checkpoint (the
    /// same rule as `hearth_job_input_blobs`, Migrations/0015).
    ///
    /// Cost: a spec never changes, so its references are parsed once per job (``InputReferences``)
    /// and each pass only resolves the distinct references of the queue against the caches; a
    /// fleet where no node recorded a cached blob pays one `EXISTS`. (Per job and per pass, the
    /// parse cost 7 s for 100,000 queued jobs.) Read in the pass's transaction.
    static func inputLocality(_ c: PostgresConnection, pending: [Int64], references: InputReferences) async throws
        -> [Int64: [Int64: Int64]]
    {
        guard !pending.isEmpty,
              try await c.query("SELECT EXISTS (SELECT 1 FROM node_cached_blobs) AS any")[0].decode("any", as: Bool.self)
        else { return [:] }
        try await references.learn(pending, c)
        let refs = references.get(pending)
        var digests: Set<String> = [], checkpoints: Set<String> = []
        for r in refs.values {
            digests.formUnion(r.datasets)
            checkpoints.formUnion(r.checkpoints)
        }
        // Every reference's files held by some node: ("d:DIGEST" | "c:JOB:STEP" | "o:JOB", node, blob, bytes).
        var held: [String: [(node: Int64, sha256: String, bytes: Int64)]] = [:]
        for r in try await c.query("""
            WITH ds AS (
                SELECT 'd:' || w.digest AS ref, f.sha256, f.bytes
                FROM (SELECT DISTINCT unnest(string_to_array(\(digests.sorted().joined(separator: ",")), ',')) AS digest) w
                CROSS JOIN LATERAL (SELECT a.id FROM artifacts a WHERE a.kind = 'dataset' AND a.digest = w.digest ORDER BY a.id LIMIT 1) a
                JOIN artifact_files f ON f.artifact_id = a.id
            ), ck AS (
                SELECT 'c:' || w.r AS ref, f.sha256, f.bytes
                FROM (SELECT r, split_part(r, ':', 1)::bigint AS job, split_part(r, ':', 2) AS step
                      FROM unnest(string_to_array(\(checkpoints.sorted().joined(separator: ",")), ',')) r) w
                CROSS JOIN LATERAL (SELECT a.id FROM artifacts a
                                    WHERE a.kind = 'checkpoint' AND a.job_id = w.job AND (w.step = 'latest' OR a.step = w.step::bigint)
                                    ORDER BY a.step DESC LIMIT 1) a
                JOIN artifact_files f ON f.artifact_id = a.id
            ), own AS (
                SELECT 'o:' || o.job_id AS ref, f.sha256, f.bytes
                FROM (SELECT DISTINCT ON (a.job_id) a.job_id, a.id FROM artifacts a JOIN jobs q ON q.id = a.job_id
                      WHERE a.kind = 'checkpoint' AND q.state = 'queued' ORDER BY a.job_id, a.step DESC) o
                JOIN artifact_files f ON f.artifact_id = o.id
            )
            SELECT x.ref, n.node_id, x.sha256, x.bytes
            FROM (SELECT * FROM ds UNION ALL SELECT * FROM ck UNION ALL SELECT * FROM own) x
            JOIN node_cached_blobs n ON n.sha256 = x.sha256
            """) {
            held[try r.decode("ref"), default: []].append((try r.decode("node_id"), try r.decode("sha256"), try r.decode("bytes")))
        }
        guard !held.isEmpty else { return [:] }
        var locality: [Int64: [Int64: Int64]] = [:]
        // Only jobs that name inputs or have stored checkpoints of their own can hold any.
        var candidates = Set(refs.keys)
        for key in held.keys where key.hasPrefix("o:") { if let id = Int64(key.dropFirst(2)) { candidates.insert(id) } }
        for id in candidates {
            let r = refs[id]
            let keys = (r?.datasets.map { "d:" + $0 } ?? []) + (r?.checkpoints.map { "c:" + $0 } ?? []) + ["o:\(id)"]
            // A blob two references share counts once.
            var seen: Set<String> = []
            var bytes: [Int64: Int64] = [:]
            for key in keys {
                for h in held[key] ?? [] where seen.insert("\(h.node) \(h.sha256)").inserted {
                    bytes[h.node, default: 0] += h.bytes
                }
            }
            if !bytes.isEmpty { locality[id] = bytes }
        }
        return locality
    }

    /// The stored inputs each queued job's spec names, parsed once per job (a spec never changes):
    /// dataset digests and checkpoint references (`JOB:STEP` or `JOB:latest`). Jobs no longer
    /// pending are forgotten. At most `batch` new jobs are parsed per pass (about 0.15 s for
    /// 10,000 on a loaded 2-core machine), so a new leader facing a long queue does not stall
    /// its first pass; jobs not parsed yet simply have no locality until a later pass.
    final class InputReferences: Sendable {
        let batch: Int
        init(batch: Int = 10_000) { self.batch = batch }

        struct Refs: Sendable {
            var datasets: [String]
            var checkpoints: [String]
        }
        private let known = Mutex<[Int64: Refs]>([:])

        /// Parses (in PostgreSQL) the specs of the jobs of `pending` not known yet.
        func learn(_ pending: [Int64], _ c: PostgresConnection) async throws {
            let missing = known.withLock { k in
                let keep = Set(pending)
                k = k.filter { keep.contains($0.key) }
                var missing: [Int64] = []
                for id in pending where k[id] == nil {
                    missing.append(id)
                    if missing.count == batch { break }
                }
                return missing
            }
            guard !missing.isEmpty else { return }
            var learned: [Int64: Refs] = [:]
            for r in try await c.query("""
                SELECT j.id,
                       coalesce((SELECT string_agg(substr(d #>> '{}', 8), ',')
                                 FROM jsonb_path_query(j.spec, 'lax $.data[*].dataset ? (@.type() == "string" && @ starts with "sha256:")') d
                                 WHERE substr(d #>> '{}', 8) ~ '^[0-9a-f]{64}$'), '') AS datasets,
                       coalesce((SELECT string_agg(m[1] || ':' || m[2], ',')
                                 FROM (SELECT regexp_match(s #>> '{}', '^@checkpoint:([0-9]{1,18}):(latest|[0-9]{1,18})') AS m
                                       FROM jsonb_path_query(j.spec, 'lax $.** ? (@.type() == "string" && @ starts with "@checkpoint:")') s) p
                                 WHERE m IS NOT NULL), '') AS checkpoints
                FROM jobs j WHERE j.id = ANY (\(missing)::bigint[])
                """) {
                func list(_ column: String) throws -> [String] {
                    try r.decode(column, as: String.self).split(separator: ",").map(String.init)
                }
                learned[try r.decode("id")] = Refs(datasets: try list("datasets"), checkpoints: try list("checkpoints"))
            }
            known.withLock { k in k.merge(learned) { _, new in new } }
        }

        /// The references of the jobs of `ids` that name any.
        func get(_ ids: [Int64]) -> [Int64: Refs] {
            known.withLock { k in
                var out: [Int64: Refs] = [:]
                for id in ids { if let r = k[id], !r.datasets.isEmpty || !r.checkpoints.isEmpty { out[id] = r } }
                return out
            }
        }
    }
}

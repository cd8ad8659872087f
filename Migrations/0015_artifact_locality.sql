-- Fleet artifacts (0012, 0014), continued: collection on the leader's timer, counted, and which
-- node caches which blobs, for placement.

-- MARK: Collection

-- hearth_artifact_collect (0012) with what it freed: blobs no artifact uses, older than p_grace,
-- and their chunks. The leader calls it every artifact_collect_interval_minutes. A node may not
-- pass a grace under 10 minutes: a blob exists a moment before the artifact that names it, and a
-- node must not be able to delete another node's upload in that moment.
CREATE FUNCTION hearth_artifact_collect_counted(p_grace interval, OUT blobs bigint, OUT bytes bigint)
LANGUAGE plpgsql AS $$
BEGIN
    IF hearth_calling_node() IS NOT NULL AND p_grace < interval '10 minutes' THEN
        RAISE EXCEPTION 'a node collects only blobs older than 10 minutes (asked: %); an admin may run it with less',
            p_grace USING ERRCODE = 'insufficient_privilege';
    END IF;
    WITH gone AS (
        DELETE FROM artifact_blobs b
         WHERE b.created_at < now() - p_grace
           AND NOT EXISTS (SELECT 1 FROM artifact_files f WHERE f.sha256 = b.sha256)
        RETURNING b.upload_id, b.bytes
    ), chunks AS (
        DELETE FROM artifact_chunks c USING gone WHERE c.upload_id = gone.upload_id
    )
    SELECT count(*), coalesce(sum(gone.bytes), 0) INTO blobs, bytes FROM gone;
END $$;
SELECT hearth_node_api_grant('hearth_artifact_collect_counted');

-- MARK: Locality

-- Which blobs each node's cache holds (Docs/artifacts.md, "Locality"): a node records its own
-- list through hearth_node_cache_record; the scheduler prefers, among nodes that are otherwise
-- equally good for a job, the one holding more bytes of the job's inputs. Only a hint: a stale
-- row (a blob evicted since) costs a fetch, nothing else. A collected blob or a removed node
-- takes its rows with it.
CREATE TABLE node_cached_blobs (
    node_id      bigint NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    sha256       text NOT NULL REFERENCES artifact_blobs (sha256) ON DELETE CASCADE,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (node_id, sha256)
);
CREATE INDEX node_cached_blobs_by_blob ON node_cached_blobs (sha256);

-- Replaces node p_node's list with p_blobs (names of blobs that are not stored are ignored).
-- A node records only its own cache; sizes come from artifact_blobs, never from the node, so a
-- node can claim only blobs that exist, at their true size. Returns the blobs now recorded.
CREATE FUNCTION hearth_node_cache_record(p_node bigint, p_blobs text[]) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    v_caller bigint := hearth_calling_node();
    n integer;
BEGIN
    IF v_caller IS NOT NULL AND v_caller <> p_node THEN
        RAISE EXCEPTION 'node % cannot record the cache of node %: a node records only its own cache',
            coalesce((SELECT hostname FROM nodes WHERE id = v_caller), v_caller::text),
            coalesce((SELECT hostname FROM nodes WHERE id = p_node), p_node::text)
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    DELETE FROM node_cached_blobs c WHERE c.node_id = p_node AND NOT (c.sha256 = ANY (p_blobs));
    INSERT INTO node_cached_blobs (node_id, sha256)
    SELECT p_node, b.sha256 FROM artifact_blobs b WHERE b.sha256 = ANY (p_blobs)
    ON CONFLICT (node_id, sha256) DO NOTHING;
    SELECT count(*) INTO n FROM node_cached_blobs c WHERE c.node_id = p_node;
    RETURN n;
END $$;

-- The stored blobs job p_job will fetch when it starts: its fleet datasets (spec.data[*].dataset
-- = "sha256:DIGEST", pinned at submission), the checkpoints its spec names ("@checkpoint:J:S" or
-- ":latest", anywhere in the spec), and its own newest stored checkpoint (where it resumes).
CREATE FUNCTION hearth_job_input_blobs(p_job bigint) RETURNS TABLE (sha256 text, bytes bigint)
LANGUAGE sql STABLE AS $$
    WITH j AS (SELECT id, spec FROM jobs WHERE id = p_job),
    datasets AS (
        SELECT (SELECT a.id FROM artifacts a WHERE a.kind = 'dataset' AND a.digest = substr(d #>> '{}', 8) ORDER BY a.id LIMIT 1) AS id
        FROM j, jsonb_path_query(j.spec, 'lax $.data[*].dataset ? (@.type() == "string" && @ starts with "sha256:")') d
    ),
    refs AS (
        SELECT regexp_match(s #>> '{}', '^@checkpoint:([0-9]{1,18}):(latest|[0-9]{1,18})') AS m
        FROM j, jsonb_path_query(j.spec, 'lax $.** ? (@.type() == "string" && @ starts with "@checkpoint:")') s
    ),
    checkpoints AS (
        SELECT (SELECT a.id FROM artifacts a
                WHERE a.kind = 'checkpoint' AND a.job_id = r.m[1]::bigint
                  AND (r.m[2] = 'latest' OR a.step = r.m[2]::bigint)
                ORDER BY a.step DESC LIMIT 1) AS id
        FROM refs r WHERE r.m IS NOT NULL
    ),
    own AS (
        SELECT (SELECT a.id FROM artifacts a WHERE a.kind = 'checkpoint' AND a.job_id = j.id ORDER BY a.step DESC LIMIT 1) AS id FROM j
    )
    SELECT DISTINCT f.sha256, f.bytes
    FROM (SELECT id FROM datasets UNION SELECT id FROM checkpoints UNION SELECT id FROM own) i
    JOIN artifact_files f ON f.artifact_id = i.id
$$;

SELECT hearth_node_api_grant(name) FROM unnest(ARRAY['hearth_node_cache_record', 'hearth_job_input_blobs']) AS name;
GRANT SELECT ON node_cached_blobs TO hearth_node;

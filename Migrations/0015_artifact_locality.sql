-- Fleet artifacts (0012, 0014), continued: collection on the leader's timer, counted.

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

-- The artifact store (0012) under node roles (0013): what a node may call and read to upload and
-- fetch blobs, name datasets and store its checkpoints (Docs/artifacts.md, Docs/security.md).

-- A node stores checkpoints only of jobs it ran (an attempt of the job held a placement on it);
-- the owner (migrations, admins' tools) may store any. The unchecked body stays 0012's.
ALTER FUNCTION hearth_checkpoint_store(bigint, bigint, jsonb, int) RENAME TO hearth_checkpoint_store_unchecked;
REVOKE EXECUTE ON FUNCTION hearth_checkpoint_store_unchecked(bigint, bigint, jsonb, int) FROM PUBLIC;

CREATE FUNCTION hearth_checkpoint_store(p_job bigint, p_step bigint, p_files jsonb, p_keep int)
RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    IF hearth_calling_node() IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM allocations WHERE job_id = p_job AND node_id = hearth_calling_node()) THEN
        RAISE EXCEPTION 'job % never ran on this node; a node stores only its own jobs'' checkpoints', p_job
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN hearth_checkpoint_store_unchecked(p_job, p_step, p_files, p_keep);
END $$;

SELECT hearth_node_api_grant(name) FROM unnest(ARRAY[
    'hearth_artifact_upload_begin', 'hearth_artifact_upload_commit', 'hearth_artifact_create',
    'hearth_artifact_delete', 'hearth_artifact_collect', 'hearth_checkpoint_store'
]) AS name;

-- COPY cannot go through a function: a node inserts chunk rows itself. They stay invisible until
-- hearth_artifact_upload_commit names them as a blob, so this grant cannot make anything appear.
GRANT INSERT ON artifact_chunks TO hearth_node;
GRANT SELECT ON artifact_chunks, artifact_blobs, artifacts, artifact_files TO hearth_node;

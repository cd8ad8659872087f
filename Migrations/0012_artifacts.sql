-- Fleet artifacts (Docs/artifacts.md): datasets, tokenizers and checkpoints stored in PostgreSQL,
-- content-addressed by SHA-256, so that any node can run or resume any job.
--
-- Three layers:
--   artifact_chunks  the bytes of one upload, in numbered chunks (written with COPY, binary);
--   artifact_blobs   one row per distinct content (a file), keyed by its SHA-256: a blob exists
--                    only once the transaction that wrote all its chunks committed, so a reader
--                    never sees half a file, and a killed uploader leaves nothing but dead rows;
--   artifacts        what users name: a dataset (name, version), a checkpoint (job, step), a
--                    tokenizer; a set of files (artifact_files), each a blob, owned by an account
--                    (and a project), read under the same rules as the owner's jobs.
-- Every change of state is a function below; a node needs EXECUTE on them, INSERT and SELECT on
-- artifact_chunks (COPY), and SELECT on the tables it reads.

CREATE SEQUENCE artifact_upload_ids;

CREATE TABLE artifact_chunks (
    upload_id  bigint NOT NULL,
    seq        integer NOT NULL CHECK (seq >= 0),
    data       bytea NOT NULL,
    PRIMARY KEY (upload_id, seq)
);
-- Checkpoints and token shards do not compress: skip pglz's attempt, store the TOAST slices as is.
ALTER TABLE artifact_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE TABLE artifact_blobs (
    sha256      text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    upload_id   bigint NOT NULL UNIQUE,
    bytes       bigint NOT NULL CHECK (bytes >= 0),
    chunks      integer NOT NULL CHECK (chunks >= 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE artifacts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('dataset', 'tokenizer', 'checkpoint')),
    -- Datasets and tokenizers: a name per owner, and versions 1, 2, ... of it.
    name        text CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$'),
    version     integer CHECK (version >= 1),
    owner_id    bigint NOT NULL REFERENCES accounts (id),
    project_id  bigint REFERENCES projects (id),
    -- Checkpoints: the job and step that wrote them.
    job_id      bigint REFERENCES jobs (id),
    step        bigint CHECK (step >= 0),
    -- SHA-256 of the manifest (one "path sha256 bytes" line per file, sorted by path): the
    -- artifact's own content address, which a spec may name instead of NAME@VERSION.
    digest      text NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$'),
    bytes       bigint NOT NULL CHECK (bytes >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'checkpoint') = (job_id IS NOT NULL AND step IS NOT NULL)),
    CHECK ((kind = 'checkpoint') = (name IS NULL AND version IS NULL))
);
CREATE UNIQUE INDEX artifacts_name_version ON artifacts (owner_id, kind, name, version) WHERE name IS NOT NULL;
CREATE UNIQUE INDEX artifacts_job_step ON artifacts (job_id, step) WHERE job_id IS NOT NULL;
CREATE INDEX artifacts_by_digest ON artifacts (digest);

CREATE TABLE artifact_files (
    artifact_id  bigint NOT NULL REFERENCES artifacts (id) ON DELETE CASCADE,
    path         text NOT NULL CHECK (path ~ '^[A-Za-z0-9_.-]{1,200}$' AND path NOT IN ('.', '..')),
    sha256       text NOT NULL REFERENCES artifact_blobs (sha256),
    bytes        bigint NOT NULL CHECK (bytes >= 0),
    PRIMARY KEY (artifact_id, path)
);
CREATE INDEX artifact_files_by_blob ON artifact_files (sha256);

-- A recorded checkpoint (0001) learns where its copy in the store is; deleting the copy
-- (retention, `hearth checkpoints rm`) leaves the record.
ALTER TABLE checkpoints ADD COLUMN artifact_id bigint REFERENCES artifacts (id) ON DELETE SET NULL;

-- MARK: Uploads

-- A fresh upload id for the chunks that follow (COPY artifact_chunks FROM STDIN, same transaction).
CREATE FUNCTION hearth_artifact_upload_begin() RETURNS bigint LANGUAGE sql AS $$
    SELECT nextval('artifact_upload_ids')
$$;

-- Publishes an upload as blob p_sha256, in the transaction that wrote its chunks: checks that the
-- chunks are exactly 0..p_chunks-1 and add up to p_bytes. Returns false (and drops the chunks)
-- when that content is already stored: another uploader won the race.
CREATE FUNCTION hearth_artifact_upload_commit(p_upload bigint, p_sha256 text, p_bytes bigint, p_chunks int)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    n int; total bigint; top int;
BEGIN
    SELECT count(*), coalesce(sum(octet_length(data)), 0), coalesce(max(seq), -1)
      INTO n, total, top FROM artifact_chunks WHERE upload_id = p_upload;
    IF n <> p_chunks OR top <> p_chunks - 1 OR total <> p_bytes THEN
        RAISE EXCEPTION 'upload % is incomplete: % chunks of % bytes arrived, % chunks of % bytes were announced',
            p_upload, n, total, p_chunks, p_bytes USING ERRCODE = 'HA001';
    END IF;
    INSERT INTO artifact_blobs (sha256, upload_id, bytes, chunks) VALUES (p_sha256, p_upload, p_bytes, p_chunks)
        ON CONFLICT (sha256) DO NOTHING;
    IF NOT FOUND THEN
        DELETE FROM artifact_chunks WHERE upload_id = p_upload;
        RETURN false;
    END IF;
    RETURN true;
END $$;

-- MARK: Artifacts

-- Creates an artifact from stored blobs. p_files: [{"path": ..., "sha256": ..., "bytes": ...}].
-- A named artifact gets the next version of (owner, kind, name); a checkpoint replaces nothing
-- (one per job and step: storing the same step twice returns the first). Returns the row.
CREATE FUNCTION hearth_artifact_create(
    p_kind text, p_name text, p_owner bigint, p_project bigint, p_job bigint, p_step bigint, p_files jsonb
) RETURNS TABLE (id bigint, version int, digest text, bytes bigint) LANGUAGE plpgsql AS $$
DECLARE
    v_digest text; v_bytes bigint; v_version int; v_id bigint; missing text;
BEGIN
    IF jsonb_typeof(p_files) <> 'array' OR jsonb_array_length(p_files) = 0 THEN
        RAISE EXCEPTION 'an artifact needs at least one file' USING ERRCODE = 'HA002';
    END IF;
    SELECT f->>'sha256' INTO missing FROM jsonb_array_elements(p_files) f
     WHERE NOT EXISTS (SELECT 1 FROM artifact_blobs b WHERE b.sha256 = f->>'sha256' AND b.bytes = (f->>'bytes')::bigint)
     LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'blob % is not stored (or has another size): upload it first', missing USING ERRCODE = 'HA003';
    END IF;
    SELECT encode(sha256(convert_to(string_agg(f->>'path' || ' ' || (f->>'sha256') || ' ' || (f->>'bytes'), E'\n'
                                                ORDER BY f->>'path' COLLATE "C") || E'\n', 'UTF8')), 'hex'),
           sum((f->>'bytes')::bigint)
      INTO v_digest, v_bytes FROM jsonb_array_elements(p_files) f;
    IF p_kind = 'checkpoint' THEN
        -- (A SELECT INTO that finds nothing would set its targets to NULL: return the row directly.)
        IF EXISTS (SELECT 1 FROM artifacts a WHERE a.job_id = p_job AND a.step = p_step) THEN
            RETURN QUERY SELECT a.id, a.version, a.digest, a.bytes FROM artifacts a WHERE a.job_id = p_job AND a.step = p_step;
            RETURN;
        END IF;
    ELSE
        -- Versions of one name are numbered in order: serialise their creation.
        PERFORM pg_advisory_xact_lock(hashtext('hearth_artifact_name'), hashtext(p_owner || '/' || p_kind || '/' || p_name));
        SELECT coalesce(max(a.version), 0) + 1 INTO v_version
          FROM artifacts a WHERE a.owner_id = p_owner AND a.kind = p_kind AND a.name = p_name;
    END IF;
    INSERT INTO artifacts (kind, name, version, owner_id, project_id, job_id, step, digest, bytes)
    VALUES (p_kind, CASE WHEN p_kind = 'checkpoint' THEN NULL ELSE p_name END,
            CASE WHEN p_kind = 'checkpoint' THEN NULL ELSE v_version END,
            p_owner, p_project, p_job, p_step, v_digest, v_bytes)
    RETURNING artifacts.id INTO v_id;
    INSERT INTO artifact_files (artifact_id, path, sha256, bytes)
    SELECT v_id, f->>'path', f->>'sha256', (f->>'bytes')::bigint FROM jsonb_array_elements(p_files) f;
    RETURN QUERY SELECT v_id, CASE WHEN p_kind = 'checkpoint' THEN NULL ELSE v_version END, v_digest, v_bytes;
END $$;

-- Removes an artifact (its blobs go with the next collection when nothing else uses them).
CREATE FUNCTION hearth_artifact_delete(p_id bigint) RETURNS boolean LANGUAGE sql AS $$
    WITH d AS (DELETE FROM artifacts WHERE id = p_id RETURNING 1) SELECT EXISTS (SELECT 1 FROM d)
$$;

-- Deletes blobs no artifact uses, older than p_grace (an upload's blob is created a moment
-- before the artifact that names it), and the chunks of uploads that never committed (a killed
-- uploader's rows were rolled back; these would be a committed blob's leftovers only).
-- Returns the bytes freed.
CREATE FUNCTION hearth_artifact_collect(p_grace interval) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    freed bigint;
BEGIN
    WITH gone AS (
        DELETE FROM artifact_blobs b
         WHERE b.created_at < now() - p_grace
           AND NOT EXISTS (SELECT 1 FROM artifact_files f WHERE f.sha256 = b.sha256)
        RETURNING b.upload_id, b.bytes
    ), chunks AS (
        DELETE FROM artifact_chunks c USING gone WHERE c.upload_id = gone.upload_id
    )
    SELECT coalesce(sum(gone.bytes), 0) INTO freed FROM gone;
    RETURN freed;
END $$;

-- MARK: Checkpoints

-- Stores checkpoint (p_job, p_step) as an artifact owned by the job's owner and project, links
-- the recorded checkpoint to it, and keeps only the newest p_keep stored checkpoints of the job
-- (fleet-wide retention; the newest is always kept, so a finished job's final checkpoint stays).
-- Returns the artifact id.
CREATE FUNCTION hearth_checkpoint_store(p_job bigint, p_step bigint, p_files jsonb, p_keep int)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_owner bigint; v_project bigint; v_id bigint;
BEGIN
    SELECT account_id, project_id INTO v_owner, v_project FROM jobs WHERE id = p_job;
    IF NOT FOUND THEN RAISE EXCEPTION 'no job %', p_job USING ERRCODE = 'HJ001'; END IF;
    SELECT c.id INTO v_id FROM hearth_artifact_create('checkpoint', NULL, v_owner, v_project, p_job, p_step, p_files) c;
    UPDATE checkpoints SET artifact_id = v_id WHERE job_id = p_job AND step = p_step;
    DELETE FROM artifacts a
     WHERE a.job_id = p_job AND a.kind = 'checkpoint'
       AND a.id NOT IN (SELECT k.id FROM artifacts k WHERE k.job_id = p_job AND k.kind = 'checkpoint'
                        ORDER BY k.step DESC LIMIT greatest(p_keep, 1));
    RETURN v_id;
END $$;

-- An array is one row until its elements are needed, as Slurm keeps an array as one job record
-- until it splits elements off to run them.
--
-- `hearth_submit_array` queues the array's first element as an ordinary job (its id is the
-- array's id, as before) and keeps the rest as one template row here: the submission's fields as
-- `hearth_submit_batch` reads them, with `{index}` still in the spec and name, and the indexes not
-- yet written. `hearth_expand_arrays` writes those elements as ordinary job rows (with their
-- `submitted` events) in one statement per array and deletes the template, in one transaction:
-- an array is either a template and its first element, or all its elements, never half of them.
-- The daemon that took the submission expands it right after answering, the fleet leader before
-- every scheduling pass (so a template left by a daemon that died is expanded too), and a request
-- that reads an array's elements first; so the submitter waits for one row, not for a thousand.
CREATE TABLE job_arrays (
    id      bigint PRIMARY KEY REFERENCES jobs (id),
    -- The submission as `hearth_submit_batch` reads one job (its spec and name are templates;
    -- run_at is the first element's, so every element becomes runnable at the same time).
    job     jsonb NOT NULL CHECK (jsonb_typeof(job) = 'object'),
    -- The indexes still to write, in submission order.
    pending integer[] NOT NULL CHECK (cardinality(pending) BETWEEN 1 AND 100000
                                      AND array_position(pending, NULL) IS NULL),
    submitted_at timestamptz NOT NULL DEFAULT now()
);

-- Element `p_index`'s text: `"{index}"` as a whole JSON string becomes the number, `{index}`
-- elsewhere its digits (ArraySpec.substitute in Sources/HearthAPI/JobArray.swift, which checks
-- the elements before they are queued, does the same).
CREATE FUNCTION hearth_array_substitute(p_text text, p_index integer) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT replace(replace(p_text, '"{index}"', p_index::text), '{index}', p_index::text)
$$;

-- Queues array `p_indexes` of job `p_job` (one `hearth_submit_batch` row whose spec and name are
-- templates; its ord and array_index are ignored) with at most `p_parallel` elements at once, and
-- returns the array's id: its first element, queued now; the others wait in job_arrays.
CREATE FUNCTION hearth_submit_array(p_job jsonb, p_indexes integer[], p_parallel integer) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_first integer := p_indexes[1];
    v_id bigint;
BEGIN
    IF coalesce(cardinality(p_indexes), 0) = 0 OR array_position(p_indexes, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'an array needs at least one index, and no index may be null' USING ERRCODE = 'HJ005';
    END IF;
    SELECT id INTO v_id FROM hearth_submit_batch(jsonb_build_array(p_job || jsonb_build_object(
        'ord', 1, 'array_index', v_first,
        'spec', hearth_array_substitute(p_job ->> 'spec', v_first),
        'name', hearth_array_substitute(p_job ->> 'name', v_first))), p_parallel) AS id;
    IF cardinality(p_indexes) > 1 THEN
        INSERT INTO job_arrays (id, job, pending)
        SELECT v_id, p_job || jsonb_build_object('run_at', j.run_at, 'array_parallel', p_parallel), p_indexes[2:]
        FROM jobs j WHERE j.id = v_id;
    END IF;
    RETURN v_id;
END $$;

-- Writes the pending elements of array `p_array` (or of every array, when NULL) as job rows and
-- returns how many. Safe to run from any number of sessions at once: a template is locked, then
-- expanded and deleted in the caller's transaction; a second caller finds it gone.
CREATE FUNCTION hearth_expand_arrays(p_array bigint DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    a job_arrays;
    v_added integer;
    v_total integer := 0;
BEGIN
    FOR a IN SELECT * FROM job_arrays WHERE p_array IS NULL OR id = p_array ORDER BY id FOR UPDATE LOOP
        WITH t AS (
            SELECT * FROM jsonb_to_record(a.job) AS t(
                kind text, account_id bigint, project_id bigint, name text, spec text, priority int, qos text,
                gpus int, max_attempts int, run_at timestamptz, after_ok bigint[], time_limit_seconds int,
                preemptible boolean, gpu_model text, gpu_memory_bytes bigint, array_parallel int)
        ), element AS (
            -- Ids ascend with the submission's order of indexes.
            SELECT nextval(pg_get_serial_sequence('jobs', 'id')) AS id, s.*
            FROM (SELECT u.ord, u.idx, hearth_array_substitute(t.spec, u.idx)::jsonb AS spec,
                         hearth_array_substitute(t.name, u.idx) AS name
                  FROM t, unnest(a.pending) WITH ORDINALITY AS u(idx, ord) ORDER BY u.ord) s
        ), ins AS (
            INSERT INTO jobs (id, kind, account_id, project_id, name, spec, priority, qos, gpus, max_attempts, run_at,
                              spec_sha256, after_ok, time_limit_seconds, preemptible, gpu_model, gpu_memory_bytes,
                              array_id, array_index, array_parallel)
            OVERRIDING SYSTEM VALUE
            SELECT e.id, t.kind, t.account_id, t.project_id, e.name, e.spec, t.priority, t.qos, t.gpus,
                   t.max_attempts, t.run_at, encode(sha256(convert_to(t.kind || ' ' || e.spec::text, 'UTF8')), 'hex'),
                   coalesce(t.after_ok, '{}'), t.time_limit_seconds, t.preemptible, t.gpu_model, t.gpu_memory_bytes,
                   a.id, e.idx, t.array_parallel
            FROM t, element e ORDER BY e.ord
            RETURNING jobs.id
        )
        INSERT INTO job_events (job_id, event, to_state, attempt) SELECT ins.id, 'submitted', 'queued', 0 FROM ins;
        GET DIAGNOSTICS v_added = ROW_COUNT;
        DELETE FROM job_arrays WHERE id = a.id;
        v_total := v_total + v_added;
    END LOOP;
    IF v_total > 0 THEN
        PERFORM pg_notify('hearth_jobs', 'batch');
    END IF;
    RETURN v_total;
END $$;

-- Nodes submit and expand arrays through these, as they submit batches (0013).
SELECT hearth_node_api_grant(name) FROM unnest(ARRAY['hearth_submit_array', 'hearth_expand_arrays']) AS name;

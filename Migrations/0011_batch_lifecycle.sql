-- Arrays and batches through the lifecycle (Migrations/0007_lifecycle.sql): submitting many jobs
-- and cancelling an array's queued elements are named functions like every other transition.

-- submit, for many jobs at once: every job of `p_jobs` (a JSON array of objects with the fields of
-- `hearth_submit`, their order `ord`, and `array_index` for an array's element) is queued in order, ids ascending,
-- with its `submitted` event and one wake-up, or none is. With array indexes the jobs form one
-- array whose id is the first job's id; `p_array_parallel` (`%N`) bounds how many of its elements
-- hold a node at once. Returns the new ids in order.
CREATE FUNCTION hearth_submit_batch(p_jobs jsonb, p_array_parallel int) RETURNS SETOF bigint LANGUAGE plpgsql AS $$
DECLARE
    v_missing bigint[];
BEGIN
    SELECT array_agg(DISTINCT x.d ORDER BY x.d) INTO v_missing
    FROM (SELECT jsonb_array_elements_text(coalesce(e -> 'after_ok', '[]'))::bigint AS d FROM jsonb_array_elements(p_jobs) e) x
    WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE id = x.d);
    IF v_missing IS NOT NULL THEN
        RAISE EXCEPTION 'after-ok names job(s) % that do not exist; check the ids with `hearth queue --all`',
            array_to_string(v_missing, ', ') USING ERRCODE = 'HJ005';
    END IF;
    RETURN QUERY
    WITH input AS (
        SELECT * FROM jsonb_to_recordset(p_jobs) AS t(
            ord int, kind text, account_id bigint, project_id bigint, name text, spec text, priority int, qos text,
            gpus int, max_attempts int, run_at timestamptz, after_ok bigint[], time_limit_seconds int,
            preemptible boolean, gpu_model text, gpu_memory_bytes bigint, array_index int)
    ), ids AS (
        SELECT nextval(pg_get_serial_sequence('jobs', 'id')) AS id, s.*
        FROM (SELECT * FROM input ORDER BY ord) s
    ), ins AS (
        INSERT INTO jobs (id, kind, account_id, project_id, name, spec, priority, qos, gpus, max_attempts, run_at,
                          spec_sha256, after_ok, time_limit_seconds, preemptible, gpu_model, gpu_memory_bytes,
                          array_id, array_index, array_parallel)
        OVERRIDING SYSTEM VALUE
        SELECT ids.id, ids.kind, ids.account_id, ids.project_id, ids.name, ids.spec::jsonb, ids.priority, ids.qos, ids.gpus,
               ids.max_attempts, coalesce(ids.run_at, now()),
               encode(sha256(convert_to(ids.kind || ' ' || ids.spec::jsonb::text, 'UTF8')), 'hex'),
               coalesce(ids.after_ok, '{}'), ids.time_limit_seconds, ids.preemptible, ids.gpu_model, ids.gpu_memory_bytes,
               CASE WHEN ids.array_index IS NOT NULL THEN (SELECT min(i.id) FROM ids i) END, ids.array_index,
               CASE WHEN ids.array_index IS NOT NULL THEN p_array_parallel END
        FROM ids ORDER BY ids.ord
        RETURNING jobs.id
    ), ev AS (
        INSERT INTO job_events (job_id, event, to_state, attempt) SELECT ins.id, 'submitted', 'queued', 0 FROM ins
    )
    SELECT ins.id FROM ins ORDER BY ins.id;
    PERFORM pg_notify('hearth_jobs', 'batch');
END $$;

-- cancel, for an array's queued elements at once (its scheduled and running ones are cancelled one
-- by one with `hearth_cancel`, which involves their nodes). Returns how many were cancelled.
CREATE FUNCTION hearth_cancel_queued_elements(p_array bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_count bigint;
BEGIN
    WITH cur AS (
        SELECT id, attempt FROM jobs WHERE array_id = p_array AND state = 'queued' FOR UPDATE
    ), done AS (
        UPDATE jobs j SET state = 'cancelled', finished_at = now(), node_id = NULL, lease_expires_at = NULL,
               lease_epoch = j.lease_epoch + 1, cancel_requested_at = now()
        FROM cur WHERE j.id = cur.id AND j.state = 'queued'
        RETURNING j.id, cur.attempt
    ), ev AS (
        INSERT INTO job_events (job_id, event, from_state, to_state, attempt)
        SELECT id, 'cancelled', 'queued', 'cancelled', attempt FROM done
    )
    SELECT count(*) INTO v_count FROM done;
    RETURN v_count;
END $$;

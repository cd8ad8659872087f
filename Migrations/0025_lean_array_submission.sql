-- An array's submission writes its first element with one plain INSERT (issue 16).
--
-- `hearth_submit_array_row` (0023) queued the first element through `hearth_submit_batch`, whose
-- statement (a recordset from JSON, numbered in a CTE, inserted by a writable CTE) is planned
-- afresh for each of a connection's first five calls and costs about as much again afterwards.
-- Measured in psql on the embedded cluster, each call in a new session: 1.6-2.3 ms, against
-- 0.7-1.2 ms for this body. The daemon's pool spreads submissions over several connections, so
-- most array submissions paid the first figure. The rows written are the same as before: the
-- first element with its `submitted` event, the template of the others in job_arrays, one
-- notification ('batch', as the batch function sent).
CREATE OR REPLACE FUNCTION hearth_submit_array_row(p_job jsonb, p_indexes integer[], p_parallel integer) RETURNS SETOF jobs
LANGUAGE plpgsql AS $$
DECLARE
    t record;
    v jobs;
    v_first integer := p_indexes[1];
    v_id bigint;
    v_spec jsonb;
    v_missing bigint[];
BEGIN
    IF coalesce(cardinality(p_indexes), 0) = 0 OR array_position(p_indexes, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'an array needs at least one index, and no index may be null' USING ERRCODE = 'HJ005';
    END IF;
    SELECT * INTO t FROM jsonb_to_record(p_job) AS x(
        kind text, account_id bigint, project_id bigint, name text, spec text, priority int, qos text,
        gpus int, max_attempts int, run_at timestamptz, after_ok bigint[], time_limit_seconds int,
        preemptible boolean, gpu_model text, gpu_memory_bytes bigint);
    IF cardinality(t.after_ok) > 0 THEN
        -- Jobs are never deleted, so a dependency that exists now still exists when it is checked.
        SELECT array_agg(d ORDER BY d) INTO v_missing FROM unnest(t.after_ok) d
        WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE id = d);
        IF v_missing IS NOT NULL THEN
            RAISE EXCEPTION 'after-ok names job(s) % that do not exist; check the ids with `hearth queue --all`',
                array_to_string(v_missing, ', ') USING ERRCODE = 'HJ005';
        END IF;
    END IF;
    -- The element's id is the array's id, so it is drawn first.
    v_id := nextval(pg_get_serial_sequence('jobs', 'id'));
    v_spec := hearth_array_substitute(t.spec, v_first)::jsonb;
    INSERT INTO jobs (id, kind, account_id, project_id, name, spec, priority, qos, gpus, max_attempts, run_at,
                      spec_sha256, after_ok, time_limit_seconds, preemptible, gpu_model, gpu_memory_bytes,
                      array_id, array_index, array_parallel)
    OVERRIDING SYSTEM VALUE
    VALUES (v_id, t.kind, t.account_id, t.project_id, hearth_array_substitute(t.name, v_first), v_spec, t.priority,
            t.qos, t.gpus, t.max_attempts, coalesce(t.run_at, now()),
            encode(sha256(convert_to(t.kind || ' ' || v_spec::text, 'UTF8')), 'hex'),
            coalesce(t.after_ok, '{}'), t.time_limit_seconds, t.preemptible, t.gpu_model, t.gpu_memory_bytes,
            v_id, v_first, p_parallel)
    RETURNING * INTO v;
    INSERT INTO job_events (job_id, event, to_state, attempt) VALUES (v_id, 'submitted', 'queued', 0);
    IF cardinality(p_indexes) > 1 THEN
        INSERT INTO job_arrays (id, job, pending)
        VALUES (v_id, p_job || jsonb_build_object('run_at', v.run_at, 'array_parallel', p_parallel), p_indexes[2:]);
    END IF;
    PERFORM pg_notify('hearth_jobs', 'batch');
    RETURN NEXT v;
END $$;

-- CREATE OR REPLACE resets a function to SECURITY INVOKER without its search_path: the grant
-- (0013) sets both again.
SELECT hearth_node_api_grant('hearth_submit_array_row');

-- The job lifecycle in one place: every change of a job's state, of a node's state and of the
-- ledger is one named function below, and a trigger refuses any job state change that the
-- diagram in `job_state_transitions` does not allow, whoever attempts it (psql included).
--
-- `HearthStore` (JobQueue, NodeStore) calls these functions and nothing else writes `jobs`,
-- `nodes` or `allocations`. Each function does the state change, its `job_events` row and its
-- ledger row together (a function call is one statement, so one transaction), checks the
-- lease epoch where an attempt is concerned, and raises a named error when it refuses:
--
--   HJ001  job_not_found        no job with that id
--   HJ002  stale_lease          the caller's lease epoch is no longer the job's (fencing)
--   HJ003  invalid_transition   the job's state does not allow the operation
--   HJ004  idempotency_conflict the idempotency key was used for a different submission
--   HJ005  invalid_job          the submission was refused before anything was written
--   HJ006  node_not_found       no node with that id or name
--
-- The same diagram is `JobState.transitions` in Sources/HearthCore and the table in
-- Docs/queue.md; a test holds the three to one another.

-- Jobs that an attempt's node asked to avoid (its worker exited 3: "retry on another node").
ALTER TABLE jobs ADD COLUMN avoid_nodes bigint[] NOT NULL DEFAULT '{}'
    CHECK (cardinality(avoid_nodes) <= 1024);

-- The state diagram: every (from, to) pair some operation may take.
CREATE TABLE job_state_transitions (
    from_state  text NOT NULL,
    to_state    text NOT NULL,
    operation   text NOT NULL,
    PRIMARY KEY (from_state, to_state, operation)
);
INSERT INTO job_state_transitions (from_state, to_state, operation) VALUES
    ('queued',    'scheduled', 'place'),
    ('queued',    'cancelled', 'cancel'),
    ('scheduled', 'running',   'start'),
    ('scheduled', 'queued',    'fail'),
    ('scheduled', 'failed',    'fail'),
    ('scheduled', 'queued',    'requeue'),
    ('scheduled', 'cancelled', 'cancel'),
    ('scheduled', 'cancelled', 'finish-cancel'),
    ('scheduled', 'queued',    'rescue'),
    ('scheduled', 'failed',    'rescue'),
    ('scheduled', 'cancelled', 'rescue'),
    ('running',   'succeeded', 'succeed'),
    ('running',   'queued',    'fail'),
    ('running',   'failed',    'fail'),
    ('running',   'queued',    'requeue'),
    ('running',   'cancelled', 'finish-cancel'),
    ('running',   'queued',    'rescue'),
    ('running',   'failed',    'rescue'),
    ('running',   'cancelled', 'rescue');

-- Refuses a job row that enters in another state than `queued`, a state change outside the
-- diagram, and any deletion (jobs are kept: the ledger and the audit trail name them).
CREATE FUNCTION jobs_state_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'jobs are never deleted (job %)', OLD.id USING ERRCODE = 'HJ003';
    ELSIF TG_OP = 'INSERT' THEN
        IF NEW.state <> 'queued' THEN
            RAISE EXCEPTION 'a job enters the queue as queued, not %', NEW.state USING ERRCODE = 'HJ003';
        END IF;
    ELSIF NEW.state IS DISTINCT FROM OLD.state AND NOT EXISTS (
        SELECT 1 FROM job_state_transitions WHERE from_state = OLD.state AND to_state = NEW.state) THEN
        RAISE EXCEPTION 'job %: % -> % is not a transition of the job state diagram (Docs/queue.md)',
            OLD.id, OLD.state, NEW.state USING ERRCODE = 'HJ003';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER jobs_state_diagram BEFORE INSERT OR UPDATE OF state OR DELETE ON jobs
    FOR EACH ROW EXECUTE FUNCTION jobs_state_guard();

CREATE FUNCTION jobs_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is never truncated', TG_TABLE_NAME USING ERRCODE = 'HJ003';
END $$;
CREATE TRIGGER jobs_no_truncate BEFORE TRUNCATE ON jobs FOR EACH STATEMENT EXECUTE FUNCTION jobs_no_truncate();
CREATE TRIGGER allocations_no_truncate BEFORE TRUNCATE ON allocations FOR EACH STATEMENT EXECUTE FUNCTION jobs_no_truncate();

-- Raises the precise refusal for an operation on an attempt that matched no row:
-- no such job (HJ001), a stale epoch (HJ002) or a state that does not allow it (HJ003).
CREATE FUNCTION hearth_refuse(p_job bigint, p_epoch bigint, p_operation text, p_allowed text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v record;
BEGIN
    SELECT state, lease_epoch INTO v FROM jobs WHERE id = p_job;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no job %', p_job USING ERRCODE = 'HJ001';
    END IF;
    IF p_epoch IS NOT NULL AND v.lease_epoch <> p_epoch THEN
        RAISE EXCEPTION 'cannot % job %: lease epoch % is stale (the job is at epoch %, %); this attempt no longer owns it',
            p_operation, p_job, p_epoch, v.lease_epoch, v.state USING ERRCODE = 'HJ002';
    END IF;
    RAISE EXCEPTION 'cannot % job %: it is %, and only a % job can be',
        p_operation, p_job, v.state, array_to_string(p_allowed, ' or ') USING ERRCODE = 'HJ003';
END $$;

-- The ledger: an attempt's row opens when the job is placed and closes exactly once.
CREATE FUNCTION hearth_ledger_open(p_job bigint, p_attempt int, p_node bigint, p_gpus int, p_gpu_indices int[])
RETURNS void LANGUAGE sql AS $$
    INSERT INTO allocations (job_id, attempt, node_id, gpus, gpu_indices, started_at)
    VALUES (p_job, p_attempt, p_node, p_gpus, p_gpu_indices, now());
$$;

CREATE FUNCTION hearth_ledger_close(
    p_job bigint, p_attempt int, p_reason text, p_at timestamptz,
    p_cpu_seconds float8 DEFAULT NULL, p_peak_rss bigint DEFAULT NULL,
    p_energy_joules float8 DEFAULT NULL, p_energy_source text DEFAULT NULL)
RETURNS void LANGUAGE sql AS $$
    UPDATE allocations SET ended_at = greatest(p_at, started_at), end_reason = p_reason,
           cpu_seconds = p_cpu_seconds, peak_rss_bytes = p_peak_rss,
           energy_joules = p_energy_joules, energy_source = p_energy_source
    WHERE job_id = p_job AND attempt = p_attempt AND ended_at IS NULL;
$$;

-- submit: a new job, `queued`; or the earlier job with the same idempotency key and spec.
CREATE FUNCTION hearth_submit(
    p_kind text, p_account bigint, p_project bigint, p_name text, p_spec jsonb, p_priority int, p_qos text,
    p_gpus int, p_idempotency_key text, p_max_attempts int, p_run_at timestamptz, p_after_ok bigint[],
    p_time_limit_seconds int, p_preemptible boolean, p_gpu_model text, p_gpu_memory_bytes bigint)
RETURNS TABLE (r_job jobs, r_created boolean) LANGUAGE plpgsql AS $$
DECLARE
    v jobs;
    v_sha text := encode(sha256(convert_to(p_kind || ' ' || p_spec::text, 'UTF8')), 'hex');
    v_missing bigint[];
BEGIN
    IF cardinality(p_after_ok) > 0 THEN
        -- Jobs are never deleted, so a dependency that exists now still exists when it is checked.
        SELECT array_agg(d ORDER BY d) INTO v_missing FROM unnest(p_after_ok) d
        WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE id = d);
        IF v_missing IS NOT NULL THEN
            RAISE EXCEPTION 'after-ok names job(s) % that do not exist; check the ids with `hearth queue --all`',
                array_to_string(v_missing, ', ') USING ERRCODE = 'HJ005';
        END IF;
    END IF;
    INSERT INTO jobs (kind, account_id, project_id, name, spec, priority, qos, gpus, idempotency_key, max_attempts,
                      run_at, spec_sha256, after_ok, time_limit_seconds, preemptible, gpu_model, gpu_memory_bytes)
    VALUES (p_kind, p_account, p_project, p_name, p_spec, p_priority, p_qos, p_gpus, p_idempotency_key, p_max_attempts,
            coalesce(p_run_at, now()), v_sha, p_after_ok, p_time_limit_seconds, p_preemptible, p_gpu_model,
            p_gpu_memory_bytes)
    ON CONFLICT (account_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING * INTO v;
    IF FOUND THEN
        INSERT INTO job_events (job_id, event, to_state, attempt) VALUES (v.id, 'submitted', 'queued', 0);
        PERFORM pg_notify('hearth_jobs', v.id::text);
        RETURN QUERY SELECT v, true;
        RETURN;
    END IF;
    -- The key was used before: the same submission gets the earlier job; a different one is refused.
    SELECT * INTO v FROM jobs WHERE account_id = p_account AND idempotency_key = p_idempotency_key;
    IF v.spec_sha256 <> v_sha THEN
        RAISE EXCEPTION 'idempotency key "%" was already used for job % with a different spec; use a new key for a new job',
            p_idempotency_key, v.id USING ERRCODE = 'HJ004', DETAIL = v.id::text;
    END IF;
    RETURN QUERY SELECT v, false;
END $$;

-- place (the leader): `queued` → `scheduled` on a node with exactly these GPUs, a new lease epoch
-- and an open ledger row. Returns no row (a soft refusal: the snapshot was stale) when the job
-- is not queued or is locked, the node is not up or is reclaimed or was avoided by the job, or
-- one of the GPUs is held by an open ledger row on that node.
CREATE FUNCTION hearth_place(p_job bigint, p_node bigint, p_gpu_indices int[], p_lease interval)
RETURNS TABLE (r_attempt int, r_epoch bigint, r_expires_at timestamptz) LANGUAGE plpgsql AS $$
DECLARE
    v jobs;
BEGIN
    PERFORM 1 FROM jobs
    WHERE id = p_job AND state = 'queued' AND gpus = cardinality(p_gpu_indices) AND NOT (p_node = ANY (avoid_nodes))
    FOR UPDATE SKIP LOCKED;
    IF NOT FOUND
       OR NOT EXISTS (SELECT 1 FROM nodes WHERE id = p_node AND state = 'up' AND reclaimed_at IS NULL)
       OR EXISTS (SELECT 1 FROM allocations a
                  WHERE a.node_id = p_node AND a.ended_at IS NULL AND a.gpu_indices && p_gpu_indices) THEN
        RETURN;
    END IF;
    UPDATE jobs SET state = 'scheduled', node_id = p_node, attempt = attempt + 1, lease_epoch = lease_epoch + 1,
           lease_expires_at = now() + p_lease, scheduled_at = now(), started_at = NULL, preempt_requested_at = NULL
    WHERE id = p_job RETURNING * INTO v;
    PERFORM hearth_ledger_open(v.id, v.attempt, p_node, v.gpus, p_gpu_indices);
    INSERT INTO job_events (job_id, event, from_state, to_state, node_id, attempt, detail)
    VALUES (v.id, 'placed', 'queued', 'scheduled', p_node, v.attempt, jsonb_build_object('gpu_indices', p_gpu_indices));
    RETURN QUERY SELECT v.attempt, v.lease_epoch, v.lease_expires_at;
END $$;

-- start (the node): the worker is up, `scheduled` → `running`, the lease renewed.
CREATE FUNCTION hearth_start(p_job bigint, p_epoch bigint, p_lease interval) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v jobs;
BEGIN
    UPDATE jobs SET state = 'running', started_at = now(), lease_expires_at = now() + p_lease
    WHERE id = p_job AND lease_epoch = p_epoch AND state = 'scheduled' RETURNING * INTO v;
    IF NOT FOUND THEN PERFORM hearth_refuse(p_job, p_epoch, 'start', '{scheduled}'); END IF;
    INSERT INTO job_events (job_id, event, from_state, to_state, node_id, attempt)
    VALUES (v.id, 'started', 'scheduled', 'running', v.node_id, v.attempt);
END $$;

-- heartbeat (the node): renews the lease of a scheduled or running attempt and tells the node
-- whether a cancel or a preemption was asked for.
CREATE FUNCTION hearth_heartbeat(p_job bigint, p_epoch bigint, p_lease interval)
RETURNS TABLE (r_expires_at timestamptz, r_cancel boolean, r_preempt boolean) LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    UPDATE jobs SET lease_expires_at = now() + p_lease
    WHERE id = p_job AND lease_epoch = p_epoch AND state IN ('scheduled', 'running')
    RETURNING lease_expires_at, cancel_requested_at IS NOT NULL, preempt_requested_at IS NOT NULL;
    IF NOT FOUND THEN PERFORM hearth_refuse(p_job, p_epoch, 'renew the lease of', '{scheduled,running}'); END IF;
END $$;

-- Ends an attempt in a terminal state (succeed, finish-cancel) and closes its ledger row.
CREATE FUNCTION hearth_finish(
    p_job bigint, p_epoch bigint, p_to text, p_event text, p_from text[], p_operation text, p_result jsonb,
    p_cpu_seconds float8, p_peak_rss bigint, p_energy_joules float8, p_energy_source text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v jobs;
BEGIN
    SELECT * INTO v FROM jobs WHERE id = p_job AND lease_epoch = p_epoch AND state = ANY (p_from) FOR UPDATE;
    IF NOT FOUND THEN PERFORM hearth_refuse(p_job, p_epoch, p_operation, p_from); END IF;
    UPDATE jobs SET state = p_to, finished_at = now(), node_id = NULL, lease_expires_at = NULL, result = p_result
    WHERE id = p_job;
    PERFORM hearth_ledger_close(p_job, v.attempt, p_to, now(), p_cpu_seconds, p_peak_rss, p_energy_joules, p_energy_source);
    INSERT INTO job_events (job_id, event, from_state, to_state, node_id, attempt)
    VALUES (p_job, p_event, v.state, p_to, v.node_id, v.attempt);
END $$;

-- succeed (the node): `running` → `succeeded`, with the worker's result and usage in the ledger.
CREATE FUNCTION hearth_succeed(
    p_job bigint, p_epoch bigint, p_result jsonb, p_cpu_seconds float8 DEFAULT NULL, p_peak_rss bigint DEFAULT NULL,
    p_energy_joules float8 DEFAULT NULL, p_energy_source text DEFAULT NULL)
RETURNS void LANGUAGE sql AS $$
    SELECT hearth_finish(p_job, p_epoch, 'succeeded', 'succeeded', '{running}', 'mark as succeeded', p_result,
                         p_cpu_seconds, p_peak_rss, p_energy_joules, p_energy_source);
$$;

-- finish-cancel (the node): the worker stopped after a cancel request, → `cancelled`.
CREATE FUNCTION hearth_finish_cancel(
    p_job bigint, p_epoch bigint, p_cpu_seconds float8 DEFAULT NULL, p_peak_rss bigint DEFAULT NULL,
    p_energy_joules float8 DEFAULT NULL, p_energy_source text DEFAULT NULL)
RETURNS void LANGUAGE sql AS $$
    SELECT hearth_finish(p_job, p_epoch, 'cancelled', 'cancelled', '{scheduled,running}', 'mark as cancelled', NULL,
                         p_cpu_seconds, p_peak_rss, p_energy_joules, p_energy_source);
$$;

-- fail (the node): the attempt failed; the job is requeued with an exponential backoff
-- (base × 2^(failures−1), capped) while failures stay below max_attempts and the error is
-- retryable, and fails for good otherwise. `p_avoid_node` (the worker exited 3) adds the node to
-- the job's avoided nodes, so its retry is placed elsewhere.
CREATE FUNCTION hearth_fail(
    p_job bigint, p_epoch bigint, p_message text, p_retryable boolean, p_avoid_node boolean,
    p_retry_base interval, p_retry_max interval,
    p_cpu_seconds float8 DEFAULT NULL, p_peak_rss bigint DEFAULT NULL,
    p_energy_joules float8 DEFAULT NULL, p_energy_source text DEFAULT NULL)
RETURNS TABLE (r_state text, r_run_at timestamptz) LANGUAGE plpgsql AS $$
DECLARE
    v jobs;
    v_failures int;
    v_retry boolean;
    v_to text;
BEGIN
    SELECT * INTO v FROM jobs WHERE id = p_job AND lease_epoch = p_epoch AND state IN ('scheduled', 'running') FOR UPDATE;
    IF NOT FOUND THEN PERFORM hearth_refuse(p_job, p_epoch, 'fail', '{scheduled,running}'); END IF;
    v_failures := v.failures + 1;
    v_retry := p_retryable AND v_failures < v.max_attempts;
    v_to := CASE WHEN v_retry THEN 'queued' ELSE 'failed' END;
    UPDATE jobs SET failures = v_failures, state = v_to,
           run_at = CASE WHEN v_retry THEN now() + least(p_retry_base * power(2, v_failures - 1), p_retry_max) ELSE run_at END,
           finished_at = CASE WHEN v_retry THEN NULL ELSE now() END,
           node_id = NULL, lease_expires_at = NULL, last_error = p_message,
           avoid_nodes = CASE WHEN p_avoid_node AND NOT (v.node_id = ANY (avoid_nodes))
                              THEN avoid_nodes || v.node_id ELSE avoid_nodes END
    WHERE id = p_job;
    PERFORM hearth_ledger_close(p_job, v.attempt, 'failed', now(), p_cpu_seconds, p_peak_rss, p_energy_joules, p_energy_source);
    INSERT INTO job_events (job_id, event, from_state, to_state, node_id, attempt, detail)
    VALUES (p_job, CASE WHEN v_retry THEN 'retry-scheduled' ELSE 'failed' END, v.state, v_to, v.node_id, v.attempt,
            jsonb_build_object('error', p_message, 'failures', v_failures)
              || CASE WHEN p_avoid_node THEN jsonb_build_object('avoid_node', v.node_id) ELSE '{}' END);
    RETURN QUERY SELECT state, run_at FROM jobs WHERE id = p_job;
END $$;

-- requeue (the node): the worker stopped for preemption after checkpointing; → `queued`,
-- placeable at once, `preemptions` + 1.
CREATE FUNCTION hearth_requeue(
    p_job bigint, p_epoch bigint, p_cpu_seconds float8 DEFAULT NULL, p_peak_rss bigint DEFAULT NULL,
    p_energy_joules float8 DEFAULT NULL, p_energy_source text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v jobs;
BEGIN
    SELECT * INTO v FROM jobs WHERE id = p_job AND lease_epoch = p_epoch AND state IN ('scheduled', 'running') FOR UPDATE;
    IF NOT FOUND THEN PERFORM hearth_refuse(p_job, p_epoch, 'requeue after preemption', '{scheduled,running}'); END IF;
    UPDATE jobs SET state = 'queued', preemptions = preemptions + 1, run_at = now(), node_id = NULL,
           lease_expires_at = NULL, preempt_requested_at = NULL
    WHERE id = p_job;
    PERFORM hearth_ledger_close(p_job, v.attempt, 'preempted', now(), p_cpu_seconds, p_peak_rss, p_energy_joules, p_energy_source);
    INSERT INTO job_events (job_id, event, from_state, to_state, node_id, attempt)
    VALUES (p_job, 'preempted', v.state, 'queued', v.node_id, v.attempt);
END $$;

-- cancel (an owner or admin; permission is the caller's to check): a queued or scheduled job
-- is `cancelled` at once (a scheduled one's ledger row closes and its epoch moves, so the node's
-- late start is refused); a running one gets a cancel request its node acts on. Returns the
-- state the job was in.
CREATE FUNCTION hearth_cancel(p_job bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v jobs;
BEGIN
    SELECT * INTO v FROM jobs WHERE id = p_job FOR UPDATE;
    IF NOT FOUND THEN RAISE EXCEPTION 'no job %', p_job USING ERRCODE = 'HJ001'; END IF;
    IF v.state IN ('queued', 'scheduled') THEN
        UPDATE jobs SET state = 'cancelled', finished_at = now(), node_id = NULL, lease_expires_at = NULL,
               lease_epoch = lease_epoch + 1, cancel_requested_at = now()
        WHERE id = p_job;
        IF v.state = 'scheduled' THEN
            PERFORM hearth_ledger_close(p_job, v.attempt, 'cancelled', now());
        END IF;
        INSERT INTO job_events (job_id, event, from_state, to_state, node_id, attempt)
        VALUES (p_job, 'cancelled', v.state, 'cancelled', v.node_id, v.attempt);
    ELSIF v.state = 'running' AND v.cancel_requested_at IS NULL THEN
        UPDATE jobs SET cancel_requested_at = now() WHERE id = p_job;
        INSERT INTO job_events (job_id, event, from_state, to_state, node_id, attempt)
        VALUES (p_job, 'cancel-requested', 'running', 'running', v.node_id, v.attempt);
    END IF;
    RETURN v.state;
END $$;

-- preempt (the scheduler, or a donor's reclaim): asks the node holding the job to checkpoint
-- and stop. Returns false when the job is not held or a request is already pending.
CREATE FUNCTION hearth_request_preemption(p_job bigint, p_reason text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    v jobs;
BEGIN
    UPDATE jobs SET preempt_requested_at = now()
    WHERE id = p_job AND state IN ('scheduled', 'running') AND preempt_requested_at IS NULL
    RETURNING * INTO v;
    IF NOT FOUND THEN RETURN false; END IF;
    INSERT INTO job_events (job_id, event, from_state, to_state, node_id, attempt, detail)
    VALUES (p_job, 'preempt-requested', v.state, v.state, v.node_id, v.attempt, jsonb_build_object('reason', p_reason));
    RETURN true;
END $$;

-- rescue (any node; SKIP LOCKED makes it safe everywhere at once): requeues jobs whose lease
-- lapsed, or (p_node given) every job that node holds because its daemon restarted. The epoch
-- moves, the ledger row closes as `lost` at the lease's expiry (or now, for a restart), and a
-- pending cancel or spent attempts end the job instead.
CREATE FUNCTION hearth_rescue(p_node bigint, p_limit int)
RETURNS TABLE (r_job bigint, r_node bigint, r_state text, r_lease_expired_at timestamptz) LANGUAGE plpgsql AS $$
DECLARE
    v record;
    v_to text;
BEGIN
    FOR v IN
        SELECT * FROM jobs
        WHERE state IN ('scheduled', 'running')
          AND (CASE WHEN p_node IS NULL THEN lease_expires_at < now() ELSE node_id = p_node END)
        ORDER BY lease_expires_at
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    LOOP
        v_to := CASE WHEN v.cancel_requested_at IS NOT NULL THEN 'cancelled'
                     WHEN v.failures + 1 < v.max_attempts THEN 'queued'
                     ELSE 'failed' END;
        UPDATE jobs SET state = v_to,
               failures = CASE WHEN v_to = 'cancelled' THEN failures ELSE failures + 1 END,
               finished_at = CASE WHEN v_to = 'queued' THEN NULL ELSE now() END,
               node_id = NULL, lease_expires_at = NULL, lease_epoch = lease_epoch + 1, run_at = now(),
               last_error = CASE WHEN p_node IS NULL
                   THEN 'node ' || v.node_id || ' stopped renewing the lease (expired '
                        || to_char(v.lease_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC)'
                   ELSE 'the daemon of node ' || v.node_id || ' restarted while the job ran' END
        WHERE id = v.id;
        PERFORM hearth_ledger_close(v.id, v.attempt, 'lost', CASE WHEN p_node IS NULL THEN v.lease_expires_at ELSE now() END);
        INSERT INTO job_events (job_id, event, from_state, to_state, node_id, attempt, detail)
        VALUES (v.id, CASE WHEN p_node IS NULL THEN 'lease-expired' ELSE 'orphaned' END, v.state, v_to, v.node_id,
                v.attempt, jsonb_build_object('lease_expired_at', v.lease_expires_at));
        r_job := v.id; r_node := v.node_id; r_state := v_to; r_lease_expired_at := v.lease_expires_at;
        RETURN NEXT;
    END LOOP;
END $$;

-- A pipeline's steps are submitted by `hearth_submit` calls inside one transaction (JobQueue).

-- Nodes ------------------------------------------------------------------------------------

-- node up (the node's agent at start): registers or updates the node with its GPUs and marks it
-- up (a draining node stays draining). Its availability interval opens or turns in the same call.
CREATE FUNCTION hearth_node_register(p_hostname text, p_cpus int, p_memory_bytes bigint, p_donor bigint, p_gpus jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    INSERT INTO nodes (hostname, cpus, memory_bytes, donor_id, state, last_heartbeat_at)
    VALUES (p_hostname, p_cpus, p_memory_bytes, p_donor, 'up', now())
    ON CONFLICT (hostname) DO UPDATE SET cpus = EXCLUDED.cpus, memory_bytes = EXCLUDED.memory_bytes,
        donor_id = coalesce(EXCLUDED.donor_id, nodes.donor_id),
        state = CASE WHEN nodes.state = 'draining' THEN 'draining' ELSE 'up' END,
        last_heartbeat_at = now()
    RETURNING id INTO v_id;
    DELETE FROM node_gpus WHERE node_id = v_id;
    INSERT INTO node_gpus (node_id, index, model, memory_bytes, uuid, simulated)
    SELECT v_id, g.index, g.model, g.memory_bytes, g.uuid, g.simulated
    FROM jsonb_to_recordset(p_gpus) AS g(index int, model text, memory_bytes bigint, uuid text, simulated boolean);
    -- Offered GPU-hours follow the GPUs the node has now (Migrations/0004_accounting.sql).
    PERFORM node_availability_sync_gpus(v_id);
    RETURN v_id;
END $$;

-- The node's heartbeat: alive now (a node marked down comes back up). Returns its state, or NULL.
CREATE FUNCTION hearth_node_heartbeat(p_node bigint) RETURNS text LANGUAGE sql AS $$
    UPDATE nodes SET last_heartbeat_at = now(), state = CASE WHEN state = 'down' THEN 'up' ELSE state END
    WHERE id = p_node RETURNING state;
$$;

-- node drain / resume (an admin): `draining` places nothing new (running jobs finish); `up`
-- takes work again. Returns the previous state, or NULL when no node has that name.
CREATE FUNCTION hearth_node_set_state(p_hostname text, p_state text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_old text;
BEGIN
    IF p_state NOT IN ('up', 'draining') THEN
        RAISE EXCEPTION 'a node is set up or draining by hand, not %', p_state USING ERRCODE = 'HJ003';
    END IF;
    SELECT state INTO v_old FROM nodes WHERE hostname = p_hostname FOR UPDATE;
    IF NOT FOUND THEN RETURN NULL; END IF;
    UPDATE nodes SET state = p_state WHERE hostname = p_hostname;
    RETURN v_old;
END $$;

-- node down (the leader): nodes that stopped heartbeating for `p_after` are marked down.
-- Returns their hostnames. Their jobs are rescued when their leases lapse.
CREATE FUNCTION hearth_node_mark_down(p_after interval) RETURNS SETOF text LANGUAGE sql AS $$
    UPDATE nodes SET state = 'down' WHERE state <> 'down' AND last_heartbeat_at < now() - p_after RETURNING hostname;
$$;

-- What the node's software offers the scheduler (its agent, at start).
CREATE FUNCTION hearth_node_set_capabilities(p_node bigint, p_cpu_slots int, p_kinds text[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE nodes SET cpu_slots = p_cpu_slots, kinds = p_kinds WHERE id = p_node;
$$;

-- The donor's policy (validated by the daemon). Returns false when no node has that name.
CREATE FUNCTION hearth_node_set_policy(p_hostname text, p_policy jsonb) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    UPDATE nodes SET policy = p_policy WHERE hostname = p_hostname;
    RETURN FOUND;
END $$;

-- node reclaim (its donor or an admin): nothing new is placed, and every job it holds is asked
-- to preempt now. Returns NULL when no node has that name, else the jobs asked.
CREATE FUNCTION hearth_node_reclaim(p_hostname text) RETURNS bigint[] LANGUAGE plpgsql AS $$
DECLARE
    v_node bigint;
    v_jobs bigint[] := '{}';
    v_job bigint;
BEGIN
    UPDATE nodes SET reclaimed_at = coalesce(reclaimed_at, now()) WHERE hostname = p_hostname RETURNING id INTO v_node;
    IF NOT FOUND THEN RETURN NULL; END IF;
    FOR v_job IN SELECT id FROM jobs WHERE node_id = v_node AND state IN ('scheduled', 'running') ORDER BY id LOOP
        IF hearth_request_preemption(v_job, 'the donor reclaimed the node') THEN
            v_jobs := v_jobs || v_job;
        END IF;
    END LOOP;
    RETURN v_jobs;
END $$;

-- node release: the donor lends the node again. Returns false when no node has that name.
CREATE FUNCTION hearth_node_release(p_hostname text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    UPDATE nodes SET reclaimed_at = NULL WHERE hostname = p_hostname;
    RETURN FOUND;
END $$;

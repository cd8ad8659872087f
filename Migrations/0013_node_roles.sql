-- Donated nodes are not trusted (Docs/security.md, "The fleet's trust model").
--
-- The role that runs the migrations (the owner) owns every table and function. Each node logs in
-- as a role of its own, a member of the group `hearth_node`, which may only:
--   * SELECT the tables the control API shows (never the credentials tables below);
--   * EXECUTE the functions named in `node_api` (the allowlist: `hearth_node_api_grant(NAME)`).
-- Those functions run as the owner (SECURITY DEFINER, a fixed search_path) and bind their effects
-- to the calling node: `node_logins` maps the session's login role to its node, and the triggers
-- below refuse a node's change to another node's row or another node's placement, whichever
-- function attempts it. A session whose role is not a node's (the owner, a superuser: trusted
-- operators and the tests) is not bound.
--
-- Refusals: 42501 (insufficient_privilege) with a sentence naming the node and the row.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hearth_node') THEN
        CREATE ROLE hearth_node NOLOGIN;
    END IF;
END $$;

-- Nothing in this schema is PUBLIC's: not the functions (EXECUTE is granted to PUBLIC by
-- default), nor new tables in the schema.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
             WHERE p.pronamespace = 'public'::regnamespace
               AND NOT EXISTS (SELECT 1 FROM pg_depend d
                               WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e') LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END $$;
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- Which login role is which node. A login is made for one hostname (enrollment, or the embedded
-- daemon's own at start); `node_id` is filled when that node first registers. A revoked login
-- can no longer log in (NOLOGIN) and is refused by every function should a session survive.
CREATE TABLE node_logins (
    role_name    text PRIMARY KEY,
    hostname     text NOT NULL CHECK (length(hostname) BETWEEN 1 AND 253),
    node_id      bigint REFERENCES nodes (id),
    donor_id     bigint REFERENCES accounts (id),
    enrolled_at  timestamptz NOT NULL DEFAULT now(),
    enrolled_by  text NOT NULL,
    revoked_at   timestamptz,
    revoked_by   text
);
CREATE UNIQUE INDEX node_logins_one_live_per_host ON node_logins (hostname) WHERE revoked_at IS NULL;

-- The calling session's node login: NULL for a session that is not a node's (trusted). A role
-- of group hearth_node with no login here (another database's node), or a revoked one, is refused.
CREATE FUNCTION hearth_caller() RETURNS node_logins LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    v node_logins;
BEGIN
    SELECT * INTO v FROM node_logins WHERE role_name = session_user;
    IF FOUND THEN
        IF v.revoked_at IS NOT NULL THEN
            RAISE EXCEPTION 'the login of node % was revoked at %; enroll the node again (hearth node invite)',
                v.hostname, v.revoked_at USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN v;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_auth_members m
               WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = session_user)
                 AND m.roleid = (SELECT oid FROM pg_roles WHERE rolname = 'hearth_node')) THEN
        RAISE EXCEPTION 'role % is a node role, but no node of database % was enrolled with it',
            session_user, current_database() USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END $$;

-- The calling node's id: NULL when the session is trusted, 0 for a login whose node has not
-- registered yet (it matches no row).
CREATE FUNCTION hearth_calling_node() RETURNS bigint LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    v node_logins := hearth_caller();
BEGIN
    IF v.role_name IS NULL THEN RETURN NULL; END IF;
    RETURN coalesce(v.node_id, 0);
END $$;

-- A node changes only its own placements. Others' jobs it may only: place (the leader's duty,
-- which any node may hold), cancel (for the job's owner, who called this node), ask to preempt
-- (the scheduler, a donor's reclaim), and rescue once their lease has lapsed.
CREATE FUNCTION jobs_node_binding() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_node bigint := hearth_calling_node();
BEGIN
    IF v_node IS NULL OR OLD.node_id = v_node THEN
        RETURN NEW;
    END IF;
    IF OLD.state = 'queued' AND NEW.state = 'scheduled' THEN
        RETURN NEW;
    END IF;
    -- (hearth_cancel moves the epoch, so the holder's late start is refused; finish-cancel does not.)
    IF NEW.state = 'cancelled' AND OLD.state IN ('queued', 'scheduled') AND NEW.lease_epoch > OLD.lease_epoch THEN
        RETURN NEW;
    END IF;
    IF NEW.state = OLD.state AND NEW.lease_epoch = OLD.lease_epoch
       AND NEW.lease_expires_at IS NOT DISTINCT FROM OLD.lease_expires_at
       AND NEW.node_id IS NOT DISTINCT FROM OLD.node_id
       AND ((NEW.cancel_requested_at IS NOT NULL AND OLD.cancel_requested_at IS NULL)
            OR (NEW.preempt_requested_at IS NOT NULL AND OLD.preempt_requested_at IS NULL)) THEN
        RETURN NEW;
    END IF;
    IF OLD.state IN ('scheduled', 'running') AND OLD.lease_expires_at < now()
       AND NEW.lease_epoch > OLD.lease_epoch AND NEW.node_id IS NULL THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'node % cannot change job %: %; a node acts only on its own placements',
        (SELECT hostname FROM nodes WHERE id = v_node), OLD.id,
        CASE WHEN OLD.node_id IS NULL THEN 'it is ' || OLD.state || ' and held by no node'
             ELSE 'it is held by node ' || coalesce((SELECT hostname FROM nodes WHERE id = OLD.node_id), OLD.node_id::text) END
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER jobs_node_binding BEFORE UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION jobs_node_binding();

-- A node registers only under the hostname its login was made for, keeps the donor its login
-- names, and changes only its own row; another node's row it may only mark down once silent.
CREATE FUNCTION nodes_node_binding() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v node_logins := hearth_caller();
BEGIN
    IF v.role_name IS NULL THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        -- (INSERT ... ON CONFLICT fires this for the proposed row of every registration too.)
        IF NEW.hostname <> v.hostname THEN
            RAISE EXCEPTION 'node % cannot register a node named %; its login is for % only',
                v.hostname, NEW.hostname, v.hostname USING ERRCODE = 'insufficient_privilege';
        END IF;
        NEW.donor_id := v.donor_id;
        RETURN NEW;
    END IF;
    IF OLD.id = v.node_id OR (v.node_id IS NULL AND OLD.hostname = v.hostname) THEN
        IF NEW.hostname <> OLD.hostname THEN
            RAISE EXCEPTION 'node % cannot rename itself', OLD.hostname USING ERRCODE = 'insufficient_privilege';
        END IF;
        NEW.donor_id := coalesce(v.donor_id, OLD.donor_id);
        RETURN NEW;
    END IF;
    IF NEW.state = 'down' AND OLD.state <> 'down' AND OLD.last_heartbeat_at < now()
       AND (to_jsonb(NEW) - 'state') = (to_jsonb(OLD) - 'state') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'node % cannot change node %: a node changes only its own row (fleet-wide actions are an admin''s)',
        v.hostname, OLD.hostname USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER nodes_node_binding BEFORE INSERT OR UPDATE ON nodes FOR EACH ROW EXECUTE FUNCTION nodes_node_binding();

-- The login learns its node's id when the node first registers.
CREATE FUNCTION nodes_bind_login() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE node_logins SET node_id = NEW.id
    WHERE role_name = session_user AND revoked_at IS NULL AND hostname = NEW.hostname AND node_id IS NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER nodes_bind_login AFTER INSERT OR UPDATE ON nodes FOR EACH ROW EXECUTE FUNCTION nodes_bind_login();

-- Whether the calling node ran attempt `p_attempt` of job `p_job` (its ledger row names it);
-- true for a trusted session.
CREATE FUNCTION hearth_caller_ran(p_job bigint, p_attempt int) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT hearth_calling_node() IS NULL OR EXISTS (
        SELECT 1 FROM allocations WHERE job_id = p_job AND attempt = p_attempt AND node_id = hearth_calling_node());
$$;

-- Reports of an attempt (formerly statements in HearthStore), fenced by the lease and bound to
-- the node that runs the attempt. Each returns no row when the lease is stale or not the caller's.

CREATE FUNCTION hearth_record_progress(p_job bigint, p_epoch bigint, p_step bigint, p_loss float8, p_lr float8,
                                       p_tokens_per_s float8)
RETURNS SETOF bigint LANGUAGE sql AS $$
    INSERT INTO job_metrics (job_id, attempt, step, loss, lr, tokens_per_s)
    SELECT id, attempt, p_step, p_loss, p_lr, p_tokens_per_s
    FROM jobs WHERE id = p_job AND lease_epoch = p_epoch AND state = 'running' AND hearth_caller_ran(id, attempt)
    FOR SHARE
    ON CONFLICT (job_id, attempt, step) DO UPDATE
        SET loss = EXCLUDED.loss, lr = EXCLUDED.lr, tokens_per_s = EXCLUDED.tokens_per_s, at = now()
    RETURNING step;
$$;

CREATE FUNCTION hearth_record_checkpoint(p_job bigint, p_epoch bigint, p_step bigint, p_path text, p_bytes bigint,
                                         p_sha256 text)
RETURNS SETOF bigint LANGUAGE sql AS $$
    WITH cur AS (
        SELECT id, attempt, node_id, state FROM jobs
        WHERE id = p_job AND lease_epoch = p_epoch AND state = 'running' AND hearth_caller_ran(id, attempt)
        FOR SHARE
    ), ck AS (
        INSERT INTO checkpoints (job_id, attempt, step, path, bytes, sha256, node_id)
        SELECT id, attempt, p_step, p_path, p_bytes, p_sha256, node_id FROM cur
        RETURNING id
    ), ev AS (
        INSERT INTO job_events (job_id, event, from_state, to_state, node_id, attempt, detail)
        SELECT id, 'checkpoint', state, state, node_id, attempt,
               jsonb_build_object('step', p_step, 'path', p_path, 'sha256', p_sha256)
        FROM cur
    )
    SELECT id FROM ck;
$$;

CREATE FUNCTION hearth_append_log(p_job bigint, p_epoch bigint, p_lines text[])
RETURNS SETOF bigint LANGUAGE sql AS $$
    INSERT INTO job_logs (job_id, attempt, line)
    SELECT j.id, j.attempt, l.line
    FROM jobs j, unnest(p_lines) WITH ORDINALITY AS l(line, n)
    WHERE j.id = p_job AND j.lease_epoch = p_epoch AND hearth_caller_ran(j.id, j.attempt)
    ORDER BY l.n
    FOR SHARE OF j
    RETURNING id;
$$;

CREATE FUNCTION hearth_record_eval(p_job bigint, p_epoch bigint, p_step bigint, p_path text, p_sha text, p_task text,
                                   p_metrics jsonb, p_samples int)
RETURNS SETOF bigint LANGUAGE sql AS $$
    WITH cur AS (
        SELECT id, attempt FROM jobs
        WHERE id = p_job AND lease_epoch = p_epoch AND state = 'running' AND hearth_caller_ran(id, attempt)
        FOR SHARE
    )
    INSERT INTO eval_results (job_id, attempt, checkpoint_step, checkpoint_path, checkpoint_sha, task, metric, value, samples)
    SELECT cur.id, cur.attempt, p_step, p_path, p_sha, p_task, m.key, m.value::float8, p_samples
    FROM cur, jsonb_each_text(p_metrics) AS m
    ON CONFLICT (job_id, task, metric) DO UPDATE
        SET attempt = EXCLUDED.attempt, checkpoint_step = EXCLUDED.checkpoint_step,
            checkpoint_path = EXCLUDED.checkpoint_path, checkpoint_sha = EXCLUDED.checkpoint_sha,
            value = EXCLUDED.value, samples = EXCLUDED.samples, created_at = now()
    RETURNING id;
$$;

CREATE FUNCTION hearth_register_endpoint(p_job bigint, p_epoch bigint, p_url text, p_model text, p_parameters bigint,
                                         p_context int)
RETURNS SETOF bigint LANGUAGE sql AS $$
    WITH cur AS (
        SELECT id, attempt, node_id, state FROM jobs
        WHERE id = p_job AND lease_epoch = p_epoch AND state = 'running' AND hearth_caller_ran(id, attempt)
        FOR SHARE
    ), ep AS (
        INSERT INTO endpoints (job_id, attempt, node_id, url, model, parameters, context)
        SELECT id, attempt, node_id, p_url, p_model, p_parameters, p_context FROM cur
        ON CONFLICT (job_id, attempt) DO UPDATE
            SET url = EXCLUDED.url, model = EXCLUDED.model, parameters = EXCLUDED.parameters,
                context = EXCLUDED.context, state = 'serving', stopped_at = NULL, registered_at = now()
        RETURNING job_id
    ), ev AS (
        INSERT INTO job_events (job_id, event, from_state, to_state, node_id, attempt, detail)
        SELECT id, 'endpoint', state, state, node_id, attempt, jsonb_build_object('url', p_url)
        FROM cur
    )
    SELECT job_id FROM ep;
$$;

CREATE FUNCTION hearth_stop_endpoint(p_job bigint, p_attempt int) RETURNS void LANGUAGE sql AS $$
    UPDATE endpoints SET state = 'stopped', stopped_at = now()
    WHERE job_id = p_job AND attempt = p_attempt AND state = 'serving'
      AND (hearth_calling_node() IS NULL OR node_id = hearth_calling_node());
$$;

-- The leader's record of a scheduling pass (the calling node's, when a node calls), and the
-- forgetting of passes older than a day.
CREATE FUNCTION hearth_record_pass(p_node bigint, p_duration float8, p_pending int, p_placed int, p_preempted int,
                                   p_reserved int)
RETURNS void LANGUAGE sql AS $$
    WITH ins AS (
        INSERT INTO scheduler_passes (node_id, duration_seconds, pending, placed, preempted, reserved)
        VALUES (coalesce(nullif(hearth_calling_node(), 0), p_node), p_duration, p_pending, p_placed, p_preempted, p_reserved)
    )
    DELETE FROM scheduler_passes WHERE at < now() - interval '1 day';
$$;

-- An account on first use (the control socket's caller, a node's donor). A node may create
-- volunteers and donors, never admins, and changes nothing of an existing account but a
-- missing uid.
CREATE FUNCTION hearth_account_ensure(p_name text, p_uid int, p_role text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    IF p_role = 'admin' AND hearth_calling_node() IS NOT NULL THEN
        RAISE EXCEPTION 'a node cannot create admin accounts (%); an admin marks accounts admin', p_name
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO accounts (name, uid, role) VALUES (p_name, p_uid, p_role)
    ON CONFLICT (name) DO UPDATE SET uid = coalesce(accounts.uid, EXCLUDED.uid)
    RETURNING id INTO v_id;
    RETURN v_id;
END $$;

-- The allowlist: the functions a node may call. Every one runs as the owner with a fixed
-- search_path and is bound to the calling node by the triggers above (or checks it itself).
-- A migration that adds a function nodes call adds one line: SELECT hearth_node_api_grant('name');
CREATE TABLE node_api (
    name       text PRIMARY KEY,
    granted_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION hearth_node_api_grant(p_name text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    f regprocedure;
    n int := 0;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
             WHERE p.proname = p_name AND p.pronamespace = 'public'::regnamespace LOOP
        EXECUTE format('ALTER FUNCTION %s SECURITY DEFINER SET search_path = public, pg_temp', f);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO hearth_node', f);
        n := n + 1;
    END LOOP;
    IF n = 0 THEN
        RAISE EXCEPTION 'hearth_node_api_grant: no function named %', p_name;
    END IF;
    INSERT INTO node_api (name) VALUES (p_name) ON CONFLICT DO NOTHING;
END $$;

SELECT hearth_node_api_grant(name) FROM unnest(ARRAY[
    -- the job lifecycle (0007, 0011)
    'hearth_submit', 'hearth_submit_batch', 'hearth_place', 'hearth_start', 'hearth_heartbeat', 'hearth_succeed',
    'hearth_finish_cancel', 'hearth_fail', 'hearth_requeue', 'hearth_cancel', 'hearth_cancel_queued_elements',
    'hearth_request_preemption', 'hearth_rescue', 'hearth_refuse',
    -- the node's own row (0007)
    'hearth_node_register', 'hearth_node_heartbeat', 'hearth_node_set_state', 'hearth_node_mark_down',
    'hearth_node_set_capabilities', 'hearth_node_set_policy', 'hearth_node_reclaim', 'hearth_node_release',
    -- an attempt's reports, accounts, scheduling passes (this migration)
    'hearth_record_progress', 'hearth_record_checkpoint', 'hearth_append_log', 'hearth_record_eval',
    'hearth_register_endpoint', 'hearth_stop_endpoint', 'hearth_record_pass', 'hearth_account_ensure',
    'hearth_caller', 'hearth_calling_node'
]) AS name;

-- What a node reads: what the control API shows, for every node answers for the whole fleet.
-- Not the credentials (node_logins) nor the allowlist's bookkeeping.
GRANT USAGE ON SCHEMA public TO hearth_node;
GRANT SELECT ON accounts, projects, project_members, nodes, node_gpus, job_kinds, jobs, allocations, job_events,
    job_metrics, checkpoints, datasets, node_availability, scheduler_passes, job_logs, eval_results, endpoints,
    grants, job_state_transitions, hearth_migrations TO hearth_node;

-- Makes the login role of node `p_hostname` (the owner's: enrollment, or the embedded daemon for
-- itself at start) and returns its name. `p_donor`: the account lending the node. `p_password` is a SCRAM verifier (the node computes it,
-- so the password never leaves the node) or NULL for no password (the embedded cluster's socket
-- is reachable by its owner only). With `p_reuse`, a live login for that hostname is returned
-- as it is; without, it is refused (enrolling a node twice needs a revoke first).
CREATE FUNCTION hearth_node_login_create(p_hostname text, p_password text, p_by text, p_donor bigint, p_reuse boolean)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v node_logins;
    v_role text;
BEGIN
    SELECT * INTO v FROM node_logins WHERE hostname = p_hostname AND revoked_at IS NULL;
    IF FOUND THEN
        IF NOT p_reuse THEN
            RAISE EXCEPTION 'node % is already enrolled (login %); revoke it first with `hearth node revoke %`',
                p_hostname, v.role_name, p_hostname USING ERRCODE = 'unique_violation';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v.role_name) THEN
            EXECUTE format('CREATE ROLE %I LOGIN IN ROLE hearth_node', v.role_name);
        END IF;
        -- The owner names the donor (the embedded daemon's configured one), never the node.
        IF p_donor IS NOT NULL THEN
            UPDATE node_logins SET donor_id = p_donor WHERE role_name = v.role_name;
            UPDATE nodes SET donor_id = p_donor WHERE id = v.node_id;
        END IF;
        RETURN v.role_name;
    END IF;
    v_role := 'hearth_node_' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 16);
    EXECUTE format('CREATE ROLE %I LOGIN IN ROLE hearth_node PASSWORD %L', v_role, p_password);
    INSERT INTO node_logins (role_name, hostname, node_id, donor_id, enrolled_by)
    VALUES (v_role, p_hostname, (SELECT id FROM nodes WHERE hostname = p_hostname), p_donor, p_by);
    RETURN v_role;
END $$;

-- A tamper-evident ledger ----------------------------------------------------------------------
--
-- Every ledger time is the database's: rows open at now() (hearth_ledger_open) and close at
-- now() or at a lapsed lease's expiry (hearth_ledger_close, which no node may call directly);
-- an end in the future is refused below. Each row, as it closes, is chained to the previous
-- closed row of its node: `chain_seq` counts the node's closed rows from 1, `prev_hash` is the
-- previous row's `row_hash` (64 zeros for the first), and `row_hash` is the SHA-256 of
-- `hearth_ledger_row_text` (the row's fields in a fixed form) followed by `prev_hash`.
-- `ledger_heads` holds each node's newest link; a donor's report carries it, so a later report
-- can be checked against an earlier one. Closed rows never change (allocations_guard), rows are
-- never deleted nor the table truncated (0001, 0007), and `hearth_ledger_verify` recomputes the
-- chain: a row altered by someone who can bypass all that (the superuser with triggers off) no
-- longer matches its hash, and a removed row breaks the sequence.

ALTER TABLE allocations
    ADD COLUMN chain_seq bigint CHECK (chain_seq >= 1),
    ADD COLUMN prev_hash text CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
    ADD COLUMN row_hash  text CHECK (row_hash ~ '^[0-9a-f]{64}$'),
    ADD CONSTRAINT allocations_chained_iff_closed CHECK ((ended_at IS NULL) = (row_hash IS NULL));
CREATE UNIQUE INDEX allocations_chain ON allocations (node_id, chain_seq) WHERE chain_seq IS NOT NULL;

CREATE TABLE ledger_heads (
    node_id    bigint PRIMARY KEY REFERENCES nodes (id),
    chain_seq  bigint NOT NULL CHECK (chain_seq >= 0),
    row_hash   text NOT NULL CHECK (row_hash ~ '^[0-9a-f]{64}$'),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The fields a link covers, in one fixed form: times as microseconds since the Unix epoch (no
-- time zone or DateStyle enters), numbers in PostgreSQL's exact text form, absent ones empty.
CREATE FUNCTION hearth_ledger_row_text(a allocations) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT concat_ws('|', a.id, a.job_id, a.attempt, a.node_id, a.gpus, array_to_string(a.gpu_indices, ','),
        (extract(epoch FROM a.started_at) * 1000000)::bigint, (extract(epoch FROM a.ended_at) * 1000000)::bigint,
        a.end_reason, coalesce(a.cpu_seconds::text, ''), coalesce(a.peak_rss_bytes::text, ''),
        coalesce(a.energy_joules::text, ''), coalesce(a.energy_source, ''), a.chain_seq);
$$;

CREATE FUNCTION hearth_ledger_link(a allocations, p_prev text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(hearth_ledger_row_text(a) || '|' || p_prev, 'UTF8')), 'hex');
$$;

-- Chains a row as it closes (after allocations_guard, by trigger name order), or as it is
-- inserted closed (the owner importing history); the chain fields are never the writer's.
CREATE FUNCTION allocations_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_head ledger_heads;
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.chain_seq := NULL; NEW.prev_hash := NULL; NEW.row_hash := NULL;
        IF NEW.ended_at IS NULL THEN RETURN NEW; END IF;
    ELSIF OLD.ended_at IS NOT NULL OR NEW.ended_at IS NULL THEN
        NEW.chain_seq := OLD.chain_seq; NEW.prev_hash := OLD.prev_hash; NEW.row_hash := OLD.row_hash;
        RETURN NEW;
    ELSIF NEW.ended_at > now() THEN
        RAISE EXCEPTION 'allocation % cannot end in the future (%); ledger times are the database''s', OLD.id, NEW.ended_at
            USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO ledger_heads (node_id, chain_seq, row_hash) VALUES (NEW.node_id, 0, repeat('0', 64))
    ON CONFLICT (node_id) DO NOTHING;
    SELECT * INTO v_head FROM ledger_heads WHERE node_id = NEW.node_id FOR UPDATE;
    NEW.chain_seq := v_head.chain_seq + 1;
    NEW.prev_hash := v_head.row_hash;
    NEW.row_hash := hearth_ledger_link(NEW, v_head.row_hash);
    UPDATE ledger_heads SET chain_seq = NEW.chain_seq, row_hash = NEW.row_hash, updated_at = now()
    WHERE node_id = NEW.node_id;
    RETURN NEW;
END $$;
CREATE TRIGGER allocations_chain BEFORE INSERT OR UPDATE ON allocations FOR EACH ROW EXECUTE FUNCTION allocations_chain();
CREATE TRIGGER ledger_heads_no_truncate BEFORE TRUNCATE ON ledger_heads FOR EACH STATEMENT EXECUTE FUNCTION jobs_no_truncate();

-- Rows closed before this migration: chained now, in the order they closed.
DO $$
DECLARE
    r allocations;
BEGIN
    ALTER TABLE allocations DISABLE TRIGGER allocations_append_only;
    FOR r IN SELECT * FROM allocations WHERE ended_at IS NOT NULL ORDER BY node_id, ended_at, id LOOP
        INSERT INTO ledger_heads (node_id, chain_seq, row_hash) VALUES (r.node_id, 0, repeat('0', 64))
        ON CONFLICT (node_id) DO NOTHING;
        UPDATE ledger_heads h SET chain_seq = h.chain_seq + 1 WHERE h.node_id = r.node_id RETURNING h.chain_seq INTO r.chain_seq;
        r.prev_hash := (SELECT row_hash FROM ledger_heads WHERE node_id = r.node_id);
        r.row_hash := hearth_ledger_link(r, r.prev_hash);
        UPDATE allocations SET chain_seq = r.chain_seq, prev_hash = r.prev_hash, row_hash = r.row_hash WHERE id = r.id;
        UPDATE ledger_heads SET row_hash = r.row_hash WHERE node_id = r.node_id;
    END LOOP;
    ALTER TABLE allocations ENABLE TRIGGER allocations_append_only;
END $$;

-- Recomputes the chains of the nodes given (NULL: every node; `p_donor`: that donor's nodes),
-- up to the end of `p_until` (NULL: all), and names each node's first broken link: a row whose
-- fields no longer give its hash, a row whose prev_hash is not its predecessor's hash, a missing
-- row (a gap in chain_seq), or a head that does not match the newest row.
CREATE FUNCTION hearth_ledger_verify(p_donor text, p_from timestamptz, p_until timestamptz)
RETURNS TABLE (r_node text, r_rows bigint, r_head text, r_broken_allocation bigint, r_problem text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    n record;
    a allocations;
    v_prev text;
    v_seq bigint;
    v_rows bigint;
    v_problem text;
    v_bad bigint;
BEGIN
    FOR n IN SELECT nd.id, nd.hostname, h.chain_seq AS head_seq, h.row_hash AS head_hash
             FROM nodes nd LEFT JOIN ledger_heads h ON h.node_id = nd.id
             WHERE p_donor IS NULL OR nd.donor_id = (SELECT id FROM accounts WHERE name = p_donor)
             ORDER BY nd.hostname LOOP
        v_prev := repeat('0', 64); v_seq := 0; v_rows := 0; v_problem := NULL; v_bad := NULL;
        FOR a IN SELECT * FROM allocations WHERE node_id = n.id AND chain_seq IS NOT NULL ORDER BY chain_seq LOOP
            IF a.chain_seq <> v_seq + 1 THEN
                v_bad := a.id;
                v_problem := format('allocation %s (job %s, attempt %s) is link %s but link %s is missing: a row was removed',
                                    a.id, a.job_id, a.attempt, a.chain_seq, v_seq + 1);
            ELSIF a.prev_hash IS DISTINCT FROM v_prev THEN
                v_bad := a.id;
                v_problem := format('allocation %s (job %s, attempt %s), link %s: its prev_hash is not the hash of link %s',
                                    a.id, a.job_id, a.attempt, a.chain_seq, v_seq);
            ELSIF hearth_ledger_link(a, a.prev_hash) IS DISTINCT FROM a.row_hash THEN
                v_bad := a.id;
                v_problem := format('allocation %s (job %s, attempt %s), link %s: its fields no longer give its hash (the row was altered)',
                                    a.id, a.job_id, a.attempt, a.chain_seq);
            END IF;
            EXIT WHEN v_bad IS NOT NULL;
            v_prev := a.row_hash; v_seq := a.chain_seq;
            IF (p_from IS NULL OR a.ended_at >= p_from) AND (p_until IS NULL OR a.ended_at < p_until) THEN
                v_rows := v_rows + 1;
            END IF;
        END LOOP;
        IF v_bad IS NULL AND coalesce(n.head_seq, 0) <> v_seq THEN
            v_problem := format('the head of node %s is link %s but the ledger ends at link %s: rows were removed or the head rewritten',
                                n.hostname, coalesce(n.head_seq, 0), v_seq);
        ELSIF v_bad IS NULL AND v_seq > 0 AND n.head_hash IS DISTINCT FROM v_prev THEN
            v_problem := format('the head hash of node %s does not match its newest row', n.hostname);
        END IF;
        r_node := n.hostname; r_rows := v_rows; r_head := coalesce(n.head_hash, repeat('0', 64));
        r_broken_allocation := v_bad; r_problem := v_problem;
        RETURN NEXT;
    END LOOP;
END $$;

SELECT hearth_node_api_grant('hearth_ledger_verify');
GRANT SELECT ON ledger_heads TO hearth_node;

-- Enrollment -----------------------------------------------------------------------------------
--
-- An admin makes a one-time, expiring invite (`hearth node invite`); the new node presents it to
-- `hearth_enroll` (`hearthd enroll TOKEN --database-url URL`), logged in as the role
-- `hearth_enroll`, which may do nothing else, and gets a login of its own whose SCRAM verifier it
-- computed itself. Only the SHA-256 of an invite's secret is stored.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hearth_enroll') THEN
        CREATE ROLE hearth_enroll LOGIN;
    END IF;
END $$;

CREATE TABLE node_invites (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    secret_sha256  text NOT NULL CHECK (secret_sha256 ~ '^[0-9a-f]{64}$'),
    hostname       text CHECK (length(hostname) BETWEEN 1 AND 253),
    donor_id       bigint REFERENCES accounts (id),
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz,
    used_by_role   text,
    CHECK (expires_at > created_at)
);

-- An invite (for `p_hostname` only, when given; its node lent by `p_donor`, when given), valid
-- for `p_ttl`. Returns the token: "hj1." id "." secret. The owner's: a fleet admin's action.
CREATE FUNCTION hearth_invite_create(p_by text, p_hostname text, p_donor text, p_ttl interval)
RETURNS TABLE (r_token text, r_expires_at timestamptz) LANGUAGE plpgsql AS $$
DECLARE
    v_secret text := replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', '');
    v_donor bigint;
    v_id bigint;
BEGIN
    IF p_ttl <= interval '0' OR p_ttl > interval '30 days' THEN
        RAISE EXCEPTION 'an invite is valid for a moment up to 30 days, not %', p_ttl USING ERRCODE = 'HJ005';
    END IF;
    IF p_donor IS NOT NULL THEN
        v_donor := hearth_account_ensure(p_donor, NULL, 'donor');
    END IF;
    INSERT INTO node_invites (secret_sha256, hostname, donor_id, created_by, expires_at)
    VALUES (encode(sha256(convert_to(v_secret, 'UTF8')), 'hex'), p_hostname, v_donor, p_by, now() + p_ttl)
    RETURNING id, expires_at INTO v_id, r_expires_at;
    r_token := 'hj1.' || v_id || '.' || v_secret;
    RETURN NEXT;
END $$;

-- Spends an invite: makes node `p_hostname`'s login with the verifier the node computed.
-- Every refusal is the same sentence but for expiry and use, so a guess learns nothing.
CREATE FUNCTION hearth_enroll(p_token text, p_hostname text, p_verifier text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v node_invites;
    v_parts text[] := regexp_match(p_token, '^hj1\.([0-9]{1,18})\.([0-9a-f]{64})$');
    v_role text;
BEGIN
    IF v_parts IS NOT NULL THEN
        SELECT * INTO v FROM node_invites WHERE id = v_parts[1]::bigint FOR UPDATE;
    END IF;
    IF v_parts IS NULL OR v.id IS NULL OR v.secret_sha256 <> encode(sha256(convert_to(v_parts[2], 'UTF8')), 'hex') THEN
        RAISE EXCEPTION 'this join token is not valid; ask an admin for a new one (hearth node invite)'
            USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    IF v.used_at IS NOT NULL THEN
        RAISE EXCEPTION 'this join token was already used (at %); ask an admin for a new one', v.used_at
            USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    IF v.expires_at < now() THEN
        RAISE EXCEPTION 'this join token expired at %; ask an admin for a new one', v.expires_at
            USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    IF v.hostname IS NOT NULL AND v.hostname <> p_hostname THEN
        RAISE EXCEPTION 'this join token is for node %, not %; enroll with --node-name %', v.hostname, p_hostname, v.hostname
            USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    IF p_verifier IS NULL OR p_verifier !~ '^SCRAM-SHA-256\$' THEN
        RAISE EXCEPTION 'a node enrolls with a SCRAM-SHA-256 verifier of its password' USING ERRCODE = 'HJ005';
    END IF;
    v_role := hearth_node_login_create(p_hostname, p_verifier, 'invite ' || v.id || ' of ' || v.created_by, v.donor_id, false);
    UPDATE node_invites SET used_at = now(), used_by_role = v_role WHERE id = v.id;
    RETURN v_role;
END $$;
REVOKE EXECUTE ON FUNCTION hearth_enroll(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hearth_enroll(text, text, text) TO hearth_enroll;
GRANT USAGE ON SCHEMA public TO hearth_enroll;

-- revoke (a fleet admin, the owner's): the node's login can no longer log in, its open sessions
-- end, and the jobs it held are requeued at once (their ledger rows close as lost, now).
-- Returns the jobs requeued; NULL when no live login has that hostname.
CREATE FUNCTION hearth_node_revoke(p_hostname text, p_by text) RETURNS bigint[] LANGUAGE plpgsql AS $$
DECLARE
    v node_logins;
    v_jobs bigint[];
BEGIN
    SELECT * INTO v FROM node_logins WHERE hostname = p_hostname AND revoked_at IS NULL FOR UPDATE;
    IF NOT FOUND THEN RETURN NULL; END IF;
    UPDATE node_logins SET revoked_at = now(), revoked_by = p_by WHERE role_name = v.role_name;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v.role_name) THEN
        EXECUTE format('ALTER ROLE %I NOLOGIN PASSWORD NULL', v.role_name);
    END IF;
    PERFORM pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = v.role_name AND datname = current_database();
    IF v.node_id IS NOT NULL THEN
        SELECT coalesce(array_agg(r_job ORDER BY r_job), '{}') INTO v_jobs FROM hearth_rescue(v.node_id, 100000);
        UPDATE nodes SET state = 'down' WHERE id = v.node_id AND state <> 'down';
    END IF;
    RETURN coalesce(v_jobs, '{}');
END $$;

-- Fleet admins by name ---------------------------------------------------------------------------
--
-- A fleet admin is an account whose role is `admin`, marked by another admin (or, for the
-- account that runs the fleet's first daemon with the owner's credentials, by the installation),
-- recorded with who and when. Root on a node is admin of that node only (the daemon's check).
ALTER TABLE accounts
    ADD COLUMN admin_granted_by text,
    ADD COLUMN admin_granted_at timestamptz;

-- Marks (or unmarks) `p_name` a fleet admin, recording `p_by`; the owner's. Returns the previous role.
CREATE FUNCTION hearth_account_set_admin(p_name text, p_admin boolean, p_by text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_old text;
BEGIN
    PERFORM hearth_account_ensure(p_name, NULL, 'volunteer');
    SELECT role INTO v_old FROM accounts WHERE name = p_name FOR UPDATE;
    IF p_admin THEN
        UPDATE accounts SET role = 'admin', admin_granted_by = p_by, admin_granted_at = now()
        WHERE name = p_name AND role <> 'admin';
    ELSIF v_old = 'admin' THEN
        IF (SELECT count(*) FROM accounts WHERE role = 'admin') = 1 THEN
            RAISE EXCEPTION '% is the last fleet admin; mark another account admin first', p_name USING ERRCODE = 'HJ005';
        END IF;
        UPDATE accounts SET role = 'volunteer', admin_granted_by = p_by, admin_granted_at = now() WHERE name = p_name;
    END IF;
    RETURN v_old;
END $$;

-- The installation's admins: the daemon holding the owner's credentials marks root and its own
-- Unix user fleet admins as it starts, unless an admin already decided about that account
-- (a revoked installer stays revoked).
CREATE FUNCTION hearth_account_bootstrap_admin(p_name text) RETURNS void LANGUAGE sql AS $$
    SELECT hearth_account_ensure(p_name, NULL, 'volunteer');
    UPDATE accounts SET role = 'admin', admin_granted_by = 'installation', admin_granted_at = now()
    WHERE name = p_name AND role <> 'admin' AND admin_granted_at IS NULL;
$$;

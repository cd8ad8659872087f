-- A node that stops gracefully takes no more work, and a job that was only placed on a node
-- (never started there) is not charged an attempt when that node goes away.
--
-- Before: a stopping node preempted its jobs and requeued them while it was still `up`, so the
-- scheduler could place one straight back on it; the stopping agent never started it, and at the
-- node's next start the job was "orphaned" with a failure counted (three restarts at the wrong
-- moment could fail a job that never misbehaved).

-- node stopping (the node's agent, when graceful shutdown begins): `up` becomes `down`, so no
-- pass places anything on it; a draining or reclaimed node keeps its state. Registering at the
-- next start brings it back up. Returns the state it is in now, or NULL for no such node.
CREATE FUNCTION hearth_node_stopping(p_node bigint) RETURNS text LANGUAGE sql AS $$
    UPDATE nodes SET state = CASE WHEN state = 'up' THEN 'down' ELSE state END
    WHERE id = p_node RETURNING state;
$$;
SELECT hearth_node_api_grant('hearth_node_stopping');

-- rescue, as in 0007, except that a job still `scheduled` (placed, never started) goes back to
-- the queue without a failure: the node, not the job, went away.
CREATE OR REPLACE FUNCTION hearth_rescue(p_node bigint, p_limit int)
RETURNS TABLE (r_job bigint, r_node bigint, r_state text, r_lease_expired_at timestamptz) LANGUAGE plpgsql AS $$
DECLARE
    v record;
    v_to text;
    v_charged boolean;
BEGIN
    FOR v IN
        SELECT * FROM jobs
        WHERE state IN ('scheduled', 'running')
          AND (CASE WHEN p_node IS NULL THEN lease_expires_at < now() ELSE node_id = p_node END)
        ORDER BY lease_expires_at
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    LOOP
        v_charged := v.state = 'running';
        v_to := CASE WHEN v.cancel_requested_at IS NOT NULL THEN 'cancelled'
                     WHEN NOT v_charged OR v.failures + 1 < v.max_attempts THEN 'queued'
                     ELSE 'failed' END;
        UPDATE jobs SET state = v_to,
               failures = CASE WHEN v_to = 'cancelled' OR NOT v_charged THEN failures ELSE failures + 1 END,
               finished_at = CASE WHEN v_to = 'queued' THEN NULL ELSE now() END,
               node_id = NULL, lease_expires_at = NULL, lease_epoch = lease_epoch + 1, run_at = now(),
               last_error = CASE
                   WHEN NOT v_charged THEN 'placed on node ' || v.node_id || ', which went away before starting it'
                   WHEN p_node IS NULL
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
-- CREATE OR REPLACE resets SECURITY DEFINER: grant it to nodes again.
SELECT hearth_node_api_grant('hearth_rescue');

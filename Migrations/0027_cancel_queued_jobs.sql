-- `hearth cancel` by filter (--user, --state, --name, --node): the queued jobs among those the
-- filter matched, cancelled in one statement with their events, as an array's queued elements are
-- (hearth_cancel_queued_elements, 0011). Returns the ids it cancelled; a job that left `queued`
-- meanwhile is not among them, and the caller cancels it with hearth_cancel, which involves its
-- node. Scheduled and running jobs always go that way.
CREATE FUNCTION hearth_cancel_queued(p_jobs bigint[]) RETURNS SETOF bigint LANGUAGE sql AS $$
    WITH cur AS (
        SELECT id, attempt FROM jobs WHERE id = ANY (p_jobs) AND state = 'queued' ORDER BY id FOR UPDATE
    ), done AS (
        UPDATE jobs j SET state = 'cancelled', finished_at = now(), node_id = NULL, lease_expires_at = NULL,
               lease_epoch = j.lease_epoch + 1, cancel_requested_at = now()
        FROM cur WHERE j.id = cur.id AND j.state = 'queued'
        RETURNING j.id, cur.attempt
    ), ev AS (
        INSERT INTO job_events (job_id, event, from_state, to_state, attempt)
        SELECT id, 'cancelled', 'queued', 'cancelled', attempt FROM done
    )
    SELECT id FROM done;
$$;
SELECT hearth_node_api_grant('hearth_cancel_queued');

-- An array's queued elements (`hearth cancel ARRAY`) go the same way: one body for both.
CREATE OR REPLACE FUNCTION hearth_cancel_queued_elements(p_array bigint) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM hearth_cancel_queued(ARRAY(SELECT id FROM jobs WHERE array_id = p_array AND state = 'queued'));
$$;
-- CREATE OR REPLACE resets a function to SECURITY INVOKER without its search_path: the grant
-- (0013) sets both again.
SELECT hearth_node_api_grant('hearth_cancel_queued_elements');

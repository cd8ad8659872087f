-- An array's submission answers with its first element's row from the same statement (issue 16).
-- The daemon read that row back with a second statement before answering, a round trip the
-- submitting command waited for. (The row is read in a statement of its own inside the function,
-- which sees what hearth_submit_array wrote; a query around the call would not.)
CREATE FUNCTION hearth_submit_array_row(p_job jsonb, p_indexes integer[], p_parallel integer) RETURNS SETOF jobs
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint := hearth_submit_array(p_job, p_indexes, p_parallel);
BEGIN
    RETURN QUERY SELECT * FROM jobs WHERE id = v_id;
END $$;

SELECT hearth_node_api_grant('hearth_submit_array_row');

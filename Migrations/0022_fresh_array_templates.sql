-- The leader leaves fresh array templates to the daemon that took them (issue 16).
--
-- Before each scheduling pass the leader wrote out every array template (0019), so an array
-- submitted a moment before was written twice at once: by its own daemon, 20 ms after answering,
-- and by the leader's pass, woken by the submission, while the submitter was still reading its
-- answer. One waited for the other's lock, and the leader's 85 ms statement (1,000 elements)
-- competed with the submitting command for the CPU. The leader now writes only templates older
-- than `p_age`: those whose daemon died or could not write them.
CREATE FUNCTION hearth_expand_arrays_older_than(p_age interval) RETURNS integer
LANGUAGE sql AS $$
    SELECT coalesce(sum(hearth_expand_arrays(id)), 0)::integer
    FROM (SELECT id FROM job_arrays WHERE submitted_at < now() - p_age ORDER BY id) a
$$;

SELECT hearth_node_api_grant('hearth_expand_arrays_older_than');

-- A node whose job's lease lapsed is marked down at once when it has also gone quiet, so the
-- scheduling pass that follows the rescue does not place the job straight back on it.
--
-- A node is marked down after it has not heartbeated for the lease's length, and a job is
-- rescued after its lease has not been renewed for that long. Both clocks run from the moment
-- the node died, so which comes first was chance: when the rescue came first, the leader's next
-- pass could place the job on the dead node again (it was still `up`, with a slot just freed),
-- and the job waited a whole lease more, with a second `lost` ledger row charged to a node that
-- never ran it (seen in CI, EndToEndTests.twoNodesShareWorkAndSurviveKillNine).
--
-- The leader calls this right after a rescue with the nodes that held the rescued jobs and half
-- the lease's length: a node that still heartbeats (a live node whose job's supervision stalled)
-- has been heard from within one heartbeat interval and stays up.
CREATE FUNCTION hearth_node_mark_down_holders(p_nodes bigint[], p_after interval) RETURNS SETOF text
LANGUAGE sql AS $$
    UPDATE nodes SET state = 'down'
    WHERE id = ANY (p_nodes) AND state <> 'down' AND last_heartbeat_at < now() - p_after
    RETURNING hostname;
$$;
SELECT hearth_node_api_grant('hearth_node_mark_down_holders');

-- Wake-ups that say why (issue 16): every notification on `hearth_jobs` now names what happened,
-- so each listener wakes only for what it acts on.
--
--   <job id> / 'batch'  a submission (hearth_submit, hearth_submit_batch; unchanged)
--   'placed'            a job entered `scheduled` on a node: that node's agent starts it
--   'freed'             a job left `scheduled`/`running` (ended, requeued, cancelled): capacity
--                       came free, so the leader's scheduling pass runs at once
--   'changed'           any other change of a job's state or node (a start, a queued job cancelled)
--
-- The statement-level trigger of 0003 sent 'changed' for every UPDATE OF state, node_id, even one
-- that changed no row, and woke the leader for its own placements and every start. This one fires
-- per row that really changed, and NOTIFY folds equal payloads within a transaction, so a
-- statement that changes 1,000 rows still sends at most three notifications.
DROP TRIGGER jobs_changed ON jobs;
DROP FUNCTION jobs_changed_notify();

CREATE FUNCTION jobs_changed_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = 'scheduled' THEN
        PERFORM pg_notify('hearth_jobs', 'placed');
    ELSIF OLD.state IN ('scheduled', 'running') AND NEW.state NOT IN ('scheduled', 'running') THEN
        PERFORM pg_notify('hearth_jobs', 'freed');
    ELSE
        PERFORM pg_notify('hearth_jobs', 'changed');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER jobs_changed AFTER UPDATE OF state, node_id ON jobs
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.node_id IS DISTINCT FROM NEW.node_id)
    EXECUTE FUNCTION jobs_changed_notify();

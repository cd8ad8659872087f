-- Accounting: node availability intervals, where energy figures come from, one GPU never held
-- twice at once, and the indexes the reports read through. See Docs/accounting.md.

-- Range indexes over (node, interval): a report asks "which rows of these nodes overlap this
-- month", which a B-tree on started_at answers only by reading every older row too.
-- btree_gist is a trusted extension (PostgreSQL 13+): a database owner may create it.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- Node availability: one row per interval a node spent in one state, with the GPUs it offered.
-- Written by the trigger below in the same statement as every change of nodes.state (register,
-- heartbeat, drain/resume, the leader marking a silent node down), so no path can skip it.
-- Append-only like the ledger: the open row (ended_at NULL) is closed exactly once.
CREATE TABLE node_availability (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node_id     bigint NOT NULL REFERENCES nodes (id),
    state       text NOT NULL CHECK (state IN ('up', 'draining', 'down')),
    gpus        integer NOT NULL CHECK (gpus >= 0),
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz,
    CONSTRAINT node_availability_ordered CHECK (ended_at IS NULL OR ended_at >= started_at)
);
CREATE UNIQUE INDEX node_availability_one_open ON node_availability (node_id) WHERE ended_at IS NULL;
CREATE INDEX node_availability_by_node_range ON node_availability
    USING gist (node_id, tstzrange(started_at, ended_at, '[]'));

-- Closes the node's open interval at `at` and opens one in its current state with its current
-- GPU count. A node going down is down from its last heartbeat (its last sign of life), not from
-- when the leader noticed.
CREATE FUNCTION node_availability_turn(p_node bigint, p_state text, p_at timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    open_row node_availability%ROWTYPE;
    at_time timestamptz;
BEGIN
    SELECT * INTO open_row FROM node_availability WHERE node_id = p_node AND ended_at IS NULL FOR UPDATE;
    at_time := greatest(p_at, coalesce(open_row.started_at, p_at));
    IF FOUND THEN
        UPDATE node_availability SET ended_at = at_time WHERE id = open_row.id;
    END IF;
    INSERT INTO node_availability (node_id, state, gpus, started_at)
    VALUES (p_node, p_state, (SELECT count(*) FROM node_gpus WHERE node_id = p_node), at_time);
END $$;

CREATE FUNCTION nodes_track_availability() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM node_availability_turn(NEW.id, NEW.state, now());
    ELSIF NEW.state IS DISTINCT FROM OLD.state THEN
        PERFORM node_availability_turn(NEW.id, NEW.state,
            CASE WHEN NEW.state = 'down' THEN least(OLD.last_heartbeat_at, now()) ELSE now() END);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER nodes_availability AFTER INSERT OR UPDATE OF state ON nodes
    FOR EACH ROW EXECUTE FUNCTION nodes_track_availability();

-- Registration replaces a node's GPU rows: a changed count starts a new interval, so offered
-- GPU-hours always use the GPUs the node had at the time. Called by NodeStore.register.
CREATE FUNCTION node_availability_sync_gpus(p_node bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- An interval opened in this very transaction (a new node) just takes the count.
    UPDATE node_availability SET gpus = (SELECT count(*) FROM node_gpus WHERE node_id = p_node)
    WHERE node_id = p_node AND ended_at IS NULL AND started_at = now();
    IF EXISTS (SELECT 1 FROM node_availability
               WHERE node_id = p_node AND ended_at IS NULL
                 AND gpus <> (SELECT count(*) FROM node_gpus WHERE node_id = p_node)) THEN
        PERFORM node_availability_turn(p_node, (SELECT state FROM nodes WHERE id = p_node), now());
    END IF;
END $$;

-- Nodes registered before this migration: availability is known from now on.
INSERT INTO node_availability (node_id, state, gpus, started_at)
SELECT n.id, n.state, (SELECT count(*) FROM node_gpus g WHERE g.node_id = n.id), now() FROM nodes n;

-- Where an allocation's energy figure comes from: 'measured' (sampled GPU power through NVML /
-- nvidia-smi) or 'estimated' (nominal TDP × time, shown labelled as an estimate). No figure, no
-- source: energy is absent rather than guessed.
ALTER TABLE allocations ADD COLUMN energy_source text CHECK (energy_source IN ('measured', 'estimated'));
ALTER TABLE allocations ADD CONSTRAINT allocations_energy_sourced
    CHECK ((energy_joules IS NULL) = (energy_source IS NULL));

-- Reports: the rows of a node overlapping a period, whatever their length (open rows reach to
-- infinity). '[]' keeps zero-length rows (claimed and closed in the same instant) visible.
CREATE INDEX allocations_by_node_range ON allocations
    USING gist (node_id, tstzrange(started_at, ended_at, '[]'));

-- One GPU is never held by two allocations at once: a new row's GPUs must not be held by any
-- row of the node whose interval overlaps the new one's (an open row reaches to infinity).
CREATE FUNCTION allocations_gpus_free() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    clash bigint;
BEGIN
    IF cardinality(NEW.gpu_indices) = 0 THEN
        RETURN NEW;
    END IF;
    SELECT id INTO clash FROM allocations
    WHERE node_id = NEW.node_id AND gpu_indices && NEW.gpu_indices
      AND tstzrange(started_at, ended_at, '[]') && tstzrange(NEW.started_at, NEW.ended_at, '[]')
      AND started_at < coalesce(NEW.ended_at, 'infinity') AND coalesce(ended_at, 'infinity') > NEW.started_at
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'GPUs % of node % are still held by allocation %', NEW.gpu_indices, NEW.node_id, clash
            USING ERRCODE = 'exclusion_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER allocations_gpus_free BEFORE INSERT ON allocations
    FOR EACH ROW EXECUTE FUNCTION allocations_gpus_free();

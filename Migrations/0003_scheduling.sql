-- What the fair-share scheduler needs from the queue and the fleet (Docs/scheduler.md):
-- per-job dependencies, time limits, preemptibility and GPU constraints; per-node CPU job slots,
-- the kinds the node's software runs, and the donor's reclaim; a wake-up on every state change.

-- `after_ok`: jobs that must have succeeded before this one may start (Slurm's afterok).
-- `time_limit_seconds`: wall time the job may run; needed to backfill it in front of a reservation
-- and to place it in a donor window it must finish inside. NULL = unknown.
-- `preemptible`: NULL = the kind's default (every kind but `serve`).
-- `gpu_model` / `gpu_memory_bytes`: every GPU given to the job must be of that model (NULL = any)
-- and have at least that much memory.
ALTER TABLE jobs
    ADD COLUMN after_ok            bigint[] NOT NULL DEFAULT '{}'
        CHECK (cardinality(after_ok) <= 64 AND array_position(after_ok, NULL) IS NULL),
    ADD COLUMN time_limit_seconds  integer CHECK (time_limit_seconds BETWEEN 1 AND 31622400),
    ADD COLUMN preemptible         boolean,
    ADD COLUMN gpu_model           text CHECK (length(gpu_model) BETWEEN 1 AND 100),
    ADD COLUMN gpu_memory_bytes    bigint NOT NULL DEFAULT 0 CHECK (gpu_memory_bytes >= 0);

-- `cpu_slots`: CPU-only jobs the node runs at once. `kinds`: what its hearth-worker can run
-- (the donor's policy may narrow it further). `reclaimed_at`: the donor took the node back
-- (`hearth node reclaim`): its jobs are preempted and nothing new is placed until released.
ALTER TABLE nodes
    ADD COLUMN cpu_slots     integer NOT NULL DEFAULT 1 CHECK (cpu_slots BETWEEN 0 AND 1024),
    ADD COLUMN kinds         text[] NOT NULL DEFAULT '{train}',
    ADD COLUMN reclaimed_at  timestamptz;

-- The leader's last scheduling pass, for `hearth priority`, status lines and metrics.
CREATE TABLE scheduler_passes (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node_id          bigint REFERENCES nodes (id),
    at               timestamptz NOT NULL DEFAULT clock_timestamp(),
    duration_seconds double precision NOT NULL CHECK (duration_seconds >= 0),
    pending          integer NOT NULL CHECK (pending >= 0),
    placed           integer NOT NULL CHECK (placed >= 0),
    preempted        integer NOT NULL CHECK (preempted >= 0),
    reserved         integer NOT NULL CHECK (reserved >= 0)
);
CREATE INDEX scheduler_passes_by_time ON scheduler_passes (at DESC);

-- Every change of a job's state (or its node) wakes the leader's scheduling loop and the agents:
-- one notification per statement, not per row; NOTIFY folds duplicates within a transaction.
CREATE FUNCTION jobs_changed_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hearth_jobs', 'changed');
    RETURN NULL;
END $$;
CREATE TRIGGER jobs_changed AFTER UPDATE OF state, node_id ON jobs
    FOR EACH STATEMENT EXECUTE FUNCTION jobs_changed_notify();

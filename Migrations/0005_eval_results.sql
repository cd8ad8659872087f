-- Results of evaluation jobs: one row per (job, task, metric), written by the node running the
-- attempt as the worker reports each task (fenced by the lease like every report), read by
-- `hearth eval show` / `compare`. The checkpoint is identified by step, path and the SHA-256 of
-- its weights, so results of different checkpoints of one run can be compared.
CREATE TABLE eval_results (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id           bigint NOT NULL REFERENCES jobs (id),
    attempt          integer NOT NULL CHECK (attempt >= 1),
    checkpoint_step  bigint NOT NULL CHECK (checkpoint_step >= 0),
    checkpoint_path  text NOT NULL,
    checkpoint_sha   text NOT NULL CHECK (checkpoint_sha ~ '^[0-9a-f]{64}$'),
    task             text NOT NULL CHECK (task ~ '^[A-Za-z0-9_.-]{1,200}$'),
    metric           text NOT NULL CHECK (metric ~ '^[A-Za-z0-9_.-]{1,100}$'),
    value            double precision NOT NULL,
    samples          integer NOT NULL CHECK (samples >= 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    -- A retried attempt rewrites its task's values instead of adding a second set.
    UNIQUE (job_id, task, metric)
);
CREATE INDEX eval_results_by_checkpoint ON eval_results (checkpoint_sha, task);

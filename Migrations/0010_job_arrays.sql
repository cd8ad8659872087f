-- Job arrays (`hearth submit --array 0-999%10`, Slurm's syntax) and listing indexes.
--
-- An array is many jobs submitted by one request in one statement. Every element is an ordinary
-- job row (its own id, state, attempts and ledger rows) that also carries:
--   array_id        the id of the array's first element (so the first element's array_id is its id);
--   array_index     its index in the array, given to command jobs as HEARTH_ARRAY_INDEX and
--                   substituted for {index} in its spec and name;
--   array_parallel  at most this many elements scheduled or running at once (`%N`), NULL = no limit.
-- People name an element ARRAY_INDEX (`12_7`) and the whole array by its id (`12`).
ALTER TABLE jobs
    ADD COLUMN array_id       bigint REFERENCES jobs (id),
    ADD COLUMN array_index    integer CHECK (array_index >= 0),
    ADD COLUMN array_parallel integer CHECK (array_parallel >= 1),
    ADD CONSTRAINT jobs_array_fields CHECK ((array_id IS NULL) = (array_index IS NULL)
                                           AND (array_parallel IS NULL OR array_id IS NOT NULL));

CREATE UNIQUE INDEX jobs_array_element ON jobs (array_id, array_index) WHERE array_id IS NOT NULL;

-- `GET /v1/jobs` (default: jobs not yet finished, by id, a page at a time) reads only the
-- unfinished part of the table however many finished jobs it has.
CREATE INDEX jobs_unfinished_by_id ON jobs (id) WHERE state IN ('queued', 'scheduled', 'running');

-- The listing's newest progress per job (the primary key orders by attempt first).
CREATE INDEX job_metrics_newest ON job_metrics (job_id, step DESC);

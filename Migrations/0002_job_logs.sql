-- What workers print (stdout and stderr), line by line, so `hearth logs` can show any job's
-- output from any node. Appended by the node running the attempt; read by id cursor.
CREATE TABLE job_logs (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id   bigint NOT NULL REFERENCES jobs (id),
    attempt  integer NOT NULL CHECK (attempt >= 1),
    at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    line     text NOT NULL
);
CREATE INDEX job_logs_by_job ON job_logs (job_id, id);

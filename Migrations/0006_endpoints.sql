-- Serving endpoints: a serve job's worker reports the URL it listens on once its model is
-- loaded; the node records it here (fenced by the job's lease) and `hearth endpoints` lists the
-- live ones. One row per attempt; a row is live while its attempt still runs.
CREATE TABLE endpoints (
    job_id         bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt        integer NOT NULL CHECK (attempt >= 1),
    node_id        bigint NOT NULL REFERENCES nodes (id),
    url            text NOT NULL CHECK (url ~ '^https?://[^ ]+$'),
    model          text NOT NULL DEFAULT '',
    parameters     bigint CHECK (parameters >= 0),
    context        integer CHECK (context >= 1),
    state          text NOT NULL DEFAULT 'serving' CHECK (state IN ('serving', 'stopped')),
    registered_at  timestamptz NOT NULL DEFAULT now(),
    stopped_at     timestamptz,
    PRIMARY KEY (job_id, attempt),
    CHECK ((state = 'stopped') = (stopped_at IS NOT NULL))
);
CREATE INDEX endpoints_serving ON endpoints (job_id) WHERE state = 'serving';

-- Hearth's core schema: accounts, projects, nodes and GPUs, the job queue, the allocation ledger,
-- job events, metrics, checkpoints and datasets.
--
-- Invariants live here as CHECK constraints and triggers, so that no code path (and no admin with
-- psql) can store a job or ledger row that breaks them. Job states and who moves jobs between
-- them are documented in Docs/queue.md and Sources/HearthCore/JobState.swift.

-- Accounts are Unix users: the daemon knows them from the socket's peer credentials.
CREATE TABLE accounts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name ~ '^[a-z_][a-z0-9_.-]{0,63}$'),
    uid         integer UNIQUE CHECK (uid >= 0),
    role        text NOT NULL DEFAULT 'volunteer' CHECK (role IN ('volunteer', 'admin', 'donor')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Projects group volunteers; `shares` weighs a project against the others in fair share.
CREATE TABLE projects (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
    shares      integer NOT NULL DEFAULT 1 CHECK (shares > 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Membership, with an account's shares within its project.
CREATE TABLE project_members (
    project_id  bigint NOT NULL REFERENCES projects (id),
    account_id  bigint NOT NULL REFERENCES accounts (id),
    shares      integer NOT NULL DEFAULT 1 CHECK (shares > 0),
    PRIMARY KEY (project_id, account_id)
);

-- Donated machines. Every node runs hearthd; its agent keeps `last_heartbeat_at` fresh.
CREATE TABLE nodes (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hostname           text NOT NULL UNIQUE CHECK (length(hostname) BETWEEN 1 AND 253),
    donor_id           bigint REFERENCES accounts (id),
    state              text NOT NULL DEFAULT 'up' CHECK (state IN ('up', 'draining', 'down')),
    cpus               integer NOT NULL DEFAULT 1 CHECK (cpus > 0),
    memory_bytes       bigint NOT NULL DEFAULT 0 CHECK (memory_bytes >= 0),
    labels             jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    policy             jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(policy) = 'object'),
    registered_at      timestamptz NOT NULL DEFAULT now(),
    last_heartbeat_at  timestamptz NOT NULL DEFAULT now()
);

-- GPUs of a node. `simulated` marks GPUs declared in configuration where no hardware exists.
CREATE TABLE node_gpus (
    node_id       bigint NOT NULL REFERENCES nodes (id),
    index         integer NOT NULL CHECK (index >= 0),
    model         text NOT NULL,
    memory_bytes  bigint NOT NULL CHECK (memory_bytes >= 0),
    uuid          text,
    simulated     boolean NOT NULL DEFAULT false,
    PRIMARY KEY (node_id, index)
);

-- Kinds of job. A new kind is a row, added by a migration.
CREATE TABLE job_kinds (
    name         text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_-]{0,31}$'),
    description  text NOT NULL
);
INSERT INTO job_kinds (name, description) VALUES
    ('train', 'train a model with the built-in trainer'),
    ('eval', 'evaluate a checkpoint'),
    ('serve', 'serve a checkpoint over HTTP'),
    ('distill', 'distill a teacher checkpoint into a smaller student'),
    ('command', 'run a command (allowed only where a node policy permits it)');

-- The queue. See Docs/queue.md for every state and transition.
CREATE TABLE jobs (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind                  text NOT NULL REFERENCES job_kinds (name),
    account_id            bigint NOT NULL REFERENCES accounts (id),
    project_id            bigint REFERENCES projects (id),
    name                  text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    spec                  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(spec) = 'object'),
    state                 text NOT NULL DEFAULT 'queued'
                          CHECK (state IN ('queued', 'scheduled', 'running', 'succeeded', 'failed', 'cancelled')),
    priority              integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN -1000 AND 1000),
    qos                   text NOT NULL DEFAULT 'normal' CHECK (qos IN ('low', 'normal', 'high', 'serving')),
    gpus                  integer NOT NULL DEFAULT 0 CHECK (gpus BETWEEN 0 AND 64),
    idempotency_key       text CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    spec_sha256           text NOT NULL,
    attempt               integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    failures              integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    max_attempts          integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 100),
    preemptions           integer NOT NULL DEFAULT 0 CHECK (preemptions >= 0),
    lease_epoch           bigint NOT NULL DEFAULT 0 CHECK (lease_epoch >= 0),
    lease_expires_at      timestamptz,
    node_id               bigint REFERENCES nodes (id),
    run_at                timestamptz NOT NULL DEFAULT now(),
    created_at            timestamptz NOT NULL DEFAULT now(),
    scheduled_at          timestamptz,
    started_at            timestamptz,
    finished_at           timestamptz,
    cancel_requested_at   timestamptz,
    preempt_requested_at  timestamptz,
    last_error            text,
    result                jsonb,
    -- A node holds a lease exactly while the job is scheduled or running.
    CONSTRAINT jobs_lease_iff_held CHECK (
        (state IN ('scheduled', 'running')) =
        (node_id IS NOT NULL AND lease_expires_at IS NOT NULL)),
    -- Terminal states, and only they, have finished_at.
    CONSTRAINT jobs_finished_iff_terminal CHECK (
        (state IN ('succeeded', 'failed', 'cancelled')) = (finished_at IS NOT NULL)),
    -- A running job has a start time; a held job has had at least one attempt.
    CONSTRAINT jobs_running_started CHECK (state <> 'running' OR started_at IS NOT NULL),
    -- `attempt` counts claims (each one a ledger row); `failures` counts failed or lost attempts,
    -- and reaching `max_attempts` of them fails the job for good. Preemptions are bounded apart.
    CONSTRAINT jobs_failures_bounded CHECK (failures <= max_attempts),
    CONSTRAINT jobs_held_has_attempt CHECK (state NOT IN ('scheduled', 'running') OR attempt >= 1)
);

-- Idempotent submission: one job per (account, key).
CREATE UNIQUE INDEX jobs_idempotency ON jobs (account_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- The claim path: only claimable rows, in claim order.
CREATE INDEX jobs_claimable ON jobs (priority DESC, run_at, id) WHERE state = 'queued';
-- The rescuer's path: held jobs by lease expiry.
CREATE INDEX jobs_held_by_lease ON jobs (lease_expires_at) WHERE state IN ('scheduled', 'running');
CREATE INDEX jobs_by_account ON jobs (account_id, id);
CREATE INDEX jobs_by_node ON jobs (node_id) WHERE node_id IS NOT NULL;

-- The accounting ledger: one row per job attempt on a node. Opened when a node claims the job
-- (its GPUs are held from then), closed exactly once, never deleted.
CREATE TABLE allocations (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id       bigint NOT NULL REFERENCES jobs (id),
    attempt      integer NOT NULL CHECK (attempt >= 1),
    node_id      bigint NOT NULL REFERENCES nodes (id),
    gpus         integer NOT NULL CHECK (gpus >= 0),
    gpu_indices  integer[] NOT NULL DEFAULT '{}',
    started_at   timestamptz NOT NULL DEFAULT now(),
    ended_at     timestamptz,
    end_reason   text CHECK (end_reason IN ('succeeded', 'failed', 'cancelled', 'preempted', 'lost')),
    energy_joules double precision CHECK (energy_joules >= 0),
    cpu_seconds  double precision CHECK (cpu_seconds >= 0),
    peak_rss_bytes bigint CHECK (peak_rss_bytes >= 0),
    CONSTRAINT allocations_closed_together CHECK ((ended_at IS NULL) = (end_reason IS NULL)),
    CONSTRAINT allocations_ordered CHECK (ended_at IS NULL OR ended_at >= started_at),
    CONSTRAINT allocations_one_per_attempt UNIQUE (job_id, attempt)
);
-- At most one open ledger row per job, at any time.
CREATE UNIQUE INDEX allocations_one_open_per_job ON allocations (job_id) WHERE ended_at IS NULL;
CREATE INDEX allocations_by_node_time ON allocations (node_id, started_at);

-- The ledger is append-only: rows are never deleted, and a closed row never changes.
CREATE FUNCTION allocations_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'allocation rows are never deleted (allocation %)', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.ended_at IS NOT NULL THEN
        RAISE EXCEPTION 'allocation % is already closed', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.job_id <> OLD.job_id OR NEW.attempt <> OLD.attempt OR NEW.node_id <> OLD.node_id
       OR NEW.started_at <> OLD.started_at OR NEW.gpus <> OLD.gpus THEN
        RAISE EXCEPTION 'allocation % may only be closed, not rewritten', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER allocations_append_only BEFORE UPDATE OR DELETE ON allocations
    FOR EACH ROW EXECUTE FUNCTION allocations_guard();

-- The audit trail of every transition.
CREATE TABLE job_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id      bigint NOT NULL REFERENCES jobs (id),
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    event       text NOT NULL,
    from_state  text,
    to_state    text,
    node_id     bigint REFERENCES nodes (id),
    attempt     integer,
    detail      jsonb
);
CREATE INDEX job_events_by_job ON job_events (job_id, id);

-- What a worker reports while it trains.
CREATE TABLE job_metrics (
    job_id        bigint NOT NULL REFERENCES jobs (id),
    attempt       integer NOT NULL,
    step          bigint NOT NULL CHECK (step >= 0),
    at            timestamptz NOT NULL DEFAULT now(),
    loss          double precision,
    lr            double precision,
    tokens_per_s  double precision,
    extra         jsonb,
    PRIMARY KEY (job_id, attempt, step)
);

-- Checkpoint metadata (the files live on the node or shared storage).
CREATE TABLE checkpoints (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id      bigint NOT NULL REFERENCES jobs (id),
    attempt     integer NOT NULL,
    step        bigint NOT NULL CHECK (step >= 0),
    path        text NOT NULL,
    bytes       bigint NOT NULL CHECK (bytes >= 0),
    sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    node_id     bigint REFERENCES nodes (id),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX checkpoints_by_job ON checkpoints (job_id, step DESC);

-- Tokenized datasets that jobs may name.
CREATE TABLE datasets (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$'),
    owner_id    bigint REFERENCES accounts (id),
    path        text NOT NULL,
    tokenizer   text NOT NULL,
    shards      integer NOT NULL CHECK (shards >= 1),
    tokens      bigint NOT NULL CHECK (tokens >= 0),
    sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    created_at  timestamptz NOT NULL DEFAULT now()
);

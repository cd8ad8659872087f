-- Who may use what beyond the defaults (Docs/security.md). Every volunteer may submit at QOS low
-- or normal, at priority 0 or below, preemptible; an admin grants more to an account or to a
-- project (then to each of its members), like Slurm's per-association QOS lists. Revoking
-- deletes the row; the daemon logs both to the journal with who did it.
CREATE TABLE grants (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  bigint REFERENCES accounts (id),
    project_id  bigint REFERENCES projects (id),
    privilege   text NOT NULL CHECK (privilege IN ('qos-high', 'qos-serving', 'non-preemptible')),
    granted_by  bigint NOT NULL REFERENCES accounts (id),
    granted_at  timestamptz NOT NULL DEFAULT now(),
    -- A grant is to one account or to one project, never both or neither.
    CHECK ((account_id IS NULL) <> (project_id IS NULL))
);
CREATE UNIQUE INDEX grants_account_once ON grants (account_id, privilege) WHERE account_id IS NOT NULL;
CREATE UNIQUE INDEX grants_project_once ON grants (project_id, privilege) WHERE project_id IS NOT NULL;

-- A serve job's bearer key: every serve job gets a random key in its spec (`api_key`) as it is
-- inserted, whatever path inserts it, so the worker (which reads the spec) checks it and those who
-- may read the spec (owner, project, admins) can use the endpoint. The key is not part of
-- `spec_sha256` (computed from the submitted spec), so an idempotent resubmission still matches.
-- gen_random_uuid() draws from the server's strong random source; two give 244 random bits.
CREATE FUNCTION jobs_serve_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.spec := NEW.spec || jsonb_build_object('api_key',
        'hk-' || replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''));
    RETURN NEW;
END $$;
CREATE TRIGGER jobs_serve_key BEFORE INSERT ON jobs
    FOR EACH ROW WHEN (NEW.kind = 'serve') EXECUTE FUNCTION jobs_serve_key();

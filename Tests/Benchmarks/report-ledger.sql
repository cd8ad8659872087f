-- Fixture for `./bench report` (Sources/bench-report): a year of synthetic ledger rows,
-- {{rows}} of them, over 200 nodes of 40 donors, 100 volunteers and 10 projects.
-- Bulk-loaded as history: the jobs enter already finished, so the state-diagram trigger and the
-- one-GPU-never-held-twice guard are off for this load only (the rows are disjoint by
-- construction), inside one transaction.
BEGIN;
INSERT INTO accounts (name, role) SELECT 'donor' || i, 'donor' FROM generate_series(0, 39) i;
INSERT INTO accounts (name) SELECT 'vol' || i FROM generate_series(0, 99) i;
INSERT INTO projects (name) SELECT 'p' || i FROM generate_series(0, 9) i;
INSERT INTO nodes (hostname, donor_id, cpus, memory_bytes)
SELECT 'n' || i, (SELECT id FROM accounts WHERE name = 'donor' || (i / 5)), 16, 1 << 36 FROM generate_series(0, 199) i;
INSERT INTO node_gpus (node_id, index, model, memory_bytes, simulated)
SELECT n.id, g, 'simulated-A100', 80 << 30, true FROM nodes n, generate_series(0, 3) g;
-- Availability since the start of the year of data (the trigger opened rows at now()).
UPDATE node_availability SET started_at = '2025-12-01', gpus = 4;
ALTER TABLE jobs DISABLE TRIGGER jobs_state_diagram;
INSERT INTO jobs (kind, account_id, project_id, spec_sha256, gpus, state, attempt, finished_at)
SELECT 'train', (SELECT min(id) FROM accounts WHERE name LIKE 'vol%') + i % 100,
       (SELECT min(id) FROM projects) + i % 10, '', 1 + i % 4, 'succeeded', 1, now()
FROM generate_series(0, {{rows}} - 1) i;
ALTER TABLE jobs ENABLE TRIGGER jobs_state_diagram;
-- Each node gets rows/200 slots over the year; an attempt fills 80% of its slot.
ALTER TABLE allocations DISABLE TRIGGER allocations_gpus_free;
WITH s AS (SELECT make_interval(secs => 365 * 86400.0 / ({{rows}} / 200)) AS slot),
j AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k, gpus FROM jobs)
INSERT INTO allocations (job_id, attempt, node_id, gpus, gpu_indices, started_at, ended_at, end_reason, cpu_seconds)
SELECT j.id, 1, (SELECT min(id) FROM nodes) + j.k % 200, j.gpus, (ARRAY[0, 1, 2, 3])[1:j.gpus],
       timestamptz '2025-12-01' + s.slot * (j.k / 200),
       timestamptz '2025-12-01' + s.slot * (j.k / 200) + s.slot * 0.8,
       (ARRAY['succeeded', 'failed', 'preempted', 'cancelled', 'lost'])[1 + (j.k / 7) % 5], 60
FROM j, s;
ALTER TABLE allocations ENABLE TRIGGER allocations_gpus_free;
COMMIT;

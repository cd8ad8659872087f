#!/usr/bin/env bash
# The scheduling pass's locality read (SnapshotLoader+Locality) beside the pass's pending read,
# on one throwaway PostgreSQL with N queued jobs (default 100,000), a quarter naming one of 200
# fleet datasets, and 20 nodes recording 50 cached blobs each. Prints the median of 5 runs of:
# the pending read; the one-off parse of every job's references; the per-pass resolution; and
# the per-job function hearth_job_input_blobs over the whole queue (what a pass would cost
# without the parse cache). Run as root: ./bench locality
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-100000}
work=${HEARTH_BENCH_DIR:-/tmp/hearth-bench-locality}
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
[ -z "${SKIP_BUILD:-}" ] && swift build --product hearthd 2>&1 | tail -1
hearthd=$(swift build --show-bin-path)/hearthd
rm -rf "$work" && mkdir -p "$work" && chown nobody "$work"
pg() { runuser -u nobody -- "$@"; }
pg "$bindir/initdb" -D "$work/data" -U postgres -A trust >/dev/null
pg "$bindir/pg_ctl" -D "$work/data" -o "-p 55433 -k $work -c listen_addresses=" -l "$work/log" start >/dev/null
trap 'pg "$bindir/pg_ctl" -D "$work/data" stop -m fast >/dev/null' EXIT
psql() { command psql -X -q -h "$work" -p 55433 -U postgres "$@"; }
psql -c "CREATE DATABASE bench"
"$hearthd" migrate --database-url "host=$work port=55433 user=postgres dbname=bench" >/dev/null
psql -d bench <<SQL
INSERT INTO accounts (name, role) VALUES ('u', 'volunteer');
INSERT INTO nodes (hostname) SELECT 'n' || g FROM generate_series(1, 20) g;
DO \$\$ DECLARE u bigint; i int; BEGIN
  FOR i IN 1..200 LOOP
    u := hearth_artifact_upload_begin();
    INSERT INTO artifact_chunks VALUES (u, 0, decode(md5(i::text), 'hex'));
    PERFORM hearth_artifact_upload_commit(u, encode(sha256(i::text::bytea), 'hex'), 16, 1);
    PERFORM hearth_artifact_create('dataset', 'd' || i, (SELECT id FROM accounts WHERE name = 'u'), NULL, NULL, NULL,
      jsonb_build_array(jsonb_build_object('path', 'train.bin', 'sha256', encode(sha256(i::text::bytea), 'hex'), 'bytes', 16)));
  END LOOP;
END \$\$;
INSERT INTO jobs (kind, account_id, spec, spec_sha256)
SELECT 'train', (SELECT id FROM accounts WHERE name = 'u'),
       CASE WHEN g % 4 = 0
            THEN jsonb_build_object('data', jsonb_build_array(jsonb_build_object('dataset', 'sha256:' || (SELECT digest FROM artifacts WHERE name = 'd' || (1 + g % 200)))), 'steps', 100)
            ELSE jsonb_build_object('data', jsonb_build_array(jsonb_build_object('path', '/srv/data')), 'steps', 100) END,
       'x'
FROM generate_series(1, $N) g;
INSERT INTO node_cached_blobs (node_id, sha256)
SELECT n.id, b.sha256 FROM nodes n CROSS JOIN LATERAL (SELECT sha256 FROM artifact_blobs ORDER BY sha256 LIMIT 50 OFFSET (n.id % 4) * 30) b;
VACUUM ANALYZE;
SQL
# The statements as the loader sends them (its parameters inlined).
pending="SELECT id, account_id, coalesce(project_id, 0), kind, qos, gpus, gpu_model, gpu_memory_bytes, created_at, run_at, time_limit_seconds, after_ok, preemptible, preemptions, priority, avoid_nodes FROM jobs WHERE state = 'queued' AND array_parallel IS NULL"
parse="SELECT j.id, coalesce((SELECT string_agg(substr(d #>> '{}', 8), ',') FROM jsonb_path_query(j.spec, 'lax \$.data[*].dataset ? (@.type() == \"string\" && @ starts with \"sha256:\")') d WHERE substr(d #>> '{}', 8) ~ '^[0-9a-f]{64}\$'), ''), coalesce((SELECT string_agg(m[1] || ':' || m[2], ',') FROM (SELECT regexp_match(s #>> '{}', '^@checkpoint:([0-9]{1,18}):(latest|[0-9]{1,18})') AS m FROM jsonb_path_query(j.spec, 'lax \$.** ? (@.type() == \"string\" && @ starts with \"@checkpoint:\")') s) p WHERE m IS NOT NULL), '') FROM jobs j WHERE j.id = ANY (ARRAY(SELECT id FROM jobs WHERE state = 'queued'))"
resolve="WITH ds AS (SELECT 'd:' || w.digest AS ref, f.sha256, f.bytes FROM (SELECT DISTINCT digest FROM artifacts WHERE kind = 'dataset') w CROSS JOIN LATERAL (SELECT a.id FROM artifacts a WHERE a.kind = 'dataset' AND a.digest = w.digest ORDER BY a.id LIMIT 1) a JOIN artifact_files f ON f.artifact_id = a.id), own AS (SELECT 'o:' || o.job_id AS ref, f.sha256, f.bytes FROM (SELECT DISTINCT ON (a.job_id) a.job_id, a.id FROM artifacts a JOIN jobs q ON q.id = a.job_id WHERE a.kind = 'checkpoint' AND q.state = 'queued' ORDER BY a.job_id, a.step DESC) o JOIN artifact_files f ON f.artifact_id = o.id) SELECT x.ref, n.node_id, x.sha256, x.bytes FROM (SELECT * FROM ds UNION ALL SELECT * FROM own) x JOIN node_cached_blobs n ON n.sha256 = x.sha256"
perjob="SELECT jobs.id, n.node_id, sum(i.bytes) FROM jobs CROSS JOIN LATERAL hearth_job_input_blobs(jobs.id) i JOIN node_cached_blobs n ON n.sha256 = i.sha256 WHERE jobs.state = 'queued' GROUP BY 1, 2"
median() {  # milliseconds of 5 runs of statement $1
  for _ in 1 2 3 4 5; do
    printf '\\timing on\n%s \\g /dev/null\n' "$1" | psql -d bench | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
  done | sort -n | sed -n 3p
}
echo "$(date -u '+%F %H:%M') UTC, $N queued jobs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
p=$(median "$pending"); r=$(median "$resolve"); o=$(median "$parse")
echo "pending read (every pass):        $p ms"
echo "locality per pass (resolution):   $r ms  ($(echo "scale=2; $r / $p" | bc) x the pending read)"
echo "parse of every job (once per job): $o ms  ($(echo "scale=2; $o / $p" | bc) x; at most 10,000 jobs a pass)"
echo "per-job function, whole queue:    $(median "$perjob") ms (the cost without the parse cache, every pass)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

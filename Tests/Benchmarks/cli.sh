#!/usr/bin/env bash
# hearth's latency and job throughput beside Slurm on the same machine, in the same run:
#   `hearth queue` vs `squeue` round trips (p50/p99 over 200 calls), and 1,000 trivial jobs from
#   the first submission to the last completion (`hearth submit` of a one-step training job vs
#   `sbatch --wrap=true`). Slurm is Debian's slurm-wlm, single node (slurmctld + slurmd on
#   localhost, munge auth), installed here if missing. Run as root: ./bench cli
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${HEARTH_BENCH_DIR:-/tmp/hearth-bench-cli}
calls=${CALLS:-200}
jobs=${JOBS:-1000}

command -v slurmctld >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm >/dev/null
swift build -c release 2>&1 | tail -1
bin=$(swift build -c release --show-bin-path)

cleanup() {
  pkill -f "hearthd run --state-dir $work/state" 2>/dev/null || true
  [ -f "$work/slurm/slurmctld.pid" ] && kill "$(cat "$work/slurm/slurmctld.pid")" 2>/dev/null || true
  [ -f "$work/slurm/slurmd.pid" ] && kill "$(cat "$work/slurm/slurmd.pid")" 2>/dev/null || true
}
trap cleanup EXIT
cleanup
rm -rf "$work" && mkdir -p "$work/slurm/state" "$work/slurm/spool"
chmod 755 "$work"

# Slurm: one node with this machine's CPUs.
export SLURM_CONF=$work/slurm/slurm.conf
cat >"$SLURM_CONF" <<CONF
ClusterName=hearthbench
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$work/slurm/state
SlurmdSpoolDir=$work/slurm/spool
SlurmctldPidFile=$work/slurm/slurmctld.pid
SlurmdPidFile=$work/slurm/slurmd.pid
SlurmctldLogFile=$work/slurm/slurmctld.log
SlurmdLogFile=$work/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
NodeName=localhost CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
mkdir -p /run/munge && chown munge:munge /run/munge
pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged
/usr/sbin/slurmctld -f "$SLURM_CONF"
/usr/sbin/slurmd -f "$SLURM_CONF"

# Hearth: one node, one job per CPU, on its embedded PostgreSQL.
"$bin/hearthd" run --state-dir "$work/state" --socket "$work/hearth.sock" --slots "$(nproc)" >"$work/hearthd.log" 2>&1 &
python3 - "$work" "$bin" <<'PY'
import random, sys
random.seed(1)
words = "the quick brown fox jumps over a lazy dog to be or not".split()
open(sys.argv[1] + "/input.txt", "w").write(" ".join(random.choice(words) for _ in range(5000)))
PY
"$bin/hearth-worker" prepare "$work/input.txt" --out "$work/data" >/dev/null
cat >"$work/trivial.json" <<JSON
{"model": {"layers": 1, "heads": 2, "width": 16, "context": 8}, "data": [{"path": "$work/data"}],
 "batch_size": 4, "steps": 1, "seed": 7, "threads": 1}
JSON
for _ in $(seq 1 300); do grep -q " ready" "$work/hearthd.log" && break; sleep 0.1; done
until sinfo -h -o %t | grep -q idle; do sleep 0.5; done

python3 Tests/Benchmarks/cli_vs_slurm.py "$bin/hearth" "$work" "$calls" "$jobs"

#!/usr/bin/env bash
# hearth beside Slurm on this machine, one harness timing both sides as whole processes in the
# same run (Tests/Benchmarks/cli_vs_slurm.py): `hearth queue` vs `squeue` idle and with 1,000
# pending (each twice: as served, from the page hearthd keeps, and read afresh), the common commands
# after half a second idle (as a person types them), 1,000 submissions one by one vs sbatch, a 1,000-element array vs sbatch --array, 1,000
# smallest jobs from first submission to last completion, freed slot -> next start, requests and
# commands after idle gaps of 0-300 ms (PARTS=idle, not in the default set), and listing
# time at 1k/10k/100k pending. Slurm is Debian's slurm-wlm at its fastest single-node settings
# (sched/backfill, batch_sched_delay=0, sched_min_interval=0, 32 CPUs advertised), installed here
# if missing. Release builds: hearthd and hearth-worker as usual, hearth a static executable
# (./build-cli, its own scratch path .build-static). Run as root: ./bench cli
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${HEARTH_BENCH_DIR:-/tmp/hearth-bench-cli}
export CALLS=${CALLS:-200} JOBS=${JOBS:-1000} GAPS=${GAPS:-100}

command -v slurmctld >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm >/dev/null
# SKIP_BUILD=1: measure the release builds already there (a shared machine's long builds apart).
if [ -z "${SKIP_BUILD:-}" ]; then
  ./bootstrap >/dev/null
  swift build -c release --product hearthd 2>&1 | tail -1
  # WORKER: an hearth-worker built elsewhere (the job's payload, not what is measured).
  [ -n "${WORKER:-}" ] || swift build -c release --product hearth-worker 2>&1 | tail -1
  ./build-cli >/dev/null
fi
bin=$(swift build -c release --show-bin-path)
worker=${WORKER:-$bin/hearth-worker}
cli=$(./build-cli --path)

hearthd_pid=
cleanup() {
  [ -n "$hearthd_pid" ] && kill "$hearthd_pid" 2>/dev/null && wait "$hearthd_pid" 2>/dev/null || true
  [ -f "$work/slurm/slurmctld.pid" ] && kill "$(cat "$work/slurm/slurmctld.pid")" 2>/dev/null || true
  [ -f "$work/slurm/slurmd.pid" ] && kill "$(cat "$work/slurm/slurmd.pid")" 2>/dev/null || true
}
trap cleanup EXIT
rm -rf "$work" && mkdir -p "$work/slurm/state" "$work/slurm/spool"
chmod 755 "$work"

# Slurm: one node, 32 CPUs advertised (its controller, not the real cores, is what is measured).
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
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SlurmdParameters=config_overrides
MaxArraySize=100001
MaxJobCount=200000
MpiDefault=none
ReturnToService=2
NodeName=localhost CPUs=32 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
mkdir -p /run/munge && chown munge:munge /run/munge
pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged
/usr/sbin/slurmctld -f "$SLURM_CONF"
/usr/sbin/slurmd -f "$SLURM_CONF"

# Hearth: one node, 32 slots (HEARTHD: another hearthd build, to compare two in one session), one simulated GPU (jobs asking for 2 GPUs stay pending; jobs asking
# for 1 run one at a time, for the freed-slot measure), on its embedded PostgreSQL.
# Root submits here, as with Slurm, so root's jobs may run (--allow-root-jobs).
"${HEARTHD:-$bin/hearthd}" run --state-dir "$work/state" --socket "$work/hearth.sock" --slots 32 --simulated-gpus 1 --worker "$worker" --allow-root-jobs \
  >"$work/hearthd.log" 2>&1 &
hearthd_pid=$!
python3 - "$work" <<'PY'
import random, sys
random.seed(1)
words = "the quick brown fox jumps over a lazy dog to be or not".split()
open(sys.argv[1] + "/input.txt", "w").write(" ".join(random.choice(words) for _ in range(5000)))
PY
"$worker" prepare "$work/input.txt" --out "$work/data" >/dev/null
cat >"$work/trivial.json" <<JSON
{"model": {"layers": 1, "heads": 2, "width": 16, "context": 8}, "data": [{"path": "$work/data"}],
 "batch_size": 4, "steps": 1, "seed": 7, "threads": 1}
JSON
echo '{"argv": ["/bin/true"]}' >"$work/true.json"
for _ in $(seq 1 300); do grep -q " ready" "$work/hearthd.log" && break; sleep 0.1; done
until sinfo -h -o %t | grep -q idle; do sleep 0.5; done

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
python3 Tests/Benchmarks/cli_vs_slurm.py "$cli" "$work"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

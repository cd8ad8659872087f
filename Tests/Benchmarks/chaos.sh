#!/usr/bin/env bash
# ./bench chaos [--minutes N] [--seed S]: the long chaos run (Tests/HearthDaemonTests/Chaos).
# Two real hearthd nodes sharing one PostgreSQL (the first node's embedded cluster), jobs kept
# coming, and a fault every ~20 s on average for N minutes (default 30): kill -9 of a worker, of a
# hearthd (restarted), of the postmaster; SIGSTOP of a daemon past its lease; the second node's
# state disk (a tmpfs) filled and freed; its database connection cut and restored. Then every
# invariant is checked. Prints the seed (replay with --seed), the fault log, and recovery times
# per fault kind (median, worst): from the fault to the node doing work again.
# Needs root (tmpfs mount, the embedded cluster's system user) and a debug build of the tests.
set -euo pipefail
cd "$(dirname "$0")/../.."
minutes=30
seed=""
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    *) echo "usage: ./bench chaos [--minutes N] [--seed S]" >&2; exit 2 ;;
  esac
done
./bootstrap >/dev/null
swift build --build-tests
export HEARTH_CHAOS_MINUTES="$minutes"
[ -n "$seed" ] && export HEARTH_CHAOS_SEED="$seed"
echo "chaos: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, ${minutes} minutes"
exec swift test --skip-build --filter 'ChaosTests/longRun'

#!/usr/bin/env bash
# Scheduling-pass benchmark (issue 6): builds hearth-sim in release and times one full
# pass for 1k/10k/100k pending jobs x 10/100/1,000 nodes, then the FIFO vs fair-share
# simulation. Results go in Docs/BENCHMARKS.md ("Scheduler").
#
#   Tests/Benchmarks/scheduler.sh            # table + simulation
#   REPEATS=21 Tests/Benchmarks/scheduler.sh # more timed passes per cell
set -euo pipefail
cd "$(dirname "$0")/../.."
REPEATS="${REPEATS:-11}"
swift build -c release --product hearth-sim >&2
BIN="$(swift build -c release --show-bin-path)/hearth-sim"
echo "## scheduling pass ($(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), repeats=$REPEATS)"
"$BIN" bench --jobs 1000,10000,100000 --nodes 10,100,1000 --repeats "$REPEATS"
echo
echo "## simulation: FIFO vs Hearth, load 1.1"
"$BIN" simulate --load 1.1
echo
echo "## simulation: FIFO vs Hearth, load 0.8"
"$BIN" simulate --load 0.8

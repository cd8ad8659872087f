#!/usr/bin/env bash
# Scoring benchmark: the scoring core (rolling windows, batching, greedy check) beside the bare
# forward passes over the same windows, in one run; the ratio says what the core adds.
#   Tests/Benchmarks/score.sh                 # char vocabulary (65) and GPT-2's (50,257), 1 and 2 threads
#   BUILD=debug Tests/Benchmarks/score.sh     # the Trainer is -Ounchecked in debug builds too
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-release}
THREADS=${THREADS:-"1 2"}
cd "$ROOT"
swift build -c "$BUILD" --product hearth-worker 2>&1 | tail -1
W=$ROOT/.build/$BUILD/hearth-worker
uptime
for t in $THREADS; do
  "$W" bench-score --tag char-S --layers 4 --width 128 --context 64 --vocab 65 --threads "$t" --tokens 20000 --repeats 5
  "$W" bench-score --tag bpe-S --layers 4 --width 128 --context 128 --vocab 50257 --threads "$t" --tokens 4000 --repeats 5
done

#!/usr/bin/env bash
# Serving benchmark: `hearth-worker serve` (HTTP + SSE, KV-cached batched decoding) beside a JAX
# peer generating with the same checkpoint, in one run.
#   Tests/Benchmarks/serve.sh                # model L6 H6 C384 T512 (char vocabulary), 2 threads
#   THREADS=1 TOKENS=64 Tests/Benchmarks/serve.sh
# Needs: python3 with numpy, jax and safetensors (./bootstrap installs them). Scratch in $WORK.
# The checkpoint comes from one training step on generated text (speed does not depend on the
# weights); both sides load its model.safetensors.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${WORK:-/tmp/hearth-bench-serve}
THREADS=${THREADS:-2}
TOKENS=${TOKENS:-128}
STREAMS=${STREAMS:-8}
CONFIG=${CONFIG:-release}   # debug: the Trainer kernels are optimised in every build; the HTTP stack is not
CPUS=$([ "$THREADS" = 1 ] && echo 0 || echo "0-$((THREADS - 1))")
mkdir -p "$WORK"
cd "$ROOT"
[ -n "${SKIP_BUILD:-}" ] || swift build -c "$CONFIG" --product hearth-worker 2>&1 | tail -1
W=$ROOT/.build/$CONFIG/hearth-worker

if [ ! -d "$WORK/ckpt" ]; then
  python3 - "$WORK/text.txt" <<'PY'
import random, sys
random.seed(1)
words = "to be or not that is the question whether tis nobler in the mind suffer slings arrows".split()
open(sys.argv[1], "w").write(" ".join(random.choice(words) for _ in range(40000)))
PY
  rm -rf "$WORK/data"
  "$W" prepare "$WORK/text.txt" --out "$WORK/data" >/dev/null
  cat > "$WORK/train.json" <<JSON
{"model": {"layers": 6, "heads": 6, "width": 384, "context": 512}, "data": [{"path": "$WORK/data"}],
 "batch_size": 1, "steps": 1, "threads": $THREADS, "checkpoint_dir": "$WORK/ckpt"}
JSON
  "$W" train --job "$WORK/train.json" >/dev/null
fi
CKPT=$(ls -d "$WORK"/ckpt/step-* | tail -1)

cat > "$WORK/serve.json" <<JSON
{"checkpoint": "$CKPT", "tokenizer": "$WORK/data/tokenizer.json", "port": 0, "threads": $THREADS,
 "max_concurrent": $STREAMS, "max_queue": 0}
JSON
taskset -c "$CPUS" "$W" serve --job "$WORK/serve.json" > "$WORK/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 300); do grep -q '"serving"' "$WORK/serve.log" && break; sleep 0.1; done
URL=$(sed -nE 's/.*"event":"serving".*"url":"([^"]+)".*/\1/p; s/.*"url":"([^"]+)".*"event":"serving".*/\1/p' "$WORK/serve.log" | head -1)
[ -n "$URL" ] || { cat "$WORK/serve.log"; echo "the server did not start" >&2; exit 1; }
echo "date $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg) threads $THREADS build $CONFIG url $URL"
# The client and the JAX peer share the server's CPUs: JAX runs while the server idles.
taskset -c "$CPUS" python3 "$ROOT/Tests/Benchmarks/serve_bench.py" "$URL" "$CKPT" "$WORK/data/tokenizer.json" \
  --tokens "$TOKENS" --streams "$STREAMS" --prompt-tokens 256 2>&1 | grep -v "^WARNING"
kill -TERM $SERVER; wait $SERVER; echo "server exit status $?"
trap - EXIT

#!/usr/bin/env bash
# The GPU device check of the trainer's CUDA backend (issue 18), for a node with an NVIDIA GPU,
# CUDA, PyTorch and JAX but no Swift. It runs the hearth-worker that Tests/GPU/bundle.sh built
# here (.gpu-bundle/, carried to the node), in well under 10 minutes:
#   1. info + kernels: the worker loads the driver, runtime, cuBLAS(Lt) and NVRTC and compiles
#      every kernel for the card;
#   2. gradients: every tensor's gradient on the GPU against the CPU backend (fp32, tf32, bf16);
#   3. training: 8 AdamW steps GPU against CPU; parity: the JAX parity test's 8 steps on the GPU;
#   4. resume: a job moved CPU → GPU and GPU → CPU from the same checkpoint;
#   5. speed: tokens/s at shapes M, G and GPT-2 124M at context 1024 beside PyTorch torch.compile
#      in the same run, and MFU against the card's measured matrix peak.
# Results: RESULT lines on stdout, everything in $OUT (default /tmp/hearth-gpu) incl. summary.txt.
# Exit: 0 all checks passed, 1 a check failed, 3 no GPU visible (nothing was checked).
#   Tests/GPU/run.sh                 # on the GPU node (device tool: carry [".gpu-bundle.tar.xz"], timeout_s 600)
#   REHEARSE=cpu Tests/GPU/run.sh    # here: the same steps with --backend cpu, no PyTorch
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BUNDLE=${BUNDLE:-$ROOT/.gpu-bundle}
OUT=${OUT:-/tmp/hearth-gpu}
REHEARSE=${REHEARSE:-}
SPEED=${SPEED:-1}
mkdir -p "$OUT"
LOG=$OUT/run.log
: > "$LOG"
say() { echo "run.sh: $*" | tee -a "$LOG"; }
failed=0

ARCHIVE=$BUNDLE.tar.xz
if [ ! -x "$BUNDLE/hearth-worker" ] && [ -f "$ARCHIVE" ]; then
  say "unpacking $ARCHIVE"
  BUNDLE=/tmp/hearth-gpu-bundle; rm -rf "$BUNDLE"; mkdir -p "$BUNDLE"
  tar -C "$BUNDLE" -xJf "$ARCHIVE" || { say "cannot unpack $ARCHIVE"; exit 2; }
fi
[ -x "$BUNDLE/hearth-worker" ] || { say "no $BUNDLE/hearth-worker: run Tests/GPU/bundle.sh on the build machine and carry .gpu-bundle.tar.xz"; exit 2; }
say "worker bundle from commit $(cat "$BUNDLE/commit" 2>/dev/null || echo '?'), started $(date -u +%FT%TZ)"

BACKEND=cuda
if [ -n "$REHEARSE" ]; then
  BACKEND=cpu
  say "REHEARSAL on the CPU: every check runs with --backend cpu (2 threads against 1); no GPU figure comes from this run"
elif ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  say "no NVIDIA GPU is visible on this machine (nvidia-smi is missing or lists no GPU): nothing was checked"
  exit 3
else
  nvidia-smi -L | tee -a "$LOG"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee -a "$LOG"
fi

# The CUDA libraries: the toolkit's lib64 and the NVIDIA wheels beside PyTorch (nvidia/*/lib).
dirs=""
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
         $(python3 -c 'import nvidia, os; [print(os.path.join(p, d, "lib")) for p in nvidia.__path__ for d in sorted(os.listdir(p))]' 2>/dev/null) \
         $(python3 -c 'import nvidia, os; [print(os.path.join(p, "cu13", "lib")) for p in nvidia.__path__]' 2>/dev/null); do
  [ -d "$d" ] && ls "$d" | grep -qE '^lib(cudart|cublas|cublasLt|nvrtc)\.so\.[0-9]+$' && dirs="$dirs:$d"
done
export HEARTH_CUDA_LIBS=${HEARTH_CUDA_LIBS:-${dirs#:}}
export HEARTH_KERNEL_CACHE=$OUT/kernel-cache
say "HEARTH_CUDA_LIBS=$HEARTH_CUDA_LIBS"

# The worker with its bundled OpenBLAS; through the bundled glibc loader if the node's glibc is older.
W=("$BUNDLE/hearth-worker")
export LD_LIBRARY_PATH="$BUNDLE/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if ! "${W[@]}" --help >/dev/null 2>>"$LOG"; then
  W=("$BUNDLE/glibc/ld-linux-x86-64.so.2" --library-path "$BUNDLE/lib:$BUNDLE/glibc" "$BUNDLE/hearth-worker")
  "${W[@]}" --help >/dev/null 2>>"$LOG" || { say "the bundled hearth-worker does not start here (see $LOG)"; exit 2; }
  say "the node's glibc is older than the build's: running through the bundled loader"
fi

# step NAME TIMEOUT CMD...: runs, keeps RESULT lines, records pass/fail.
step() {
  local name=$1 limit=$2; shift 2
  local t0=$SECONDS
  timeout "$limit" "$@" > "$OUT/$name.out" 2>&1
  local rc=$?
  grep '^RESULT' "$OUT/$name.out" | tee -a "$OUT/results.txt"
  if [ $rc -ne 0 ]; then failed=1; say "FAIL $name (exit $rc after $((SECONDS - t0)) s): $(grep -v '^RESULT' "$OUT/$name.out" | tail -3 | tr '\n' ' ')"
  else say "ok   $name ($((SECONDS - t0)) s)"; fi
  return $rc
}
: > "$OUT/results.txt"

step info 120 "${W[@]}" gpu-check info --backend "$BACKEND" || { say "the backend does not start: stopping"; exit 1; }
if [ -n "$REHEARSE" ] && [ -z "$HEARTH_CUDA_LIBS" ]; then
  say "skip kernels: no libnvrtc on this machine"
else
  step kernels 180 "${W[@]}" gpu-check kernels --arch compute_90
fi
step gradients-fp32 120 "${W[@]}" gpu-check gradients --backend "$BACKEND" --precision fp32
step gradients-tf32 120 "${W[@]}" gpu-check gradients --backend "$BACKEND" --precision tf32
step gradients-bf16 120 "${W[@]}" gpu-check gradients --backend "$BACKEND" --precision bf16
step training 120 "${W[@]}" gpu-check training --backend "$BACKEND" --precision fp32
step parity 240 "${W[@]}" gpu-check parity --backend "$BACKEND" --precision fp32 --dir "$OUT/work" --script Tests/TrainerTests/parity_jax.py
step resume 180 "${W[@]}" gpu-check resume --backend "$BACKEND" --precision fp32 --dir "$OUT/work"

if [ "$SPEED" = 1 ]; then
  # name  L  H  C  T  B  V
  SHAPES="M 6 6 384 256 16 84
G 12 12 768 64 4 50257
GPT2-1024 12 12 768 1024 8 50257"
  [ -n "$REHEARSE" ] && SHAPES="M 6 6 384 256 16 84"
  PREC=${PREC:-tf32}
  if [ -z "$REHEARSE" ]; then step torch-peak 120 python3 Tests/GPU/torch_gpt.py peak; fi
  while read -r name L H C T B V; do
    steps=10; [ -n "$REHEARSE" ] && steps=2
    step "hearth-$name" 240 "${W[@]}" bench --backend "$BACKEND" --precision "$PREC" --layers "$L" --heads "$H" --width "$C" \
      --context "$T" --batch "$B" --vocab "$V" --steps $steps --warmup 2 --threads 2 --tag "$name"
    if [ -z "$REHEARSE" ]; then step "torch-$name" 300 python3 Tests/GPU/torch_gpt.py train "$L" "$H" "$C" "$T" "$B" "$V" "$PREC"; fi
  done <<< "$SHAPES"
fi

# Summary: hearth beside torch.compile per shape, MFU against the measured peak of the precision used.
python3 - "$OUT/results.txt" "${PREC:-tf32}" <<'PY' | tee "$OUT/summary.txt"
import json, sys
rows = [l.split(" ", 2) for l in open(sys.argv[1]) if l.startswith("RESULT ")]
peak = next((json.loads(r[2]) for r in rows if r[1] == "torch-peak"), {})
hearth = [json.loads(r[2]) for r in rows if r[1] == "hearth"]
torch = [json.loads(r[2]) for r in rows if r[1] == "torch"]
checks = [json.loads(r[2]) for r in rows if r[1] == "gpu-check"]
for c in checks:
    if "pass" in c:
        label = " ".join(f"{k}={c[k]}" for k in ("case", "precision", "bias") if k in c)
        print(f"{c['check']:10} {label:28} {'PASS' if c['pass'] else 'FAIL'}")
print(f"matrix peak (TFLOP/s, torch 8192^3): {peak or 'not measured'}")
print(f"{'shape':10} {'hearth tok/s':>13} {'torch tok/s':>12} {'ratio':>6} {'hearth MFU':>10}")
for h in hearth:
    t = next((t for t in torch if (t['L'], t['C'], t['T'], t['B'], t['V']) == (h['L'], h['C'], h['T'], h['B'], h['V'])), None)
    fpt = 6 * h['params'] + 12 * h['L'] * h['C'] * h['T']
    p = peak.get(sys.argv[2])
    mfu = f"{h['tok_s'] * fpt / (p * 1e12):.3f}" if p else "-"
    print(f"{h['tag']:10} {h['tok_s']:>13} {t['tok_s'] if t else '-':>12} {h['tok_s'] / t['tok_s'] if t else float('nan'):>6.2f} {mfu:>10}")
PY
say "done in $SECONDS s; $( [ $failed = 0 ] && echo 'every check passed' || echo 'SOME CHECKS FAILED' ); results in $OUT"
exit $failed

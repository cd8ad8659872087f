#!/usr/bin/env bash
# Builds the hearth-worker that Tests/GPU/run.sh takes to a GPU node, which has CUDA, PyTorch and
# JAX but no Swift: a release build with the Swift runtime linked in (--static-swift-stdlib),
# stripped, plus the non-glibc libraries it links (OpenBLAS and its Fortran runtime) in lib/, and
# this machine's glibc loader in glibc/ for a node whose glibc is older than the build's.
# CUDA itself is never bundled: the worker dlopens the node's driver and libraries.
#   Tests/GPU/bundle.sh [DIR]      # default .gpu-bundle in the repository root (git-ignored)
# It also writes DIR.tar.xz (about 26 MB against about 115 MB unpacked): carry that file to the
# node (the device tool's carry limit is 64 MiB); run.sh unpacks it when DIR is absent.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${1:-$ROOT/.gpu-bundle}
cd "$ROOT"
swift build -c release --static-swift-stdlib --product hearth-worker -j "${JOBS:-2}" 2>&1 | { grep -E "error:|Compiling Trainer|complete" || true; } | tail -3
BIN=$(swift build -c release --static-swift-stdlib --show-bin-path)/hearth-worker
rm -rf "$DIR"; mkdir -p "$DIR/lib" "$DIR/glibc"
cp "$BIN" "$DIR/hearth-worker"
strip "$DIR/hearth-worker"
# Every shared library it needs that is not glibc or the C++ runtime (present on any CUDA node).
ldd "$BIN" | awk '/=> \// {print $1, $3}' | while read -r name path; do
  case "$name" in
    libc.so*|libm.so*|libdl.so*|libpthread.so*|librt.so*|ld-linux*|libstdc++.so*|libgcc_s.so*) cp -L "$path" "$DIR/glibc/$name" ;;
    *) cp -L "$path" "$DIR/lib/$name" ;;
  esac
done
cp -L /lib64/ld-linux-x86-64.so.2 "$DIR/glibc/"
git -C "$ROOT" rev-parse --short HEAD > "$DIR/commit"
tar -C "$DIR" -cf - . | xz -T2 -6 > "$DIR.tar.xz"
echo "bundle: $DIR ($(du -sh "$DIR" | cut -f1); $(du -sh "$DIR.tar.xz" | cut -f1) as $DIR.tar.xz): $(ls "$DIR/lib" | tr '\n' ' ')"

#!/bin/bash
# unit-lint.sh - the unit files' gate, without a running systemd:
#   1. `systemd-analyze verify` must print nothing (it exits 0 even on "Unknown key" or
#      "Failed to parse", so its output is what is checked);
#   2. `systemd-analyze security --offline=yes` prints hearthd.service's exposure.
# Both run in a private mount namespace with a tmpfs on /run/systemd, which systemd-analyze
# would otherwise write to. ExecStart=/ExecReload= name /usr/bin/hearthd, which verify needs to
# exist: the copies checked here point at BUILD_DIR's binaries instead.
# Usage: unit-lint.sh BUILD_DIR     Output: "verify: <output or nothing>" / the exposure line.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(realpath "${1:?usage: unit-lint.sh BUILD_DIR}")
if [ -z "${HEARTH_LINT_INNER:-}" ]; then
  exec env HEARTH_LINT_INNER=1 unshare --mount --propagation private -- "$0" "$@"
fi
mount -t tmpfs -o mode=755 tmpfs /run/systemd
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
for u in hearthd.service hearthd.socket; do
  sed "s|/usr/bin/|$BUILD/|g" "$HERE/../../Units/$u" > "$T/$u"
done
out=$(cd "$T" && systemd-analyze verify --no-pager "$T/hearthd.service" "$T/hearthd.socket" 2>&1 || true)
echo "verify-begin"
[ -n "$out" ] && echo "$out"
echo "verify-end"
systemd-analyze security --offline=yes --no-pager "$T/hearthd.service" 2>&1 | grep 'Overall exposure'

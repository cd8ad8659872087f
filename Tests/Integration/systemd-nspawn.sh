#!/bin/bash
# systemd-nspawn.sh - boots a real systemd (PID 1) in a systemd-nspawn container whose root is an
# overlay of this machine's own / (nothing on the host is written), installs Hearth there with
# ./install, and runs nspawn-driver.sh inside as a oneshot unit. Exit status = the driver's.
#
# Usage: systemd-nspawn.sh BUILD_DIR [WORKDIR]   (root; needs systemd-container: ./bootstrap)
# Results: WORKDIR/share/driver.log (TAP-like), journal excerpts beside it.
# Clean-up is unconditional: the overlay lives in a private mount namespace that vanishes with
# this script, and the throw-away cgroup is removed on exit, success or not.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD=$(realpath "${1:?usage: systemd-nspawn.sh BUILD_DIR [WORKDIR]}")
W=$(realpath -m "${2:-/tmp/hearth-nspawn-$$}")
if [ -z "${HEARTH_NSPAWN_INNER:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "systemd-nspawn.sh: must run as root (it mounts an overlay and boots a container)" >&2; exit 2; }
  command -v systemd-nspawn >/dev/null || { echo "systemd-nspawn.sh: systemd-nspawn is missing: apt-get install systemd-container (./bootstrap does)" >&2; exit 2; }
  rm -rf "$W"; mkdir -p "$W/share" "$W/ov" "$W/root"
  cp "$HERE/nspawn-driver.sh" "$W/share/driver.sh"
  chmod -R a+rX "$W/share"
  # Without systemd as the host's PID 1, nspawn splits its own cgroup into supervisor/ and
  # payload/: run it from a throw-away cgroup so they land below it, removed afterwards.
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then CGS=(/sys/fs/cgroup); else CGS=(/sys/fs/cgroup/unified /sys/fs/cgroup/systemd); fi
  CG=hearth-nspawn-$$
  cleanup() {
    for h in "${CGS[@]}"; do
      [ -d "$h/$CG" ] || continue
      echo $$ > "$h/cgroup.procs" 2>/dev/null || true
      # Anything still inside (it should not be) is killed before the cgroup goes.
      for p in $(find "$h/$CG" -name cgroup.procs -exec cat {} + 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
      find "$h/$CG" -depth -type d -exec rmdir {} + 2>/dev/null || echo "warning: could not remove $h/$CG" >&2
    done
    mountpoint -q "$W/root" 2>/dev/null || rm -rf "$W/ov" "$W/root"
  }
  trap cleanup EXIT
  for h in "${CGS[@]}"; do [ -d "$h" ] && mkdir -p "$h/$CG" && echo $$ > "$h/$CG/cgroup.procs"; done
  set +e
  env HEARTH_NSPAWN_INNER=1 unshare --mount --propagation private -- "$0" "$BUILD" "$W"
  RC=$?
  set -e
  exit $RC
fi

# --- inside the private mount namespace: every mount below disappears with it ---
mount -t tmpfs -o mode=755 tmpfs /run/systemd
mount -t tmpfs -o mode=755 tmpfs "$W/ov"
mkdir -p "$W/ov/upper" "$W/ov/work"
mount -t overlay overlay -o "lowerdir=/,upperdir=$W/ov/upper,workdir=$W/ov/work" "$W/root"
R="$W/root"
# A clean slate in the container: no state, socket or settings a host run may have left.
rm -rf "$R/var/lib/hearth" "$R/run/hearth" "$R/etc/hearth" "$R/etc/default/hearthd"
DESTDIR="$R" PREFIX=/usr BUILD_DIR="$BUILD" "$REPO/install" >/dev/null
# The test's boot target, its driver, and a drop-in that makes the daemon quick to test:
# short leases, a 6 s watchdog, and the fault-injection hook (SIGUSR2 wedges the work loop).
mkdir -p "$R/etc/systemd/system/hearthd.service.d" "$R/srv/hearth-test"
cat > "$R/etc/systemd/system/hearthd.service.d/test.conf" <<'CONF'
[Service]
ExecStart=
ExecStart=/usr/bin/hearthd run --socket /run/hearth/hearth.sock --log-level-file /etc/hearth/log-level --node-name nspawn --heartbeat-seconds 0.5 --lease-seconds 5 --grace-seconds 10 --allow-test-hang
WatchdogSec=6s
CONF
cat > "$R/etc/systemd/system/hearth-test.target" <<'UNIT'
[Unit]
Description=Hearth integration test: basic system plus the driver
Requires=basic.target
After=basic.target
Wants=hearth-test-driver.service
AllowIsolate=yes
UNIT
cat > "$R/etc/systemd/system/hearth-test-driver.service" <<'UNIT'
[Unit]
Description=Runs the Hearth integration driver, then ends the container with its status
After=basic.target
SuccessAction=exit-force
FailureAction=exit-force

[Service]
Type=oneshot
ExecStart=/bin/bash /share/driver.sh
StandardOutput=append:/share/driver.log
StandardError=append:/share/driver.log
TimeoutStartSec=200s
UNIT
set +e
timeout --kill-after=10 240 systemd-nspawn --quiet --directory="$R" --machine=hearth-test \
  --register=no --keep-unit --link-journal=no --private-network --console=pipe \
  --bind="$W/share:/share" \
  --boot -- systemd.unit=hearth-test.target systemd.show_status=no >"$W/console.log" 2>&1
RC=$?
set -e
echo "nspawn exit status: $RC"
cat "$W/share/driver.log" 2>/dev/null || { echo "no driver.log; console:"; tail -60 "$W/console.log"; }
exit $RC

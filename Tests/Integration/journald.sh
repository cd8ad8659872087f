#!/bin/bash
# journald.sh - runs a real systemd-journald (no PID 1 needed) in a private mount namespace, runs
# a command whose stdout/stderr are a journal stream (as systemd gives a service: JOURNAL_STREAM
# set to that stream's DEV:INODE), and keeps the journal files for `journalctl -D`.
#
# Usage: journald.sh OUTDIR UNIT -- CMD [ARGS...]   (root)
#   OUTDIR gets journal/ (query: journalctl -D OUTDIR/journal -u UNIT ...), journald.log, cmd.out.
#   CMD runs in the cgroup <cgroup2>/hearth-test.slice/UNIT, so journald stamps _SYSTEMD_UNIT=UNIT
#   and `-u UNIT` works as on a real host; the cgroup is removed afterwards.
# The namespace gets tmpfs on /run and /var/log/journal and its own journald.conf (volatile, no
# rate limit); the host's journal and /run are never touched.
set -euo pipefail
OUT=$(realpath -m "$1"); UNIT=$2; shift 2
[ "${1:-}" = "--" ] && shift
mkdir -p "$OUT"
if [ -z "${HEARTH_JOURNALD_INNER:-}" ]; then
  exec env HEARTH_JOURNALD_INNER=1 unshare --mount --propagation private -- "$0" "$OUT" "$UNIT" -- "$@"
fi
mount -t tmpfs -o mode=755 tmpfs /run
[ -d /var/log/journal ] && mount -t tmpfs -o mode=2755 tmpfs /var/log/journal
mkdir -p /run/systemd/journal /run/log/journal /run/hearth-test-etc
printf '[Journal]\nStorage=volatile\nReadKMsg=no\nRateLimitIntervalSec=0\nRateLimitBurst=0\nForwardToSyslog=no\nForwardToWall=no\nAudit=no\n' \
  > /run/hearth-test-etc/journald.conf
mount --bind /run/hearth-test-etc/journald.conf /etc/systemd/journald.conf
SYSTEMD_LOG_TARGET=console /lib/systemd/systemd-journald >"$OUT/journald.log" 2>&1 &
JPID=$!
for _ in $(seq 1 50); do [ -S /run/systemd/journal/stdout ] && [ -S /run/systemd/journal/socket ] && break; sleep 0.1; done
[ -S /run/systemd/journal/socket ] || { echo "journald did not come up"; cat "$OUT/journald.log"; kill "$JPID"; exit 1; }
CGROOT=/sys/fs/cgroup/unified; [ -f /sys/fs/cgroup/cgroup.controllers ] && CGROOT=/sys/fs/cgroup
CG=$CGROOT/hearth-test.slice/$UNIT
mkdir -p "$CG"
set +e
# systemd-cat makes stdout/stderr a journald stream; JOURNAL_STREAM names it, as systemd does.
sh -c 'cg=$0; id=$1; shift; echo $$ > "$cg/cgroup.procs" && exec systemd-cat -t "$id" \
  sh -c '"'"'export JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2); exec "$@"'"'"' sh "$@"' \
  "$CG" "${UNIT%.service}" "$@" >"$OUT/cmd.out" 2>&1
RC=$?
set -e
journalctl --sync 2>/dev/null || true
kill -TERM "$JPID"; wait "$JPID" || true
# Whatever the command left behind (a daemon, after a failure) is killed before the cgroup goes.
for p in $(cat "$CG/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
for _ in $(seq 1 50); do [ -z "$(cat "$CG/cgroup.procs" 2>/dev/null)" ] && break; sleep 0.1; done
rmdir "$CG" "$(dirname "$CG")" 2>/dev/null || echo "warning: could not remove $CG"
rm -rf "$OUT/journal"; cp -a /run/log/journal "$OUT/journal"
exit $RC

#!/bin/bash
# nspawn-driver.sh - runs INSIDE the container booted by systemd-nspawn.sh (as a oneshot unit),
# with Hearth installed by ./install. Drives hearthd through systemd and the hearth CLI and prints
# one "ok"/"not ok" line per check; exit status = number of failed checks.
set -u
FAIL=0; PASS=0
ok()    { PASS=$((PASS+1)); echo "ok - $*"; }
nok()   { FAIL=$((FAIL+1)); echo "not ok - $*"; }
check() { local d="$1"; shift; if "$@"; then ok "$d"; else nok "$d"; fi; }
prop()  { systemctl show -P "$1" hearthd.service; }
waitfor() { # waitfor SECONDS CMD... : polls every 0.25 s
  local end=$((SECONDS + $1)); shift
  while ! "$@"; do [ $SECONDS -ge $end ] && return 1; sleep 0.25; done
}
jobfield() { hearth show "$1" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
jc() { journalctl --no-pager -u hearthd.service "$@"; }
export -f prop waitfor jobfield jc   # the checks run them in `bash -c`

echo "# $(systemctl --version | head -1); virt=$(systemd-detect-virt); PID 1=$(cat /proc/1/comm)"
check "user hearth and group hearth-admin exist (sysusers.d)" bash -c 'getent passwd hearth >/dev/null && getent group hearth-admin >/dev/null'
check "/etc/hearth/log-level made by tmpfiles.d" test "$(cat /etc/hearth/log-level 2>/dev/null)" = info

# Limits the transient units of the jobs must carry (checked with systemctl show below), and one
# simulated GPU for a job to hold.
mkdir -p /etc/hearth
cat > /etc/hearth/hearthd.toml <<'TOML'
simulated_gpus = 1

[isolation]
memory_max_mib = 512
tasks_max = 256
cpu_quota_percent = 150
TOML
systemctl start hearthd.socket
check "hearthd.socket is listening" systemctl is-active -q hearthd.socket
check "socket file: mode 0660, group hearth" test "$(stat -c '%a %G' /run/hearth/hearth.sock)" = "660 hearth"
check "hearthd.service not started before the first call" bash -c '! systemctl is-active -q hearthd.service'

WHO=$(hearth whoami 2>&1)
check "the first hearth call starts the service and is answered ($WHO)" bash -c "grep -q 'root (uid 0), admin' <<<'$WHO'"
check "hearthd.service active" waitfor 5 systemctl is-active -q hearthd.service
echo "# $(systemctl show hearthd.service -p Type,NotifyAccess,MainPID,WatchdogUSec,StatusText,User | tr '\n' ' ')"
check "systemctl status shows the STATUS= line" bash -c \
  'systemctl status hearthd.service --no-pager | grep -Eq "Status: \"[0-9]+ jobs? running; node nspawn up; scheduler (leader|standby)\""'

# READY=1 came only after migrations and the listening socket: PID 1's "Started" entry for the
# unit must follow hearthd's "ready" entry, and the unit went active well after its process started.
READY_US=$(jc -o json MESSAGE=ready | python3 -c 'import json,sys; print(min(int(json.loads(l)["__MONOTONIC_TIMESTAMP"]) for l in sys.stdin))')
STARTED_US=$(journalctl --no-pager -o json _PID=1 UNIT=hearthd.service MESSAGE_ID=39f53479d3a045ac8e11786248231fbf \
  | python3 -c 'import json,sys; print(min(int(json.loads(l)["__MONOTONIC_TIMESTAMP"]) for l in sys.stdin))')
echo "# hearthd 'ready' at ${READY_US} us, PID 1 'Started' at ${STARTED_US} us (monotonic)"
check "the unit became active only after READY=1" test "${READY_US:-9999999999999}" -le "${STARTED_US:-0}"
check "migrations ran before READY (journal order)" bash -c \
  "jc -o json | python3 -c 'import json,sys
e=[json.loads(l) for l in sys.stdin]
m=[int(x[\"__MONOTONIC_TIMESTAMP\"]) for x in e if str(x.get(\"MESSAGE\",\"\")).startswith(\"applied migration\")]
r=[int(x[\"__MONOTONIC_TIMESTAMP\"]) for x in e if x.get(\"MESSAGE\")==\"ready\"]
sys.exit(0 if m and r and max(m) < min(r) else 1)'"

# A real training job, from data made by the real worker.
mkdir -p /srv/hearth-test
python3 -c 'import random; w="the quick brown fox jumps over a lazy dog to be or not".split(); print(" ".join(random.choice(w) for _ in range(5000)))' > /srv/hearth-test/input.txt
hearth-worker prepare /srv/hearth-test/input.txt --out /srv/hearth-test/data >/dev/null 2>&1
chmod -R a+rX /srv/hearth-test
cat > /srv/hearth-test/spec.json <<'SPEC'
{"model": {"layers": 1, "heads": 2, "width": 16, "context": 8}, "data": [{"path": "/srv/hearth-test/data"}], "batch_size": 4,
 "steps": 50000000, "seed": 7, "threads": 1, "checkpoint_interval": 5000, "log_interval": 1000}
SPEC
# hearthd.service runs as user hearth (no root, no capabilities): without transient units it
# runs only its own user's jobs, so the job is hearth's (root's would be refused, saying why).
JOB=$(runuser -u hearth -- hearth submit --kind train --name nspawn /srv/hearth-test/spec.json | awk '/submitted job/ {print $3}')
echo "# submitted job ${JOB:-?}"
check "job $JOB runs" waitfor 90 bash -c "[ \"\$(hearth show $JOB --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"state\"])')\" = running ]"
[ "$(jobfield "$JOB" state)" = running ] || { hearth show "$JOB" 2>&1 | sed 's/^/# /'; jc -o cat | tail -25 | sed 's/^/# /'; }
check "STATUS= counts the running job" waitfor 10 bash -c '[[ "$(prop StatusText)" == "1 job running;"* ]]'
check "a checkpoint is recorded" waitfor 40 bash -c "journalctl --no-pager -u hearthd JOB_ID=$JOB HEARTH_EVENT=checkpoint -o cat | grep -q checkpoint"
journalctl --sync
check "journalctl -u hearthd JOB_ID=$JOB: submitted and started" bash -c "
  jc JOB_ID=$JOB HEARTH_EVENT=submitted -o cat | grep -q 'job submitted' &&
  jc JOB_ID=$JOB HEARTH_EVENT=started -o cat | grep -q 'job started'"
check "entries carry NODE= and ACCOUNT=, PRIORITY= by level" bash -c "
  jc JOB_ID=$JOB NODE=nspawn -o cat | grep -q 'job started' &&
  jc JOB_ID=$JOB ACCOUNT=hearth HEARTH_EVENT=submitted -o cat | grep -q submitted &&
  jc JOB_ID=$JOB HEARTH_EVENT=started PRIORITY=6 -o cat | grep -q started"
jc JOB_ID="$JOB" -o json | head -3 > /share/job-entries.json

# Reload: the settings file changes, `systemctl reload` returns once the daemon has re-read it.
PID1=$(prop MainPID)
echo debug > /etc/hearth/log-level
check "systemctl reload (ExecReload waits for the daemon)" systemctl reload hearthd.service
check "reload kept the main process" test "$(prop MainPID)" = "$PID1"
# The daemon logs the new level before it tells systemd it is ready again; journald may index
# that entry a moment after systemctl returned (a CI run under load missed it), so wait for it.
check "the reload took effect (its journal entry)" waitfor 10 bash -c "jc -o cat HEARTH_EVENT=reloaded | grep -q 'log level debug'"
echo info > /etc/hearth/log-level; systemctl reload hearthd.service

# Watchdog: the hook wedges the work loop; systemd must kill and restart hearthd, and the job
# it was running must be requeued and run again, not lost.
ATTEMPT1=$(jobfield "$JOB" attempt)
kill -USR2 "$PID1"
check "the watchdog fires on the wedged daemon" waitfor 30 bash -c "journalctl --no-pager -u hearthd -o cat | grep -qi 'watchdog timeout'"
check "systemd restarts it (NRestarts >= 1, new MainPID)" waitfor 30 bash -c \
  "[ \"\$(systemctl show -P NRestarts hearthd.service)\" -ge 1 ] && systemctl is-active -q hearthd.service && [ \"\$(systemctl show -P MainPID hearthd.service)\" != $PID1 ]"
check "the job is requeued and runs again (a new attempt)" waitfor 90 bash -c \
  "[ \"\$(hearth show $JOB --json | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j[\"state\"], j[\"attempt\"] > $ATTEMPT1)')\" = 'running True' ]"
# The restarted agent requeues its own orphan at start-up; on a loaded machine its lease (5 s
# here) can lapse first and the leader requeues it. Either way the journal names the job.
# (journalctl ORs two matches of one field.)
check "the restarted daemon logged the requeue for that job" waitfor 10 bash -c \
  "jc JOB_ID=$JOB HEARTH_EVENT=orphan-requeued HEARTH_EVENT=lease-expired -o cat | grep -q requeued"
jc JOB_ID="$JOB" HEARTH_EVENT=orphan-requeued HEARTH_EVENT=lease-expired -o cat | sed 's/^/# requeue: /' | head -3

# Isolation: each attempt is a transient unit in hearth-jobs.slice, as the volunteer's own uid,
# with the computed limits; it cannot write /etc; cancel leaves no process; time limits hold.
id hearth-t-alice >/dev/null 2>&1 || useradd --no-create-home --shell /usr/sbin/nologin hearth-t-alice
usermod -a -G hearth hearth-t-alice
ALICE=$(id -u hearth-t-alice)
cat > /srv/hearth-test/cmd.json <<'SPEC'
{"shell": "touch /etc/hearth-t-evil; echo wrote-etc=$?; sleep 4242 & setsid sh -c 'sleep 4243 & sleep 4244' & sleep 4245"}
SPEC
chmod a+r /srv/hearth-test/cmd.json
CJOB=$(runuser -u hearth-t-alice -- hearth submit --kind command --gpus 1 --time-limit 600 /srv/hearth-test/cmd.json | awk '/submitted job/ {print $3}')
UNIT=hearth-job-$CJOB-1.service
echo "# command job ${CJOB:-?} as hearth-t-alice (uid $ALICE), unit $UNIT"
check "the command job runs as a transient unit" waitfor 90 systemctl is-active -q "$UNIT"
echo "# $(systemctl show "$UNIT" -p Slice,User,DynamicUser,MemoryMax,TasksMax,CPUQuotaPerSecUSec,DeviceAllow,DevicePolicy,RuntimeMaxUSec,KillMode,ProtectSystem,NoNewPrivileges,PrivateTmp,ReadWritePaths | tr '\n' ' ')"
check "unit in hearth-jobs.slice" test "$(systemctl show -P Slice "$UNIT")" = hearth-jobs.slice
check "its main process runs as the volunteer's uid" waitfor 10 bash -c \
  "grep -Eq \"^Uid:\s+$ALICE\s+$ALICE\s+$ALICE\s+$ALICE\" /proc/\$(systemctl show -P MainPID $UNIT)/status"
check "User=, MemoryMax=, TasksMax=, CPU quota, RuntimeMaxSec= as computed" bash -c "
  [ \"\$(systemctl show -P User $UNIT)\" = hearth-t-alice ] && [ \"\$(systemctl show -P MemoryMax $UNIT)\" = 536870912 ] &&
  [ \"\$(systemctl show -P TasksMax $UNIT)\" = 256 ] && [ \"\$(systemctl show -P CPUQuotaPerSecUSec $UNIT)\" = 1.500000s ] &&
  [ \"\$(systemctl show -P RuntimeMaxUSec $UNIT)\" = 10min ]"
check "DeviceAllow= only its GPU (and the control devices), DevicePolicy=closed" bash -c "
  systemctl show -P DeviceAllow $UNIT | grep -q '/dev/nvidia0 rw' && ! systemctl show -P DeviceAllow $UNIT | grep -q nvidia1 &&
  [ \"\$(systemctl show -P DevicePolicy $UNIT)\" = closed ]"
check "KillMode=control-group, ProtectSystem=strict, NoNewPrivileges, PrivateTmp" bash -c "
  [ \"\$(systemctl show -P KillMode $UNIT)\" = control-group ] && [ \"\$(systemctl show -P ProtectSystem $UNIT)\" = strict ] &&
  [ \"\$(systemctl show -P NoNewPrivileges $UNIT)\" = yes ] && [ \"\$(systemctl show -P PrivateTmp $UNIT)\" = yes ]"
check "the job could not write /etc" bash -c "waitfor 20 bash -c 'hearth logs $CJOB 2>/dev/null | grep -q wrote-etc=1' && [ ! -e /etc/hearth-t-evil ]"
check "its output reaches journald with the job's fields" bash -c "jc JOB_ID=$CJOB HEARTH_SOURCE=worker -o cat | grep -q wrote-etc"
check "the setsid()ed processes run inside the unit" waitfor 10 bash -c "[ \$(pgrep -c -f 'sleep 424[2-5]') -ge 4 ]"
hearth cancel "$CJOB" >/dev/null
check "cancel: the job ends cancelled" waitfor 90 bash -c "[ \"\$(jobfield $CJOB state)\" = cancelled ]"
check "cancel leaves no process of the job (not even the setsid()ed ones)" waitfor 10 bash -c "! pgrep -f 'sleep 424[2-5]' >/dev/null"
check "the unit is gone" waitfor 10 bash -c "! systemctl is-active -q $UNIT"
echo '{"argv": ["/bin/sleep", "300"]}' > /srv/hearth-test/sleep.json; chmod a+r /srv/hearth-test/sleep.json
TJOB=$(runuser -u hearth-t-alice -- hearth submit --kind command --time-limit 2 /srv/hearth-test/sleep.json | awk '/submitted job/ {print $3}')
check "a job past its time limit is stopped and reported so" waitfor 90 bash -c \
  "[ \"\$(jobfield $TJOB state)\" = failed ] && hearth show $TJOB --json | grep -q 'time limit of 2 s reached'"
# An account with no Unix user on the node runs under DynamicUser=: ghost submits while the node
# is drained, then loses its user before the job starts.
id hearth-t-ghost >/dev/null 2>&1 || useradd --no-create-home --shell /usr/sbin/nologin hearth-t-ghost
usermod -a -G hearth hearth-t-ghost
hearth node drain nspawn >/dev/null
GJOB=$(runuser -u hearth-t-ghost -- hearth submit --kind command /srv/hearth-test/sleep.json | awk '/submitted job/ {print $3}')
userdel hearth-t-ghost
hearth node resume nspawn >/dev/null
GUNIT=hearth-job-$GJOB-1.service
check "an account unknown to the node runs under DynamicUser= (a uid of systemd's range)" waitfor 150 bash -c "
  systemctl is-active -q $GUNIT && [ \"\$(systemctl show -P DynamicUser $GUNIT)\" = yes ] &&
  u=\$(awk '/^Uid:/ {print \$2}' /proc/\$(systemctl show -P MainPID $GUNIT)/status) && [ \$u -ge 61184 ] && [ \$u -le 65519 ]"
systemctl is-active -q "$GUNIT" || { echo "# ghost job: $(hearth show "$GJOB" --json 2>&1 | head -c 400)"; jc JOB_ID="$GJOB" -o cat | tail -6 | sed 's/^/# /'; }
hearth cancel "$GJOB" >/dev/null

# Fleet artifacts under transient units (Docs/artifacts.md): alice pushes a dataset; her training
# job reads it through the read-only bind of hearthd's inputs into its unit; hearthd reads the
# unit's checkpoints (CAP_DAC_READ_SEARCH, kept from its children) and stores them in the fleet;
# with the unit's directory gone, the next attempt resumes from the fleet's checkpoint.
caps() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
HPID=$(prop MainPID)
echo "# hearthd $HPID: CapEff=$(caps "$HPID" CapEff) CapAmb=$(caps "$HPID" CapAmb) CapPrm=$(caps "$HPID" CapPrm); postgres: $(pgrep -a postgres | head -3 | tr '\n' ' ')"
check "hearthd holds CAP_DAC_READ_SEARCH and passes it on to nothing (ambient set empty)" bash -c \
  "[ \"$(caps "$HPID" CapEff)\" = 0000000000000004 ] && [ \"$(caps "$HPID" CapAmb)\" = 0000000000000000 ]"
PGPIDS=$(pgrep -u hearth -x postgres | tr '\n' ' ')
check "its PostgreSQL has no capability" bash -c "[ -n '$PGPIDS' ] && for p in $PGPIDS; do [ \"\$(awk '/^CapEff:/ {print \$2}' /proc/\$p/status)\" = 0000000000000000 ] || exit 1; done"
PUSH=$(runuser -u hearth-t-alice -- hearth dataset push /srv/hearth-test/data --name nspawn-corpus 2>&1); echo "# $PUSH"
# Raw text pushed by alice is prepared by a job of hers (a transient unit) into a dataset version.
RAW=$(runuser -u hearth-t-alice -- hearth dataset push /srv/hearth-test/input.txt --name nspawn-raw 2>&1); echo "# $RAW"
PJOB=$(awk '/prepares it/ {for (i = 1; i <= NF; i++) if ($i == "job") {print $(i+1); exit}}' <<<"$RAW")
check "raw text is prepared by a job in a unit into nspawn-raw@1" waitfor 120 bash -c \
  "[ \"\$(jobfield ${PJOB:-0} state)\" = succeeded ] && runuser -u hearth-t-alice -- hearth dataset show nspawn-raw | grep -q 'nspawn-raw@1'"
[ "$(jobfield "${PJOB:-0}" state 2>/dev/null)" = succeeded ] || jc JOB_ID="${PJOB:-0}" -o cat | tail -5 | sed 's/^/# /'
sed 's|"data": \[{"path": "/srv/hearth-test/data"}\]|"data": [{"dataset": "nspawn-corpus"}]|; s|"checkpoint_interval": 5000|"checkpoint_interval": 300|' \
  /srv/hearth-test/spec.json > /srv/hearth-test/fleet.json
chmod a+r /srv/hearth-test/fleet.json
AJOB=$(runuser -u hearth-t-alice -- hearth submit --kind train --name fleet /srv/hearth-test/fleet.json | awk '/submitted job/ {print $3}')
AUNIT=hearth-job-$AJOB-1.service
echo "# fleet-dataset job ${AJOB:-?} as hearth-t-alice"
check "her job on a fleet dataset runs in its unit" waitfor 90 systemctl is-active -q "$AUNIT"
check "the inputs are bound read-only into the unit's directory" bash -c \
  "systemctl show -P BindReadOnlyPaths $AUNIT | grep -q ':/var/lib/hearth-jobs/$AJOB/inputs'"
# The unit is active from systemd's fork on, while its forked manager (root, every capability) is
# still setting it up: read the capabilities once the worker itself runs (it is exec'd by sh).
waitfor 30 bash -c "[ \"\$(cat /proc/\$(systemctl show -P MainPID $AUNIT)/comm 2>/dev/null)\" = hearth-worker ]"
APID=$(systemctl show -P MainPID "$AUNIT")
echo "# $AUNIT main process $APID: $(cat "/proc/$APID/comm" 2>&1) CapEff=$(caps "$APID" CapEff 2>&1)"
check "the unit's process (hearth-worker) has no capability" bash -c \
  "[ \"\$(cat /proc/$APID/comm)\" = hearth-worker ] && [ \"\$(awk '/^CapEff:/ {print \$2}' /proc/$APID/status)\" = 0000000000000000 ]"
check "its checkpoints, alice's files, are stored in the fleet" waitfor 90 bash -c \
  "jc JOB_ID=$AJOB HEARTH_EVENT=checkpoint_stored -o cat | grep -q 'stored in the fleet'"
jc JOB_ID="$AJOB" -o cat | tail -4 | sed 's/^/# /'
systemctl stop hearthd.service
rm -rf "/var/lib/hearth-jobs/$AJOB"
systemctl start hearthd.service
check "with its directory gone, the next attempt resumes from the fleet's checkpoint" waitfor 90 bash -c \
  "jc JOB_ID=$AJOB -o cat | grep -q \"resuming from the fleet's checkpoint at step\""
check "in a unit of its own again" waitfor 60 bash -c \
  "systemctl list-units --state=active --no-legend 'hearth-job-$AJOB-*' | grep -v 'hearth-job-$AJOB-1.service' | grep -q running"
jc JOB_ID="$AJOB" -o short-monotonic | tail -14 | cut -c1-220 | sed 's/^/# /'
echo "# units: $(systemctl list-units --all --no-legend 'hearth-job-*' | awk '{print $1, $3, $4}' | tr '\n' ';') job: $(hearth show "$AJOB" --json | head -c 300)"
hearth cancel "$AJOB" >/dev/null

# Stop: graceful, Result=success, no worker left behind, and the job is requeued.
check "systemctl stop" systemctl stop hearthd.service
check "Result=success after stop" test "$(prop Result)" = success
check "no hearth-worker process left" bash -c '! pgrep -x hearth-worker >/dev/null'
check "the stopped node's job was requeued to resume (HEARTH_EVENT=preempted)" bash -c \
  "jc JOB_ID=$JOB HEARTH_EVENT=preempted -o cat | grep -q preempted"
check "the worker's own output is in the journal with its job's fields" bash -c \
  "jc JOB_ID=$JOB HEARTH_SOURCE=worker -o cat | grep -q 'hearth-worker: '"
check "the socket stays (owned by hearthd.socket)" bash -c 'systemctl is-active -q hearthd.socket && [ -S /run/hearth/hearth.sock ]'

# Degraded, not dead: a fleet database of its own (a second PostgreSQL, as user hearth) that the
# test stops under the running daemon. The unit must stay active (the watchdog, 6 s here, keeps
# being fed), STATUS= must say "degraded", hearth must answer at once, and all must come back
# on their own when the database returns.
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
mkdir -p /srv/fleetdb /run/fleetdb && chown hearth:hearth /srv/fleetdb /run/fleetdb
runuser -u hearth -- "$PGBIN/initdb" -D /srv/fleetdb/data -U hearth --auth-local=trust --no-sync >/dev/null 2>&1
fleetdb() { runuser -u hearth -- "$PGBIN/pg_ctl" -D /srv/fleetdb/data -l /srv/fleetdb/server.log -w "$@" >/dev/null 2>&1; }
fleetdb -o "-k /run/fleetdb -c listen_addresses=''" start
runuser -u hearth -- "$PGBIN/createdb" -h /run/fleetdb hearth
echo 'HEARTH_DATABASE_URL=host=/run/fleetdb dbname=hearth user=hearth' > /etc/default/hearthd
systemctl restart hearthd.service
check "hearthd runs on the fleet database" waitfor 30 bash -c 'systemctl is-active -q hearthd.service && hearth whoami >/dev/null 2>&1'
RESTARTS=$(prop NRestarts); MAIN=$(prop MainPID)
fleetdb -m immediate stop
check "STATUS= says degraded: database unreachable" waitfor 15 bash -c '[[ "$(prop StatusText)" == "degraded: database unreachable since "* ]]'
HEALTH=$(python3 - <<'PY'
import socket
s = socket.socket(socket.AF_UNIX); s.connect("/run/hearth/hearth.sock")
s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = b""
while chunk := s.recv(65536): data += chunk
head, body = data.decode().split("\r\n\r\n", 1)
import json; doc = json.loads(body)
print(head.split("\r\n")[0], "status=" + doc["status"], "reachable=" + str(doc["database"]["reachable"]), doc["status_line"][:60])
PY
)
echo "# /health: $HEALTH"
check "GET /health answers 503 degraded" bash -c "grep -q ' 503 .*status=degraded reachable=False degraded: database unreachable' <<<'$HEALTH'"
START=$(date +%s%N); OUT=$(hearth queue 2>&1); RC=$?; END=$(date +%s%N)
echo "# hearth queue during the outage (rc $RC, $(( (END - START) / 1000000 )) ms): $OUT"
check "hearth answers at once with the sentence (exit 3)" bash -c "[ $RC = 3 ] && [ $(( (END - START) / 1000000 )) -lt 3000 ] && grep -q 'the fleet database is unreachable since' <<<'$OUT'"
sleep 8
check "the unit stays active through the outage (no watchdog restart)" bash -c \
  "systemctl is-active -q hearthd.service && [ \"\$(prop NRestarts)\" = $RESTARTS ] && [ \"\$(prop MainPID)\" = $MAIN ]"
fleetdb -o "-k /run/fleetdb -c listen_addresses=''" start
check "it recovers on its own when the database returns" waitfor 20 bash -c \
  '[[ "$(prop StatusText)" != degraded* ]] && hearth whoami >/dev/null 2>&1'
check "the outage and its end are in the journal" bash -c \
  "jc -o cat HEARTH_EVENT=database-unreachable | grep -q unreachable && jc -o cat HEARTH_EVENT=database-reachable | grep -q reachable"
systemctl stop hearthd.service
fleetdb -m fast stop
rm -f /etc/default/hearthd

systemctl status hearthd.service --no-pager -n 0 > /share/status.txt 2>&1
jc JOB_ID="$JOB" -o verbose > /share/job-journal.txt 2>&1
jc -o short-precise > /share/hearthd-journal.txt 2>&1
journalctl --no-pager -b -p warning -o short-precise > /share/boot-warnings.txt 2>&1
systemd-analyze security hearthd.service --no-pager > /share/security-online.txt 2>&1
echo "# online exposure: $(grep 'Overall exposure' /share/security-online.txt)"
echo "# $PASS passed, $FAIL failed"
[ $FAIL -gt 100 ] && FAIL=100
exit $FAIL

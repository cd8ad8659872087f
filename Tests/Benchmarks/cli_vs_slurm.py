"""Times hearth and Slurm as whole processes in one run (called by cli.sh; not a test).

Every latency pair is interleaved (hearth, Slurm, hearth, ...) so both see the same machine
load, and every figure is printed beside its peer as a ratio.
"""
import glob, http.client, json, os, shutil, socket, statistics, subprocess, sys, time

hearth, work = sys.argv[1], sys.argv[2]
calls, jobs, gaps = int(os.environ.get("CALLS", 200)), int(os.environ.get("JOBS", 1000)), int(os.environ.get("GAPS", 100))
env = dict(os.environ, HEARTH_SOCKET=work + "/hearth.sock")
rows = []


# Every command both sides run is started with posix_spawn (glibc's vfork-style clone) and reaped
# with waitpid, the same for hearth and Slurm. subprocess.run added 0.13-0.15 ms more to each
# (/bin/true, 500 runs each way, interleaved, 2026-12-07), which pulled every ratio towards 1.
devnull = os.open(os.devnull, os.O_RDWR)
paths = {}


def spawn(args, stdout_fd):
    path = paths.get(args[0])
    if path is None:
        path = paths[args[0]] = shutil.which(args[0], path=env["PATH"]) or args[0]
    return os.posix_spawn(path, args, env, file_actions=[
        (os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, stdout_fd, 1)])


def reap(pid, args):
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise subprocess.CalledProcessError(code, args)


def run(args):
    reap(spawn(args, devnull), args)


def out(args):
    r, w = os.pipe()
    try:
        pid = spawn(args, w)
    finally:
        os.close(w)
    chunks = []
    with os.fdopen(r, "rb") as f:
        for chunk in iter(lambda: f.read(65536), b""):
            chunks.append(chunk)
    reap(pid, args)
    return b"".join(chunks).decode()


def timed(args):
    t = time.perf_counter()
    run(args)
    return (time.perf_counter() - t) * 1000


def stats(samples):
    s = sorted(samples)
    return statistics.median(s), s[max(0, int(len(s) * 0.99) - 1)]


def pair(name, a, b, n=calls, afresh=False):
    """Interleaves n runs of command a (hearth) and b (Slurm); records median and p99.

    afresh: hearthd reads every listing afresh. forget() drops the page it keeps before each
    Slurm command (so the daemon then idles as long as otherwise), then a runs after b."""
    sa, sb = [], []
    for _ in range(n):
        if afresh:
            forget()
            sb.append(timed(b))
            sa.append(timed(a))
        else:
            sa.append(timed(a))
            sb.append(timed(b))
    (ma, pa), (mb, pb) = stats(sa), stats(sb)
    rows.append((f"{name}, median (ms, {n} runs)", f"{ma:.1f}", f"{mb:.1f}", ma / mb))
    rows.append((f"{name}, p99 (ms)", f"{pa:.1f}", f"{pb:.1f}", pa / pb))
    print(f"  {name}: hearth {ma:.1f} ms, Slurm {mb:.1f} ms (median)", flush=True)


def forget():
    """Drops the listing pages hearthd keeps (Docs/queue.md, "Listings a node keeps"): any write
    through its socket does. This one is a cancel of job 0, which does not exist: refused,
    nothing changes."""
    c = UnixHTTP("hearthd")
    c.request("POST", "/v1/jobs/0/cancel")
    c.getresponse().read()
    c.close()


class UnixHTTP(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(work + "/hearth.sock")


def api(method, path, body=None):
    c = UnixHTTP("hearthd")
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    if r.status >= 300:
        raise RuntimeError(f"{method} {path}: HTTP {r.status} {data[:300]!r}")
    return json.loads(data)


def hearth_unfinished():
    return len(api("GET", "/v1/jobs?limit=100000"))


def slurm_unfinished():
    return len(out(["squeue", "-h", "-r", "-o", "%i"]).split())


def wait_empty(count, timeout=3600):
    deadline = time.time() + timeout
    while count() > 0:
        if time.time() > deadline:
            raise RuntimeError("jobs did not finish in time")
        time.sleep(0.05)


def psql(sql):
    host = work + "/state/postgres/run"
    return subprocess.run(["psql", "-h", host, "-U", "hearth", "-d", "hearth", "-At", "-c", sql],
                          check=True, capture_output=True, text=True).stdout


def ratio_row(name, h, s, unit="s", fmt="{:.2f}"):
    rows.append((f"{name} ({unit})", fmt.format(h), fmt.format(s), h / s))
    print(f"  {name}: hearth {fmt.format(h)} {unit}, Slurm {fmt.format(s)} {unit}", flush=True)


def part_startup():
    print("start-up and idle queue", flush=True)
    pair("`hearth --help` vs `squeue --help` (start-up, nothing sent)", [hearth, "--help"], ["squeue", "--help"])
    pair("`hearth queue` vs `squeue`, idle", [hearth, "queue"], ["squeue"])
    pair("`hearth queue` (read afresh) vs `squeue`, idle", [hearth, "queue"], ["squeue"], afresh=True)


def part_cold():
    """Commands as a person types them: each after IDLE seconds (default 0.5) with nothing
    running, when the CPUs have gone idle and the caches cold, hearth and Slurm interleaved.
    The other parts run commands back to back."""
    idle = float(os.environ.get("IDLE", "0.5"))
    n = max(5, calls // 4)
    print(f"commands after {idle} s idle ({n} each)", flush=True)
    pending = api("POST", "/v1/arrays", {"kind": "eval", "gpus": 2, "array": f"0-{jobs - 1}"})
    sid = out(["sbatch", "--parsable", f"--array=0-{jobs - 1}", "--begin=now+3600", "--wrap=true", "-o", "/dev/null"]).strip()
    cases = [
        ("`hearth queue` vs `squeue`", [hearth, "queue"], ["squeue"], None),
        ("`hearth queue` (read afresh) vs `squeue`", [hearth, "queue"], ["squeue"], forget),
        ("`hearth nodes` vs `sinfo`", [hearth, "nodes"], ["sinfo"], None),
        ("`hearth submit` vs `sbatch`, left pending", [hearth, "submit", "--kind", "train", "--gpus", "2", work + "/trivial.json"],
         ["sbatch", "--hold", "--wrap=true", "-o", "/dev/null", "-e", "/dev/null"], None),
    ]
    for name, a, b, before in cases:
        sa, sb = [], []
        for _ in range(n):
            if before:
                before()
            time.sleep(idle)
            sa.append(timed(a))
            time.sleep(idle)
            sb.append(timed(b))
        ma, mb = statistics.median(sa), statistics.median(sb)
        rows.append((f"{name} after {idle} s idle, {jobs} pending as one array, median (ms, {n} runs)", f"{ma:.1f}", f"{mb:.1f}", ma / mb))
        print(f"  {name} after {idle} s idle: hearth {ma:.1f} ms, Slurm {mb:.1f} ms (median)", flush=True)
    run([hearth, "cancel", str(pending["id"])])
    run(["scancel", sid])
    run(["scancel", "--state=PENDING", "--user=root"])
    wait_empty(slurm_unfinished)
    for j in api("GET", "/v1/jobs?limit=100000"):
        api("POST", f"/v1/jobs/{j['id']}/cancel")
    wait_empty(hearth_unfinished)


def part_pending():
    print("1,000 pending", flush=True)
    # Pending on both sides: hearth jobs ask for 2 GPUs (the node has 1), Slurm's begin in an hour.
    pending = api("POST", "/v1/arrays", {"kind": "eval", "gpus": 2, "array": f"0-{jobs - 1}"})
    sid = out(["sbatch", "--parsable", f"--array=0-{jobs - 1}", "--begin=now+3600", "--wrap=true", "-o", "/dev/null"]).strip()
    pair(f"`hearth queue --expand` vs `squeue -r`, {jobs} pending (one row each)", [hearth, "queue", "--expand"], ["squeue", "-r"], n=calls // 2)
    pair(f"`hearth queue` vs `squeue`, {jobs} pending as one array (one row)", [hearth, "queue"], ["squeue"], n=calls // 2)
    pair(f"`hearth queue` (read afresh) vs `squeue`, {jobs} pending as one array (one row)", [hearth, "queue"], ["squeue"],
         n=calls // 2, afresh=True)
    run([hearth, "cancel", str(pending["id"])])
    run(["scancel", sid])
    wait_empty(slurm_unfinished)


def part_submissions():
    """The submit path alone: jobs that stay pending on both sides (hearth: 2 GPUs on a 1-GPU node;
    Slurm: held), so nothing else competes for the 2 cores."""
    print(f"{jobs} pending submissions one by one", flush=True)
    t = time.perf_counter()
    for _ in range(jobs):
        run([hearth, "submit", "--kind", "train", "--gpus", "2", work + "/trivial.json"])
    h = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(jobs):
        run(["sbatch", "--hold", "--wrap=true", "-o", "/dev/null", "-e", "/dev/null"])
    sl = time.perf_counter() - t
    ratio_row(f"{jobs} submissions, one command each, jobs left pending", h, sl, fmt="{:.1f}")
    run(["scancel", "--state=PENDING", "--user=root"])
    wait_empty(slurm_unfinished)
    for j in api("GET", "/v1/jobs?limit=100000"):
        api("POST", f"/v1/jobs/{j['id']}/cancel")
    wait_empty(hearth_unfinished)


def part_submit():
    global ok, growth
    print(f"{jobs} submissions one by one, then to the last completion", flush=True)
    # The smallest job on both sides: hearth's command job running /bin/true, Slurm's --wrap=true.
    t = time.perf_counter()
    for _ in range(jobs):
        run([hearth, "submit", "--kind", "command", work + "/true.json"])
    h_sub = time.perf_counter() - t
    wait_empty(hearth_unfinished)
    h_all = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(jobs):
        run(["sbatch", "--wrap=true", "-o", "/dev/null", "-e", "/dev/null"])
    s_sub = time.perf_counter() - t
    wait_empty(slurm_unfinished)
    s_all = time.perf_counter() - t
    ratio_row(f"{jobs} submissions, one command each", h_sub, s_sub, fmt="{:.1f}")
    ratio_row(f"{jobs} smallest jobs, first submission to last completion", h_all, s_all, fmt="{:.1f}")
    ok = int(psql("SELECT count(*) FROM jobs WHERE state = 'succeeded' AND kind = 'command'"))


def part_array():
    print(f"a {jobs}-element array", flush=True)
    # The submitting command alone, ARRAYS times each side (median): arrays that stay pending
    # (hearth: 2 GPUs on a 1-GPU node; Slurm: begin in an hour), each cancelled before the next.
    h_times, s_times = [], []
    for _ in range(int(os.environ.get("ARRAYS", "9"))):
        t = time.perf_counter()
        reply = out([hearth, "submit", "--kind", "command", "--gpus", "2", "--array", f"0-{jobs - 1}", work + "/true.json"])
        h_times.append((time.perf_counter() - t) * 1000)
        run([hearth, "cancel", reply.split()[2]])
        t = time.perf_counter()
        sid = out(["sbatch", "--parsable", f"--array=0-{jobs - 1}", "--begin=now+3600", "--wrap=true", "-o", "/dev/null"]).strip()
        s_times.append((time.perf_counter() - t) * 1000)
        run(["scancel", sid])
        wait_empty(slurm_unfinished)
        wait_empty(hearth_unfinished)
    hm, sm = statistics.median(h_times), statistics.median(s_times)
    rows.append((f"a {jobs}-element array left pending, the submitting command, median (ms, {len(h_times)} arrays)",
                 f"{hm:.1f}", f"{sm:.1f}", hm / sm))
    print(f"  a {jobs}-element array left pending, the submitting command: hearth {hm:.1f} ms, Slurm {sm:.1f} ms (median)", flush=True)
    t = time.perf_counter()
    run([hearth, "submit", "--kind", "command", "--array", f"0-{jobs - 1}", work + "/true.json"])
    h_arr = time.perf_counter() - t
    wait_empty(hearth_unfinished)
    h_arr_all = time.perf_counter() - t
    t = time.perf_counter()
    run(["sbatch", f"--array=0-{jobs - 1}", "--wrap=true", "-o", "/dev/null", "-e", "/dev/null"])
    s_arr = time.perf_counter() - t
    wait_empty(slurm_unfinished)
    s_arr_all = time.perf_counter() - t
    ratio_row(f"a {jobs}-element array, the submitting command", h_arr * 1000, s_arr * 1000, unit="ms", fmt="{:.1f}")
    ratio_row(f"a {jobs}-element array, submission to last completion", h_arr_all, s_arr_all, fmt="{:.1f}")


def part_gaps():
    # GAP_KINDS: train (one-step training runs, the default) and/or command (/bin/true, Slurm's size).
    for kind in os.environ.get("GAP_KINDS", "train").split(","):
        gaps_of(kind)


def gaps_of(kind):
    print(f"freed slot -> next start ({gaps} {kind} jobs, one at a time)", flush=True)
    # hearth: jobs on the node's one (simulated) GPU, one at a time; times from job_events.
    spec = json.load(open(work + ("/trivial.json" if kind == "train" else "/true.json")))
    first = api("POST", "/v1/arrays", {"kind": kind, "gpus": 1, "array": f"0-{gaps - 1}", "spec": spec})
    wait_empty(hearth_unfinished)
    h_gaps = [float(x) * 1000 for x in psql(f"""
        WITH t AS (
            SELECT j.array_index,
                   (SELECT max(at) FROM job_events e WHERE e.job_id = j.id AND e.event = 'started') AS started,
                   (SELECT max(at) FROM job_events e WHERE e.job_id = j.id AND e.to_state = 'succeeded') AS ended
            FROM jobs j WHERE j.array_id = {first["id"]})
        SELECT extract(epoch FROM started - lag(ended) OVER (ORDER BY started)) FROM t ORDER BY started OFFSET 1
        """).split()]
    # Slurm: each job takes all 32 CPUs, so they run one at a time; each stamps its own start and end.
    stamps = work + f"/slurm-stamps-{kind}"
    os.makedirs(stamps, exist_ok=True)
    run(["sbatch", f"--array=0-{gaps - 1}", "-c", "32", "-o", "/dev/null", "-e", "/dev/null",
         f"--wrap=date +%s.%N > {stamps}/$SLURM_ARRAY_TASK_ID.start; date +%s.%N > {stamps}/$SLURM_ARRAY_TASK_ID.end"])
    wait_empty(slurm_unfinished)
    spans = sorted((float(open(f).read()), float(open(f[:-6] + ".end").read())) for f in glob.glob(stamps + "/*.start"))
    s_gaps = [(b[0] - a[1]) * 1000 for a, b in zip(spans, spans[1:])]
    (hm, hp), (sm, sp) = stats(h_gaps), stats(s_gaps)
    rows.append((f"freed slot -> next job started ({kind} jobs), median (ms, {len(h_gaps)}/{len(s_gaps)} gaps)", f"{hm:.0f}", f"{sm:.0f}", hm / sm))
    rows.append(("freed slot -> next job started, p99 (ms)", f"{hp:.0f}", f"{sp:.0f}", hp / sp))
    print(f"  gaps ({kind}): hearth median {hm:.0f} ms p99 {hp:.0f} ms; Slurm median {sm:.0f} ms p99 {sp:.0f} ms", flush=True)


def part_requests():
    """The daemon's side alone: the same requests as `hearth queue` and `hearth submit` from a
    connection this process opens (no process start), median of CALLS each."""
    print("requests without a process start (hearth only)", flush=True)
    spec = json.load(open(work + "/true.json"))

    def request(method, path, body=None):
        c = UnixHTTP("hearthd")
        c.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
        r = c.getresponse()
        r.read()
        c.close()
        return r.status

    for name, method, path, body in [
            ("GET /v1/jobs?format=table&group=arrays (hearth queue), idle", "GET", "/v1/jobs?format=table&group=arrays", None),
            ("POST /v1/jobs (hearth submit), a job that stays pending", "POST", "/v1/jobs",
             json.dumps({"kind": "command", "gpus": 2, "spec": spec}))]:
        samples = []
        for _ in range(calls):
            t = time.perf_counter()
            request(method, path, body)
            samples.append((time.perf_counter() - t) * 1000)
        m, p = stats(samples)
        rows.append((f"{name}: the request alone, median (ms, {calls} runs)", f"{m:.2f}", "", float("nan")))
        print(f"  {name}: median {m:.2f} ms, p99 {p:.2f} ms", flush=True)
    for j in api("GET", "/v1/jobs?limit=100000"):
        api("POST", f"/v1/jobs/{j['id']}/cancel")
    # The smallest process there is, for scale.
    for name, args in [("`/bin/true` (a process start, for scale)", ["/bin/true"])]:
        samples = []
        for _ in range(calls):
            samples.append(timed(args))
        m, p = stats(samples)
        rows.append((f"{name}, median (ms, {calls} runs)", f"{m:.2f}", "", float("nan")))
        print(f"  {name}: median {m:.2f} ms, p99 {p:.2f} ms", flush=True)


def part_idle():
    """How long the machine takes to wake: the same request, and the same command on both sides,
    after idle gaps of each length (IDLE_GAPS, ms). A request that touches no database slowing
    down as the gap grows is the CPUs' wake-up, not work (Docs/BENCHMARKS.md, eleventh pass).
    Each measure runs as its own block (a submission drops the listing hearthd keeps, so the
    listing's block comes after the submissions'); the two commands are interleaved."""
    print("requests and commands after idle gaps", flush=True)
    spec = json.load(open(work + "/true.json"))
    body = json.dumps({"kind": "command", "gpus": 2, "spec": spec}).encode()
    post = (b"POST /v1/jobs HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n" % len(body)) + body
    get = b"GET /v1/jobs?format=table&group=arrays HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"

    def raw(request):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(work + "/hearth.sock")
            s.sendall(request)
            while s.recv(65536):
                pass

    def block(n, gap, action):
        samples = []
        for _ in range(n):
            if gap:
                time.sleep(gap / 1000)
            t = time.perf_counter()
            action()
            samples.append((time.perf_counter() - t) * 1000)
        return statistics.median(samples)

    for gap in [float(g) for g in os.environ.get("IDLE_GAPS", "0,1,3,20,300").split(",")]:
        n = calls if gap < 100 else max(9, calls // 8)
        pm = block(n, gap, lambda: raw(post))
        gm = block(n, gap, lambda: raw(get))
        hq, sq = [], []
        for _ in range(n):
            hq.append(block(1, gap, lambda: run([hearth, "queue"])))
            sq.append(block(1, gap, lambda: run(["squeue"])))
        hm, sm = statistics.median(hq), statistics.median(sq)
        rows.append((f"after {gap:g} ms idle: POST /v1/jobs / GET kept listing, the request alone, median (ms, {n} runs)",
                     f"{pm:.2f}", f"{gm:.2f}", float("nan")))
        rows.append((f"after {gap:g} ms idle: `hearth queue` vs `squeue`, median (ms, {n} runs)", f"{hm:.1f}", f"{sm:.1f}", hm / sm))
        print(f"  after {gap:g} ms idle: POST {pm:.2f} ms, kept GET {gm:.2f} ms; hearth queue {hm:.1f} ms, squeue {sm:.1f} ms", flush=True)
    for j in api("GET", "/v1/jobs?limit=100000"):
        api("POST", f"/v1/jobs/{j['id']}/cancel")


def part_growth():
    global ok, growth
    print("listing as the queue grows", flush=True)
    have = 0
    for target in (1_000, 10_000, 100_000):
        while have < target:
            n = min(10_000, target - have)
            api("POST", "/v1/jobs/batch", {"jobs": [{"kind": "eval", "gpus": 2}] * n})
            have += n
        sid = out(["sbatch", "--parsable", f"--array=0-{target - 1}", "--begin=now+3600", "--wrap=true", "-o", "/dev/null"]).strip()
        n = int(os.environ.get("GROWTH_RUNS", 20))
        afresh, kept, full, sq = [], [], [], []
        for _ in range(n):
            forget()
            sq.append(timed(["squeue", "-r"]))
            afresh.append(timed([hearth, "queue"]))
            kept.append(timed([hearth, "queue"]))
            forget()
            full.append(timed([hearth, "queue", "--limit", "100000"]))
        growth.append((target, *(statistics.median(x) for x in (afresh, kept, full, sq))))
        print(f"  {target} pending: hearth queue {growth[-1][1]:.1f} ms read afresh, {growth[-1][2]:.1f} ms kept (first 1,000 rows); "
              f"all rows {growth[-1][3]:.1f} ms; squeue -r {growth[-1][4]:.1f} ms", flush=True)
        run(["scancel", sid])
        wait_empty(slurm_unfinished)

ok, growth = None, []
# PARTS: which measures to run, comma-separated (default: all, in this order).
for name in os.environ.get("PARTS", "startup,cold,requests,pending,submissions,submit,array,gaps,growth").split(","):
    globals()["part_" + name]()

print("\n| measure | hearth | Slurm 22.05 | hearth / Slurm |")
print("|---|---|---|---|")
for name, h, s, r in rows:
    print(f"| {name} | {h} | {s} | {f'{r:.2f}' if r == r else '–'} |")
if ok is not None:
    print(f"\nhearth jobs succeeded in the one-by-one run: {ok} of {jobs} (each a command job running /bin/true)")
print("\n| pending jobs | `hearth queue` read afresh (first 1,000 rows, ms) | `hearth queue` kept (ms) | `hearth queue --limit 100000` read afresh (every row, ms) | `squeue -r` (every row, ms) |")
print("|---|---|---|---|---|")
for target, a, k, f, s in growth:
    print(f"| {target:,} | {a:.1f} | {k:.1f} | {f:.1f} | {s:.1f} |")

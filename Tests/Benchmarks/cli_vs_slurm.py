"""Times hearth and Slurm commands with one harness (called by cli.sh; not a test)."""
import json, os, statistics, subprocess, sys, time

hearth, work, calls, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
env = dict(os.environ, HEARTH_SOCKET=work + "/hearth.sock")


def run(args):
    subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL)


def latency(args):
    samples = []
    for _ in range(calls):
        t = time.perf_counter()
        run(args)
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def drain(args_count):
    while int(subprocess.run(args_count, env=env, capture_output=True, text=True, check=True).stdout.strip() or 0) > 0:
        time.sleep(0.2)


def throughput(submit, count):
    t = time.perf_counter()
    for _ in range(jobs):
        run(submit)
    submitted = time.perf_counter() - t
    drain(count)
    return submitted, time.perf_counter() - t


hearth_count = ["sh", "-c", f"{hearth} queue --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'"]
slurm_count = ["sh", "-c", "squeue -h | wc -l"]

h_lat = latency([hearth, "queue"])
s_lat = latency(["squeue"])
h_sub, h_all = throughput([hearth, "submit", "--kind", "train", work + "/trivial.json"], hearth_count)
s_sub, s_all = throughput(["sbatch", "--wrap=true", "-o", "/dev/null", "-e", "/dev/null"], slurm_count)
done = subprocess.run([hearth, "queue", "--all", "--json"], env=env, capture_output=True, text=True, check=True).stdout
ok = sum(1 for j in json.loads(done) if j["state"] == "succeeded")

print(f"\n| measure | hearth | Slurm 22.05 | hearth / Slurm |")
print("|---|---|---|---|")
print(f"| `hearth queue` vs `squeue`, p50 (ms, {calls} calls) | {h_lat[0]:.1f} | {s_lat[0]:.1f} | {h_lat[0] / s_lat[0]:.2f} |")
print(f"| `hearth queue` vs `squeue`, p99 (ms) | {h_lat[1]:.1f} | {s_lat[1]:.1f} | {h_lat[1] / s_lat[1]:.2f} |")
print(f"| {jobs} submissions (s) | {h_sub:.1f} | {s_sub:.1f} | {h_sub / s_sub:.2f} |")
print(f"| {jobs} jobs, first submission to last completion (s) | {h_all:.1f} | {s_all:.1f} | {h_all / s_all:.2f} |")
print(f"\nhearth jobs succeeded: {ok} of {jobs} (each a one-step training run of hearth-worker)")

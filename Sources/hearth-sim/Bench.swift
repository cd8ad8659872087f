import HearthCore
import ArgumentParser
import Foundation
import HearthScheduler
#if canImport(Glibc)
import Glibc
#endif

/// CPU time of the calling thread in milliseconds (not inflated when other processes
/// compete for the cores, unlike wall time).
func threadCPUMilliseconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) * 1e3 + Double(ts.tv_nsec) * 1e-6
}

/// `hearth-sim bench`: wall time of one full scheduling pass over synthetic snapshots.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time one scheduling pass for a grid of pending-job and node counts.")

    @Option(help: "Pending job counts, comma-separated.") var jobs: String = "1000,10000,100000"
    @Option(help: "Node counts, comma-separated.") var nodes: String = "10,100,1000"
    @Option(help: "Timed passes per cell (after one warm-up).") var repeats: Int = 5
    @Option(help: "Seed.") var seed: UInt64 = 42

    func run() throws {
        let jobCounts = jobs.split(separator: ",").compactMap { Int($0) }
        let nodeCounts = nodes.split(separator: ",").compactMap { Int($0) }
        print("| pending jobs | nodes | GPUs | busy GPUs | wall median | wall min | CPU median | placed | reserved | jobs considered |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for j in jobCounts {
            for n in nodeCounts {
                let (snapshot, now) = BenchSnapshot.make(pendingJobs: j, nodes: n, seed: seed)
                let scheduler = Scheduler()
                var plan = scheduler.schedule(snapshot, now: now)  // warm-up
                var times: [Double] = []
                var cpu: [Double] = []
                let clock = ContinuousClock()
                for _ in 0..<max(1, repeats) {
                    let c0 = threadCPUMilliseconds()
                    let d = clock.measure { plan = scheduler.schedule(snapshot, now: now) }
                    cpu.append(threadCPUMilliseconds() - c0)
                    times.append(Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) * 1e-15)
                }
                times.sort()
                cpu.sort()
                let gpus = snapshot.nodes.reduce(0) { $0 + $1.gpus.count }
                let busy = snapshot.running.reduce(0) { $0 + $1.gpuIndices.count }
                print(String(format: "| %d | %d | %d | %d | %.2f ms | %.2f ms | %.2f ms | %d | %d | %d |", j, n, gpus,
                    busy, times[times.count / 2], times[0], cpu[cpu.count / 2], plan.placements.count,
                    plan.reservations.count, plan.jobsConsidered))
            }
        }
    }
}

/// A busy fleet with a long queue: 200 accounts in 20 projects with random decayed usage,
/// part of the GPUs held by running jobs (each node: keep adding a job with p = 0.75), and pending jobs from the Philly-like mix,
/// some asking for H100s or ≥ 40 GiB (so not every shape fits every node).
enum BenchSnapshot {
    static func make(pendingJobs: Int, nodes nodeCount: Int, seed: UInt64) -> (Snapshot, Date) {
        let now = Date(timeIntervalSince1970: 1_793_620_800)  // a Monday, 12:00 UTC
        var rng = SeededGenerator(seed: seed)
        let nodes = FleetModel.make(count: nodeCount, donorFraction: 0.3, seed: seed)
        var running: [RunningJob] = []
        var id: Int64 = 1
        for n in nodes {
            var free = Array(n.gpus.indices)
            while free.count > 0 && rng.unit() < 0.75 {
                let want = min(free.count, rng.pick(PhillyLikeDistribution.sizeMix))
                let account = Int64(rng.unit() * 200)
                running.append(RunningJob(id: id, accountID: account, projectID: account % 20, nodeID: n.id,
                    gpuIndices: Array(free.prefix(want)), startedAt: now.addingTimeInterval(-rng.unit() * 36_000),
                    timeLimit: 3_600 + rng.unit() * 86_400))
                free.removeFirst(want)
                id += 1
            }
        }
        var pending: [PendingJob] = []
        pending.reserveCapacity(pendingJobs)
        for _ in 0..<pendingJobs {
            let account = Int64(rng.unit() * 200)
            let g = rng.pick(PhillyLikeDistribution.sizeMix)
            let model: String? = rng.unit() < 0.2 ? "H100" : nil
            let mem = rng.unit() < 0.2 ? 40_960 : 0
            let kind = rng.pick([(JobKind.train, 0.8), (.eval, 0.15), (.serve, 0.05)])
            let qos = rng.pick([(QOS.normal, 0.9), (.low, 0.07), (.high, 0.03)])
            pending.append(PendingJob(id: id, accountID: account, projectID: account % 20, kind: kind, qos: qos,
                gpus: GPURequest(count: g, model: model, minMemoryMiB: mem),
                submittedAt: now.addingTimeInterval(-rng.unit() * 3 * 86_400),
                timeLimit: 600 * (1 + (rng.unit() * 200).rounded())))
            id += 1
        }
        var usage = UsageSnapshot(at: now)
        for a in 0..<200 {
            usage.usage[Association(projectID: Int64(a % 20), accountID: Int64(a))] = rng.unit() * 1e7
        }
        return (Snapshot(pending: pending, running: running, nodes: nodes, usage: usage), now)
    }
}

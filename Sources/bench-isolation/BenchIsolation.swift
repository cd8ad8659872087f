import Foundation
import HearthDaemon
import HearthProcess

/// Job start latency with isolation (user, clean environment, job directory, cgroups) beside
/// today's plain start, in the same run, interleaved. Run as root with `./bench isolation`.
@main
struct BenchIsolation {
    static func main() throws {
        let args = CommandLine.arguments
        func value(_ flag: String, _ fallback: String) -> String {
            args.firstIndex(of: flag).flatMap { args.indices.contains($0 + 1) ? args[$0 + 1] : nil } ?? fallback
        }
        let samples = Int(value("--samples", "300"))!
        let account = value("--user", "hearth-t-alice")
        guard geteuid() == 0 else { fatalError("run as root: the isolated start changes user and makes cgroups") }
        guard let user = UnixUser.lookup(name: account) else {
            fatalError("no Unix user \(account): create one (useradd --no-create-home \(account)) or pass --user NAME")
        }
        let dir = URL(fileURLWithPath: "/var/tmp/hearth-bench-isolation-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(at: dir) }
        var policy = IsolationPolicy()
        policy.memoryMaxBytes = 1 << 30
        var plain: [StartLatencyProbe.Sample] = [], isolated: [StartLatencyProbe.Sample] = []
        // Warm-up (page cache, first cgroup of each hierarchy), then interleaved pairs.
        for i in 0..<10 {
            _ = try StartLatencyProbe.plain(jobsDirectory: dir.appendingPathComponent("plain"), jobID: Int64(i))
            _ = try StartLatencyProbe.isolated(account: account, accountID: 1, policy: policy,
                                               jobsDirectory: dir.appendingPathComponent("iso"), jobID: Int64(i))
        }
        for i in 0..<samples {
            let id = Int64(100 + i)
            plain.append(try StartLatencyProbe.plain(jobsDirectory: dir.appendingPathComponent("plain"), jobID: id))
            isolated.append(try StartLatencyProbe.isolated(account: account, accountID: 1, policy: policy,
                                                           jobsDirectory: dir.appendingPathComponent("iso"), jobID: id))
        }
        func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) / 1e15 }
        func stats(_ xs: [Double]) -> (median: Double, p95: Double) {
            let s = xs.sorted()
            return (s[s.count / 2], s[min(s.count - 1, Int(Double(s.count) * 0.95))])
        }
        print("job start latency, \(samples) interleaved pairs, /bin/true as \(user) (isolated) vs as root (plain)")
        print("cgroups: \(policy.cgroups ? "on (memory.max 1 GiB, pids.max \(policy.tasksMax ?? 0), devices: GPU 0)" : "off")")
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
        print("".padding(toLength: 28, withPad: " ", startingAt: 0) + pad("plain", 12) + pad("isolated", 12) + pad("extra", 12) + pad("ratio", 11))
        for (name, key) in [("start (until exec'd), median", 0), ("start (until exec'd), p95", 1),
                            ("start+run+clean-up, median", 2), ("start+run+clean-up, p95", 3)] {
            let p = key < 2 ? stats(plain.map { ms($0.start) }) : stats(plain.map { ms($0.cycle) })
            let q = key < 2 ? stats(isolated.map { ms($0.start) }) : stats(isolated.map { ms($0.cycle) })
            let (a, b) = key % 2 == 0 ? (p.median, q.median) : (p.p95, q.p95)
            print(name.padding(toLength: 28, withPad: " ", startingAt: 0) + String(format: " %8.2f ms  %8.2f ms  %8.2f ms %9.2fx", a, b, b - a, b / a))
        }
    }
}

import Foundation
import HearthCore
import HearthProcess
import HearthStore

/// Throughput of the production path of a job through the queue (the leader's place, the node's
/// start and succeed: three lifecycle functions, `Migrations/0007_lifecycle.sql`) beside raw
/// PostgreSQL (pgbench calling the same functions) on the same private server in the same run.
/// Run with `./bench store`.
@main
struct BenchStore {
    static func main() async throws {
        let args = CommandLine.arguments
        func value(_ flag: String, _ fallback: String) -> String {
            args.firstIndex(of: flag).flatMap { args.indices.contains($0 + 1) ? args[$0 + 1] : nil } ?? fallback
        }
        let jobs = Int(value("--jobs", "20000"))!
        let workerCounts = value("--workers", "1,4").split(separator: ",").compactMap { Int($0) }
        let rounds = Int(value("--rounds", "2"))!
        let script = value("--pgbench-script", "Tests/Benchmarks/place-start-succeed.pgbench")
        let dir = URL(fileURLWithPath: value("--dir", "/tmp/hearth-bench-store"))
        // --durable off: fsync and synchronous_commit off, to see the CPU path instead of the disk's flush time.
        let durable = value("--durable", "on") != "off"

        try? FileManager.default.removeItem(at: dir)
        let cluster = EmbeddedPostgres(configuration: .init(stateDirectory: dir, database: "postgres", durable: durable))
        let conninfo = try await cluster.start()
        defer { try? cluster.stop(); try? FileManager.default.removeItem(at: dir) }
        let bench = Bench(conninfo: conninfo, cluster: cluster, jobs: jobs, script: script)
        try await bench.makeTemplate()

        let mode = durable ? "durable (fsync, synchronous_commit on)" : "not durable (fsync, synchronous_commit off)"
        print("place -> start -> succeed of \(jobs) no-op jobs; PostgreSQL \(mode); \(rounds) rounds, best kept")
        var best: [Int: (swift: Double, raw: Double, node: Double)] = [:]
        for round in 1...rounds {
            for workers in workerCounts {
                // The same path connected as the node's own login (Migrations/0013_node_roles.sql):
                // SECURITY DEFINER calls and the binding triggers' checks. Odd rounds run it last,
                // even rounds first, so a load that changes during the run favours neither side.
                var node = 0.0
                if round % 2 == 0 { node = try await bench.runQueue(workers: workers, database: "n_\(round)_\(workers)", asNode: true) }
                let swift = try await bench.runQueue(workers: workers, database: "q_\(round)_\(workers)")
                let raw = try await bench.runPgbench(workers: workers, database: "p_\(round)_\(workers)")
                if round % 2 == 1 { node = try await bench.runQueue(workers: workers, database: "n_\(round)_\(workers)", asNode: true) }
                print(String(format: "round %d, %d worker(s): JobQueue %.0f jobs/s, pgbench %.0f jobs/s, JobQueue as a node role %.0f jobs/s",
                             round, workers, swift, raw, node))
                let b = best[workers] ?? (0, 0, 0)
                best[workers] = (max(b.swift, swift), max(b.raw, raw), max(b.node, node))
            }
        }
        print("\n| workers | JobQueue, owner role (jobs/s) | pgbench, same SQL (jobs/s) | ratio | JobQueue, node role (jobs/s) | node / owner |")
        print("|---|---|---|---|---|---|")
        for workers in workerCounts {
            let b = best[workers]!
            print(String(format: "| %d | %.0f | %.0f | %.2f | %.0f | %.2f |", workers, b.swift, b.raw, b.swift / b.raw, b.node, b.node / b.swift))
        }
    }
}

struct Bench {
    let conninfo: String
    let cluster: EmbeddedPostgres
    let jobs: Int
    let script: String

    func maintenance() async throws -> PostgresConnection {
        try await PostgresConnection.connect(conninfo: conninfo, applicationName: "bench", database: "postgres")
    }

    func makeTemplate() async throws {
        let c = try await maintenance()
        defer { c.close() }
        try await c.query("CREATE DATABASE bench_template")
        let client = try PostgresClient(configuration: .init(conninfo: conninfo, maxConnections: 1, database: "bench_template"))
        try await Migrator(client: client).migrate()
        client.shutdown()
    }

    /// A fresh database holding `jobs` queued no-op jobs, one account and one node (id 1).
    func prepare(_ name: String) async throws -> PostgresClient {
        let c = try await maintenance()
        try await c.query("CREATE DATABASE \(identifier: name) TEMPLATE bench_template")
        c.close()
        let client = try PostgresClient(configuration: .init(conninfo: conninfo, maxConnections: 1, database: name))
        let account = try await AccountStore(client: client).ensure(name: "bench")
        _ = try await NodeStore(client: client).register(hostname: "bench-node", cpus: 1, memoryBytes: 0, gpus: [])
        // Through the submit function, as the API does; job ids are 1...jobs in a fresh database.
        try await client.query("""
            SELECT count(*) FROM generate_series(1, \(jobs)) i,
                LATERAL hearth_submit('command', \(account)::bigint, NULL, 'job ' || i, '{}'::jsonb, 0, 'normal', 0, NULL, 3, NULL, '{}',
                                      NULL, NULL, NULL, 0)
            """)
        // Which job a worker takes next: the scheduler's choice, here a shared counter (both sides pay for it).
        try await client.query("CREATE SEQUENCE bench_ids")
        try await client.query("VACUUM ANALYZE jobs")
        return client
    }

    func verify(_ client: PostgresClient) async throws {
        let rows = try await client.query("""
            SELECT (SELECT count(*) FROM jobs WHERE state = 'succeeded') AS done,
                   (SELECT count(*) FROM allocations WHERE end_reason = 'succeeded') AS closed
            """)
        let done: Int = try rows[0].decode("done"), closed: Int = try rows[0].decode("closed")
        guard done == jobs, closed == jobs else {
            throw BenchError( "run incomplete: \(done) jobs succeeded, \(closed) ledger rows closed, of \(jobs)")
        }
        client.shutdown()
    }

    /// N workers, each with its own connection, place → start → succeed until the queue is empty;
    /// `asNode`: connected as the node's own login role instead of the owner.
    func runQueue(workers: Int, database: String, asNode: Bool = false) async throws -> Double {
        let setup = try await prepare(database)
        var workerConninfo = conninfo
        if asNode {
            let role = try await NodeLogins(client: setup).create(hostname: "bench-node", passwordVerifier: nil, by: "bench", reuse: true)
            try await setup.query("GRANT USAGE ON SEQUENCE bench_ids TO hearth_node")
            workerConninfo = try PostgresConninfo.rewrite(conninfo, overriding: ["user": role])
        }
        let clients = try (0..<workers).map { _ in
            try PostgresClient(configuration: .init(conninfo: workerConninfo, maxConnections: 1, database: database))
        }
        for c in clients { try await c.query("SELECT 1") }  // connect before the clock starts
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for c in clients {
                group.addTask {
                    let queue = JobQueue(client: c)
                    while true {
                        let id: Int64 = try await c.query("SELECT nextval('bench_ids') AS id")[0].decode("id")
                        if id > jobs { break }
                        guard let lease = try await queue.assign(jobID: id, nodeID: 1, gpuIndices: []) else {
                            throw BenchError("job \(id) could not be placed")
                        }
                        try await queue.start(lease)
                        try await queue.succeed(lease)
                    }
                }
            }
            try await group.waitForAll()
        }
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        clients.forEach { $0.shutdown() }
        try await verify(setup)
        return Double(jobs) / seconds
    }

    /// pgbench with the same statements, `jobs / workers` transactions per client.
    func runPgbench(workers: Int, database: String) async throws -> Double {
        let setup = try await prepare(database)
        let bin = try cluster.binaries()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-pgbench-\(getpid()).out")
        let fd = open(out.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        defer { close(fd); try? FileManager.default.removeItem(at: out) }
        let child = try ChildProcess.spawn(bin + "/pgbench", [
            "-n", "-M", "prepared", "-c", "\(workers)", "-j", "\(workers)", "-t", "\(jobs / workers)",
            "-f", script, "-D", "node=1", "-h", cluster.socketDirectory.path, "-U", cluster.owner, database,
        ], descriptors: [nil, fd, fd])
        let end = await child.wait()
        let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        guard end == .exited(0), let line = text.split(separator: "\n").first(where: { $0.hasPrefix("tps = ") }),
              let tps = Double(line.dropFirst(6).prefix { $0 != " " }) else {
            throw BenchError( "pgbench \(end): \(text.suffix(500))")
        }
        try await verify(setup)
        return tps
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

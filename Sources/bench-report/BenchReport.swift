import Foundation
import HearthCore
import HearthStore

/// A monthly donor report over a 1,000,000-row ledger, beside the same statement forced onto
/// sequential scans (what a report without the range indexes costs) and beside a bare
/// `count(*)` of the donor's rows that month written with plain comparisons, which no B-tree can
/// bound on both ends (the planner scans), in the same run.
/// Run with `./bench report`.
@main
struct BenchReport {
    static func main() async throws {
        let args = CommandLine.arguments
        func value(_ flag: String, _ fallback: String) -> String {
            args.firstIndex(of: flag).flatMap { args.indices.contains($0 + 1) ? args[$0 + 1] : nil } ?? fallback
        }
        let rows = Int(value("--rows", "1000000"))!
        let runs = Int(value("--runs", "11"))!
        let dir = URL(fileURLWithPath: value("--dir", "/tmp/hearth-bench-report"))
        try? FileManager.default.removeItem(at: dir)
        let cluster = EmbeddedPostgres(configuration: .init(stateDirectory: dir, database: "postgres", durable: false))
        let conninfo = try await cluster.start()
        defer { try? cluster.stop(); try? FileManager.default.removeItem(at: dir) }
        let client = try PostgresClient(configuration: .init(conninfo: conninfo, maxConnections: 1, database: "postgres"))
        defer { client.shutdown() }
        try await Migrator(client: client).migrate()

        let loadStart = ContinuousClock.now
        try await Ledger.load(client, rows: rows)
        print("loaded \(rows) allocation rows on 200 nodes of 40 donors over 12 months in \(ContinuousClock.now - loadStart)")

        let store = ReportStore(client: client)
        let utc = TimeZone(identifier: "UTC")!
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = utc
        let from = calendar.date(from: DateComponents(year: 2026, month: 6, day: 1))!
        let to = calendar.date(from: DateComponents(year: 2026, month: 7, day: 1))!
        let request = ReportStore.Request(scope: .donor, subject: "donor7", from: from, to: to, period: .day)

        func p50(_ body: () async throws -> Void) async throws -> Double {
            var times: [Double] = []
            for _ in 0..<runs {
                let start = ContinuousClock.now
                try await body()
                let d = ContinuousClock.now - start
                times.append(Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
            }
            return times.sorted()[times.count / 2]
        }
        var report: UsageReport?
        let indexed = try await p50 { report = try await store.report(request) }
        let floor = try await p50 {
            _ = try await client.query("""
                SELECT count(*) AS n FROM allocations a JOIN nodes n ON n.id = a.node_id
                WHERE n.donor_id = (SELECT id FROM accounts WHERE name = 'donor7')
                  AND a.started_at < \(to)::timestamptz AND a.ended_at > \(from)::timestamptz
                """)
        }
        let explain = try await store.explainUsage(request)
        let countPlan = try await client.query("""
            EXPLAIN (ANALYZE, BUFFERS) SELECT count(*) AS n FROM allocations a JOIN nodes n ON n.id = a.node_id
            WHERE n.donor_id = (SELECT id FROM accounts WHERE name = 'donor7')
              AND a.started_at < \(to)::timestamptz AND a.ended_at > \(from)::timestamptz
            """).map { try $0.decode("QUERY PLAN", as: String.self) }.joined(separator: "\n")
        // A connection of its own, so its prepared statements are planned without index scans
        // (a plan cached on the first connection would ignore the settings).
        let seqClient = try PostgresClient(configuration: .init(conninfo: conninfo, maxConnections: 1, database: "postgres"))
        defer { seqClient.shutdown() }
        try await seqClient.query("SET enable_indexscan = off")
        try await seqClient.query("SET enable_bitmapscan = off")
        let seqStore = ReportStore(client: seqClient)
        var seqReport: UsageReport?
        let sequential = try await p50 { seqReport = try await seqStore.report(request) }
        let explainSeq = try await seqStore.explainUsage(request)
        precondition(seqReport?.totals == report?.totals, "both plans must give the same figures")

        guard let report else { return }
        print(String(format: "donor7, June 2026: %d attempts, %.1f GPU-h used of %.1f offered (%.1f%%)", report.totals.allocations,
                     report.totals.gpuSeconds / 3600, (report.totals.offeredGPUSeconds ?? 0) / 3600,
                     (report.totals.utilisation ?? 0) * 100))
        print("\n| query (p50 of \(runs)) | ms | ratio to the report |")
        print("|---|---|---|")
        print(String(format: "| monthly donor report (ReportStore, GiST range indexes) | %.1f | 1.00 |", indexed * 1000))
        print(String(format: "| same statement, sequential scans only (no range index) | %.1f | %.2f |", sequential * 1000, sequential / indexed))
        print(String(format: "| count(*) of the same rows, plain comparisons (no index bounds both ends) | %.1f | %.2f |",
                     floor * 1000, floor / indexed))
        print("\nEXPLAIN (ANALYZE, BUFFERS), indexed:\n```\n\(explain)\n```")
        print("\nEXPLAIN (ANALYZE, BUFFERS), sequential scans only:\n```\n\(explainSeq)\n```")
        print("\nEXPLAIN (ANALYZE, BUFFERS), count(*) with plain comparisons:\n```\n\(countPlan)\n```")
    }
}

/// The synthetic ledger: 40 donors × 5 nodes × 4 GPUs; per node, back-to-back attempts of 1–4
/// GPUs covering 2025-12-01 to 2026-12-01 with gaps, owned by 100 volunteers in 10 projects.
/// The synthetic year of ledger rows the report queries run on. The bulk load is SQL of its own,
/// `Tests/Benchmarks/report-ledger.sql` (run from the repository root, as `./bench report` does):
/// fixture data, not a path the product takes (the product writes jobs, nodes and the ledger only
/// through the lifecycle functions of Migrations/0007_lifecycle.sql).
enum Ledger {
    static func load(_ client: PostgresClient, rows: Int) async throws {
        let template = try String(contentsOfFile: "Tests/Benchmarks/report-ledger.sql", encoding: .utf8)
        let sql = template.replacingOccurrences(of: "{{rows}}", with: String(rows))
        try await client.withConnection { try await $0.execute(unsafeSQL: sql) }
        try await client.query("VACUUM ANALYZE")
    }
}

import Foundation
import HearthAPI
import HearthCore
import HearthScheduler
import HearthStore
import Synchronization

/// Reads what one scheduling pass looks at from PostgreSQL: the queue, the held jobs, the nodes
/// with their GPUs and donor policies, shares, dependencies — in one read-only repeatable-read
/// transaction, so every part is of the same instant (the database's `now()`, not this node's
/// clock). Decayed usage is computed by PostgreSQL from the ledger and cached briefly.
struct SnapshotLoader: Sendable {
    /// A snapshot with the instant it was taken and the names the API shows.
    struct Loaded: Sendable {
        var snapshot: Snapshot
        var now: Date
        var nodeNames: [Int64: String]
        var accountNames: [Int64: String]
    }

    let client: PostgresClient
    /// The usage half-life of the scheduler's policy.
    let halfLife: TimeInterval
    /// How long a usage figure is reused (decayed forward) before the ledger is summed again.
    let usageRefresh: TimeInterval
    private let usageCache = UsageCache()
    /// Each queued job's input references, parsed once (locality).
    private let inputReferences = InputReferences()

    init(client: PostgresClient, halfLife: TimeInterval, usageRefresh: TimeInterval = 30) {
        self.client = client
        self.halfLife = halfLife
        self.usageRefresh = usageRefresh
    }

    func load() async throws -> Loaded {
        var loaded = try await client.withTransaction { c in
            try await c.execute(unsafeSQL: "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            return try await Self.read(c, references: inputReferences)
        }
        loaded.snapshot.usage = try await usage(at: loaded.now)
        return loaded
    }

    // MARK: The queue and the fleet

    private static func read(_ c: PostgresConnection, references: InputReferences) async throws -> Loaded {
        let now: Date = try await c.query("SELECT now() AS now")[0].decode("now")
        let pending = try await c.query("""
            SELECT id, account_id, coalesce(project_id, 0) AS project_id, kind, qos, gpus, gpu_model, gpu_memory_bytes,
                   created_at, run_at, time_limit_seconds, after_ok, preemptible, preemptions, priority, avoid_nodes
            FROM \(sql: Self.eligibleQueued) WHERE state = 'queued'
            """).compactMap { r -> PendingJob? in
                // A kind this Hearth does not know (a newer node's migration) cannot be run by it: leave it.
                guard let kind = JobKind(rawValue: try r.decode("kind")) else { return nil }
                let runAt: Date = try r.decode("run_at")
                let limit: Int? = try r.decode("time_limit_seconds")
                return PendingJob(
                    id: try r.decode("id"), accountID: try r.decode("account_id"), projectID: try r.decode("project_id"),
                    kind: kind, qos: QOS(rawValue: try r.decode("qos")) ?? .normal,
                    gpus: try gpuRequest(r), submittedAt: try r.decode("created_at"),
                    notBefore: runAt > now ? runAt : nil, timeLimit: limit.map(TimeInterval.init),
                    afterOK: try r.decode("after_ok"), preemptible: try r.decode("preemptible"),
                    preemptionCount: try r.decode("preemptions"), userPriority: try r.decode("priority"),
                    avoidNodes: Set(try r.decode("avoid_nodes", as: [Int64].self)))
            }
        let running = try await c.query("""
            SELECT j.id, j.account_id, coalesce(j.project_id, 0) AS project_id, j.kind, j.qos, j.node_id,
                   coalesce(a.gpu_indices, '{}') AS gpu_indices, coalesce(a.started_at, j.scheduled_at) AS since,
                   j.time_limit_seconds, j.preemptible, j.preemptions, j.preempt_requested_at, j.created_at
            FROM jobs j LEFT JOIN allocations a ON a.job_id = j.id AND a.ended_at IS NULL
            WHERE j.state IN ('scheduled', 'running')
            """).map { r -> RunningJob in
                let limit: Int? = try r.decode("time_limit_seconds")
                let kind = JobKind(rawValue: try r.decode("kind")) ?? .command
                return RunningJob(
                    id: try r.decode("id"), accountID: try r.decode("account_id"), projectID: try r.decode("project_id"),
                    kind: kind, qos: QOS(rawValue: try r.decode("qos")) ?? .normal,
                    nodeID: try r.decode("node_id"), gpuIndices: try r.decode("gpu_indices"), startedAt: try r.decode("since"),
                    timeLimit: limit.map(TimeInterval.init), preemptible: try r.decode("preemptible"),
                    preemptionCount: try r.decode("preemptions"), preemptionRequestedAt: try r.decode("preempt_requested_at"),
                    submittedAt: try r.decode("created_at"))
            }
        var gpusByNode: [Int64: [GPUSnapshot]] = [:]
        for r in try await c.query("SELECT node_id, index, model, memory_bytes FROM node_gpus ORDER BY node_id, index") {
            let bytes: Int64 = try r.decode("memory_bytes")
            gpusByNode[try r.decode("node_id"), default: []].append(GPUSnapshot(
                index: try r.decode("index"), model: try r.decode("model"), memoryMiB: Int(bytes >> 20)))
        }
        var nodeNames: [Int64: String] = [:]
        let nodes = try await c.query("""
            SELECT id, hostname, state, cpu_slots, array_to_string(kinds, ' ') AS kinds, policy::text AS policy,
                   reclaimed_at IS NOT NULL AS reclaimed, donor_id
            FROM nodes ORDER BY id
            """).map { r -> NodeSnapshot in
                let id: Int64 = try r.decode("id")
                nodeNames[id] = try r.decode("hostname")
                let kinds = (try r.decode("kinds", as: String.self)).split(separator: " ").compactMap { JobKind(rawValue: String($0)) }
                let donor: Int64? = try r.decode("donor_id")
                let policy = DonorPolicyDecoding.policy(
                    json: try r.decode("policy"), nodeKinds: Set(kinds), donorAccounts: donor.map { [$0] } ?? [])
                let state: String = try r.decode("state")
                return NodeSnapshot(
                    id: id, gpus: gpusByNode[id] ?? [], policy: policy, reclaimed: try r.decode("reclaimed"),
                    online: state == "up", cpuJobSlots: try r.decode("cpu_slots"))
            }
        var shares = ShareTree()
        for r in try await c.query("SELECT id, shares FROM projects") {
            shares.projectShares[try r.decode("id")] = Double(try r.decode("shares", as: Int.self))
        }
        for r in try await c.query("SELECT project_id, account_id, shares FROM project_members") {
            let a = Association(projectID: try r.decode("project_id"), accountID: try r.decode("account_id"))
            shares.accountShares[a] = Double(try r.decode("shares", as: Int.self))
        }
        var dependencyStates: [Int64: JobState] = [:]
        for r in try await c.query("""
            SELECT id, state FROM jobs WHERE id IN (SELECT unnest(after_ok) FROM jobs WHERE state = 'queued')
            """) {
            dependencyStates[try r.decode("id")] = JobState(rawValue: try r.decode("state")) ?? .queued
        }
        var accountNames: [Int64: String] = [:]
        for r in try await c.query("""
            SELECT id, name FROM accounts WHERE id IN (SELECT account_id FROM jobs WHERE state IN ('queued', 'scheduled', 'running'))
            """) {
            accountNames[try r.decode("id")] = try r.decode("name")
        }
        let snapshot = Snapshot(
            pending: pending, running: running, nodes: nodes, usage: UsageSnapshot(at: now), shares: shares,
            dependencyStates: dependencyStates,
            inputLocality: try await inputLocality(c, pending: pending.map(\.id), references: references))
        return Loaded(snapshot: snapshot, now: now, nodeNames: nodeNames, accountNames: accountNames)
    }

    private static func gpuRequest(_ r: PostgresRow) throws -> GPURequest {
        let bytes: Int64 = try r.decode("gpu_memory_bytes")
        return GPURequest(count: try r.decode("gpus"), model: try r.decode("gpu_model"), minMemoryMiB: Int(bytes >> 20))
    }

    // MARK: Decayed usage

    /// Decayed GPU-seconds per (project, account) at `now`: summed by PostgreSQL over the ledger
    /// rows of the last 20 half-lives (older rows add less than one millionth), reused for
    /// `usageRefresh` seconds (decayed forward) so a pass does not scan the ledger every time.
    private func usage(at now: Date) async throws -> UsageSnapshot {
        if let cached = usageCache.get(), now.timeIntervalSince(cached.at) < usageRefresh, now >= cached.at {
            return cached.advanced(to: now, halfLife: halfLife)
        }
        let decays = halfLife > 0 && halfLife.isFinite
        let lambda = decays ? M_LN2 / halfLife : 0
        let horizon = decays ? 20 * halfLife : 0
        // ∫ gpus · e^{λ(t − now)} dt over the row's interval (t ≤ now), or plain GPU-seconds without decay.
        let rows = try await client.query("""
            WITH r AS (
                SELECT j.account_id, coalesce(j.project_id, 0) AS project_id, a.gpus,
                       extract(epoch FROM a.started_at - \(now)::timestamptz)::float8 AS s,
                       extract(epoch FROM least(coalesce(a.ended_at, \(now)::timestamptz), \(now)::timestamptz)
                                          - \(now)::timestamptz)::float8 AS e
                FROM allocations a JOIN jobs j ON j.id = a.job_id
                WHERE a.gpus > 0 AND a.started_at < \(now)::timestamptz
                  AND (NOT \(decays)::boolean OR a.ended_at IS NULL
                       OR a.ended_at > \(now)::timestamptz - make_interval(secs => \(horizon)::float8))
            )
            SELECT account_id, project_id,
                   sum(CASE WHEN \(decays)::boolean
                            THEN gpus * (exp(greatest(\(lambda)::float8 * e, -700)) - exp(greatest(\(lambda)::float8 * s, -700)))
                                 / \(lambda == 0 ? 1 : lambda)::float8
                            ELSE gpus * (e - s) END) AS usage
            FROM r GROUP BY account_id, project_id
            """)
        var snapshot = UsageSnapshot(at: now)
        for r in rows {
            let a = Association(projectID: try r.decode("project_id"), accountID: try r.decode("account_id"))
            snapshot.usage[a] = max(0, try r.decode("usage", as: Double.self))
        }
        usageCache.set(snapshot)
        return snapshot
    }
}

/// The last usage figure, shared by the passes of one leader.
private final class UsageCache: Sendable {
    private let value = Mutex<UsageSnapshot?>(nil)
    func get() -> UsageSnapshot? { value.withLock { $0 } }
    func set(_ v: UsageSnapshot) { value.withLock { $0 = v } }
}

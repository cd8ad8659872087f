import Foundation
import HearthCore
import HearthStore
import HearthTesting
import Testing

/// The job state diagram is written once (`JobState.transitions`) and the database, its trigger
/// and `Docs/queue.md` say the same.
@Suite(.serialized) struct LifecycleDiagramTests {
    static func pairs(_ transitions: [JobTransition]) -> Set<String> {
        Set(transitions.map { "\($0.from.rawValue) -> \($0.to.rawValue) (\($0.operation.rawValue))" })
    }

    @Test func theDatabaseDiagramIsTheCodesTable() async throws {
        try await TestDatabase.with { client, _ in
            let rows = try await client.query("SELECT from_state, to_state, operation FROM job_state_transitions")
            let database = Set(try rows.map { r in
                "\(try r.decode("from_state", as: String.self)) -> \(try r.decode("to_state", as: String.self)) (\(try r.decode("operation", as: String.self)))"
            })
            #expect(database == Self.pairs(JobState.transitions))
            #expect(database.count == JobState.transitions.count)
        }
    }

    /// `Docs/queue.md` has a table "| from | to | operation |"; it lists exactly the code's transitions.
    @Test func theDocumentedDiagramIsTheCodesTable() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Docs/queue.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        guard let start = text.range(of: "| from | to | operation |") else {
            Issue.record("Docs/queue.md has no transition table (| from | to | operation |)")
            return
        }
        var documented: Set<String> = []
        for line in text[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false).dropFirst(2) {
            guard line.hasPrefix("|") else { break }
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "`", with: "") }
            guard cells.count >= 3 else { continue }
            documented.insert("\(cells[0]) -> \(cells[1]) (\(cells[2]))")
        }
        #expect(documented == Self.pairs(JobState.transitions))
    }

    /// Every (from, to) pair written directly in SQL, as psql would: exactly the diagram's pairs
    /// pass the trigger; every other pair is refused with SQLSTATE HJ003, never by accident of
    /// some other constraint.
    @Test func theTriggerAcceptsExactlyTheDiagramsPairs() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            let allowed = Set(JobState.transitions.map { "\($0.from.rawValue)>\($0.to.rawValue)" })
            var accepted: Set<String> = []
            for from in JobState.allCases {
                for to in JobState.allCases where to != from {
                    let job = try await put(f, in: from)
                    let held = to.holdsLease
                    do {
                        try await client.query("""
                            UPDATE jobs SET state = \(to.rawValue)::text,
                                   node_id = CASE WHEN \(held)::boolean THEN \(f.node)::bigint END,
                                   lease_expires_at = CASE WHEN \(held)::boolean THEN now() + interval '1 minute' END,
                                   finished_at = CASE WHEN \(to.isTerminal)::boolean THEN now() END,
                                   started_at = coalesce(started_at, now()), attempt = greatest(attempt, 1)
                            WHERE id = \(job)
                            """)
                        accepted.insert("\(from.rawValue)>\(to.rawValue)")
                    } catch let error as PostgresError {
                        #expect(error.sqlState == "HJ003", "\(from) -> \(to) refused by something else: \(error)")
                    }
                }
            }
            #expect(accepted == allowed)
        }
    }

    /// A job in `state`, reached through the lifecycle functions.
    func put(_ f: QueueFixture, in state: JobState) async throws -> Int64 {
        let job = try await f.submit(gpus: 0)
        if state == .queued { return job.id }
        if state == .cancelled {
            _ = try await f.queue.cancel(jobID: job.id)
            return job.id
        }
        let lease = try #require(try await f.queue.assign(jobID: job.id, nodeID: f.node, gpuIndices: []))
        if state == .scheduled { return job.id }
        if state == .failed {
            _ = try await f.queue.fail(lease, error: "test", retryable: false)
            return job.id
        }
        try await f.queue.start(lease)
        if state == .succeeded { try await f.queue.succeed(lease) }
        return job.id
    }

    @Test func jobsAreNeverDeletedNorTruncated() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            let job = try await f.submit()
            await #expect(throws: PostgresError.self) { try await client.query("DELETE FROM jobs WHERE id = \(job.id)") }
            await #expect(throws: PostgresError.self) { try await client.query("TRUNCATE jobs CASCADE") }
            await #expect(throws: PostgresError.self) { try await client.query("TRUNCATE allocations") }
            #expect(try await f.queue.job(job.id) != nil)
        }
    }

    /// A job whose worker exited 3 on a node ("retry on another node") is retried, and never
    /// placed on that node again.
    @Test func aFailureThatAvoidsTheNodeIsPlacedElsewhere() async throws {
        try await TestDatabase.with { client, _ in
            var config = JobQueue.Configuration()
            config.retryBaseDelay = .zero
            let f = try await QueueFixture(client: client, configuration: config)
            let job = try await f.submit(gpus: 1)
            let lease = try #require(try await f.queue.assign(jobID: job.id, nodeID: f.node, gpuIndices: [0]))
            try await f.queue.start(lease)
            let outcome = try await f.queue.fail(lease, error: "no space left on this node", retryable: true, avoidNode: true)
            #expect(outcome.state == .queued)
            #expect(try await f.queue.assign(jobID: job.id, nodeID: f.node, gpuIndices: [0]) == nil)
            let second = try #require(try await f.queue.assign(jobID: job.id, nodeID: f.otherNode, gpuIndices: [0]))
            #expect(second.attempt == 2)
            let detail = try await client.query("SELECT avoid_nodes FROM jobs WHERE id = \(job.id)")
            #expect(try detail[0].decode("avoid_nodes", as: [Int64].self) == [f.node])
        }
    }

    /// Refusals raised inside the functions arrive as the queue's named errors.
    @Test func refusalsAreNamedErrors() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            let job = try await f.submit()
            let lease = try #require(try await f.place())
            try await f.queue.start(lease.1)
            do {
                try await f.queue.start(lease.1)
                Issue.record("a second start was accepted")
            } catch let error as QueueError {
                #expect(error.code == .invalidTransition && error.jobID == job.id)
                #expect(error.message == "cannot start job \(job.id): it is running, and only a scheduled job can be")
            }
            var stale = lease.1
            stale.epoch -= 1
            let fenced = await #expect(throws: QueueError.self) { _ = try await f.queue.heartbeat(stale) }
            #expect(fenced?.code == .staleLease && fenced?.jobID == job.id)
            let missing = await #expect(throws: QueueError.self) { _ = try await f.queue.cancel(jobID: 999_999) }
            #expect(missing?.code == .notFound && missing?.message == "no job 999999")
        }
    }

    /// A pipeline is queued in one transaction: when a later step is refused, the earlier ones
    /// were never queued (not queued and then cancelled, which a leader could already have placed).
    @Test func aPipelineIsQueuedWholeOrNotAtAll() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            let refused = await #expect(throws: QueueError.self) {
                _ = try await f.queue.enqueueAll(count: 3) { earlier in
                    // The third step names a project that does not exist: refused by the database.
                    NewJob(kind: .train, accountID: f.account, projectID: earlier.count == 2 ? 424_242 : nil,
                           name: "step\(earlier.count)", afterOK: earlier)
                }
            }
            #expect(refused?.code == .invalidJob && refused?.message == "no project with id 424242")
            let jobs: Int = try await client.query("SELECT count(*) AS n FROM jobs")[0].decode("n")
            let events: Int = try await client.query("SELECT count(*) AS n FROM job_events")[0].decode("n")
            #expect(jobs == 0 && events == 0)
            let queued = try await f.queue.enqueueAll(count: 2) { earlier in
                NewJob(kind: .train, accountID: f.account, name: "step\(earlier.count)", afterOK: earlier)
            }
            #expect(queued.map(\.afterOK) == [[], [queued[0].id]])
        }
    }

    /// No Swift source writes `jobs`, `nodes` or `allocations` itself: the lifecycle functions of
    /// migration 0007 (embedded in EmbeddedMigrations.swift) are the only writers. (HearthTesting,
    /// the tests' fixtures, may write history by hand: it walks the same diagram, trigger-checked.)
    @Test func onlyTheLifecycleFunctionsWriteJobsNodesAndTheLedger() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources")
            .standardizedFileURL
        let writes = try Regex(#"(?i)(INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE)\s+(jobs|nodes|allocations)\b"#)
        var offenders: [String] = []
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)
        while let url = files?.nextObject() as? URL {
            guard url.pathExtension == "swift", url.lastPathComponent != "EmbeddedMigrations.swift",
                  !url.path.contains("/HearthTesting/") else { continue }
            let text = try String(contentsOf: url, encoding: .utf8)
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where line.contains(writes) {
                offenders.append("\(url.path.replacingOccurrences(of: sources.path + "/", with: "")):\(n + 1): \(line)")
            }
        }
        #expect(offenders.isEmpty, "write through a lifecycle function instead: \(offenders)")
    }
}

import Foundation
import HearthAPI
import HearthClient
import HearthCore
import HearthProcess
@testable import HearthDaemon
@testable import HearthStore
import HearthTesting
import Testing

/// A node answers a repeated listing from memory while nothing it shows can have changed
/// (``ListingCache``): a notification from any node, or a write through this node's socket, ends
/// that. The tests change rows straight in SQL, as another node would; a rename is a change no
/// notification announces, which shows whether a page was read again. They wait for what they
/// look for, up to a minute, instead of timing it.
@Suite struct ListingCacheTests {
    @Test func onlyPagesWithNothingOnANodeAreKept() async throws {
        try await TestDatabase.with { client, _ in
            let queue = JobQueue(client: client)
            let account = try await AccountStore(client: client).ensure(name: "lc", uid: 1001)
            let node = try await NodeStore(client: client).register(hostname: "lc-node", cpus: 1, memoryBytes: 0, gpus: [])
            let first = try await queue.enqueue(NewJob(kind: .eval, accountID: account)).job
            _ = try await queue.enqueue(NewJob(kind: .eval, accountID: account))
            let queries = APIQueries(client: client)
            var filter = APIQueries.JobFilter()
            #expect(try await queries.jobPage(filter).stable, "queued jobs only")
            #expect(try await queries.jobPage(filter, table: true).stable)

            let (placed, lease) = try #require(try await queue.placeNext(nodeID: node))
            #expect(placed.id == first.id)
            #expect(try await !queries.jobPage(filter).stable, "a scheduled job's state and node move without a listing")
            #expect(try await !queries.jobPage(filter, table: true).stable)
            filter.after = .init(id: first.id, individual: true)
            #expect(try await queries.jobPage(filter).stable, "a page without it is still stable")
            filter.after = nil

            // Queued again after it ran (a preemption): its elapsed time counts from that start.
            try await queue.start(lease)
            try await queue.requeuePreempted(lease)
            let requeued = try #require(try await queue.job(placed.id))
            #expect(requeued.state == .queued && requeued.startedAt != nil)
            #expect(try await !queries.jobPage(filter, table: true).stable)
        }
    }

    @Test func pagesAreKeptOnlyWhileListeningStableAndSmall() {
        let changes = ChangeEpoch()
        let cache = ListingCache(changes: changes)
        let page = APIQueries.JobPage(json: "[]", count: 0, next: nil, stable: true)
        cache.keep(page, for: "a", readAt: changes.current)
        #expect(cache.page(for: "a") == nil, "nobody listens: nothing is kept")
        changes.connected()
        cache.keep(page, for: "a", readAt: changes.current)
        #expect(cache.page(for: "a")?.json == "[]")
        var moving = page
        moving.stable = false
        cache.keep(moving, for: "b", readAt: changes.current)
        #expect(cache.page(for: "b") == nil, "a page with running jobs is not kept")
        let big = APIQueries.JobPage(json: String(repeating: " ", count: ListingCache.largestPage + 1), count: 0, next: nil, stable: true)
        cache.keep(big, for: "c", readAt: changes.current)
        #expect(cache.page(for: "c") == nil, "a page over the size limit is not kept")
        let before = changes.current
        changes.changed()
        #expect(cache.page(for: "a") == nil, "a change drops it")
        cache.keep(page, for: "a", readAt: before)
        #expect(cache.page(for: "a") == nil, "a page read before a change is not kept")
        for i in 0...ListingCache.capacity { cache.keep(page, for: "k\(i)", readAt: changes.current) }
        #expect(cache.page(for: "k0") == nil && cache.page(for: "k\(ListingCache.capacity)") != nil, "past capacity, all go")
        changes.disconnected()
        #expect(cache.page(for: "k\(ListingCache.capacity)") == nil, "the listener dropped")
    }

    /// Listings read queued jobs through index-only scans, slow until a vacuum has passed over
    /// new or cancelled rows (Migrations/0024): autovacuum visits `jobs` after 1 % of it changed,
    /// and the embedded cluster looks for such work every 10 s.
    @Test func autovacuumVisitsJobsSoon() async throws {
        try await TestDatabase.with { client, info in
            let options: String = try await client.query("""
                SELECT array_to_string(reloptions, ',') AS o FROM pg_class WHERE oid = 'jobs'::regclass
                """)[0].decode("o")
            #expect(options.contains("autovacuum_vacuum_scale_factor=0.01"), "\(options)")
            #expect(options.contains("autovacuum_vacuum_insert_scale_factor=0.01"), "\(options)")
            if info.embedded {
                let naptime: String = try await client.query("SELECT current_setting('autovacuum_naptime') AS n")[0].decode("n")
                #expect(naptime == "10s")
            }
        }
    }

    @Test func aKeptPageLastsUntilANotificationOrAWriteThroughThisNode() async throws {
        try await TestDatabase.with { client, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-listing-cache")
            // No GPUs here, so jobs asking for one stay queued.
            let daemon = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "lc", directory: dir)
            defer { daemon.child.signal(SIGKILL) }
            let api = ControlClient(socketPath: daemon.socketPath)
            func submit(_ name: String) throws -> JobView {
                try JobArrayTests.call(api, "POST", "/v1/jobs", #"{"kind": "eval", "gpus": 1, "name": "\#(name)"}"#,
                                       as: JobView.self, status: 201)
            }
            func names() throws -> [String] {
                try JobArrayTests.call(api, "GET", "/v1/jobs", as: [JobView].self).map(\.name)
            }
            func rename(_ id: Int64, _ name: String) async throws {
                try await client.query("UPDATE jobs SET name = \(name) WHERE id = \(id)")  // notifies nobody
            }
            let a = try submit("a"), b = try submit("b")
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(60)

            // Kept once the daemon's listener is up: a silent rename is not seen.
            var shown = "a", silent = "a", kept = false, round = 0
            while !kept && clock.now < deadline {
                round += 1
                _ = try names()  // read, and kept when the listener is up
                silent = "a\(round)"
                try await rename(a.id, silent)
                kept = try names() == [shown, "b"]
                if !kept { shown = silent; try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(kept, "the listing was never served from memory")

            // A change another node makes (a cancel, straight in SQL) notifies: the next listing
            // after it arrives is read afresh, with the rename too.
            _ = try await client.query("SELECT hearth_cancel(\(b.id)::bigint) AS state")
            var seen = try names()
            while seen != [silent] && clock.now < deadline { try await Task.sleep(for: .milliseconds(20)); seen = try names() }
            #expect(seen == [silent])

            // A write through this node is in the very next listing, with no wait.
            try await rename(a.id, "quiet")
            #expect(try names() == [silent], "kept again")
            let c = try submit("c")
            #expect(try names() == ["quiet", "c"])
            try await rename(a.id, "hushed")
            let cancelled = try JobArrayTests.call(api, "POST", "/v1/jobs/\(c.id)/cancel", as: CancelResponse.self)
            #expect(cancelled.outcome == "cancelled")
            #expect(try names() == ["hushed"])
            // A refused write moves it too (it may have written before it failed).
            try await rename(a.id, "still")
            #expect(try api.request("POST", "/v1/jobs", body: Data(#"{"kind": "nope"}"#.utf8)).status == 400)
            #expect(try names() == ["still"])
        }
    }
}

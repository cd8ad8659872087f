import Foundation
import HearthAPI
import HearthClient
import HearthCore
import HearthProcess
@testable import HearthDaemon
import HearthStore
import HearthTesting
import Testing

/// An array is one row until its elements are needed (Migrations/0019_array_templates.sql): the
/// submission writes the first element and a template; expanding writes the rest exactly once,
/// as the elements a batch of the same jobs would have been.
@Suite(.serialized, .timeLimit(.minutes(10))) struct ArrayTemplateTests {
    static let spec = #"{"seed": "{index}", "out": "o/{index}", "steps": 3}"#

    @Test func anArrayIsOneRowUntilItsElementsAreWrittenOnceEach() async throws {
        try await TestDatabase.with { client, _ in
            let queue = JobQueue(client: client)
            let account = try await AccountStore(client: client).ensure(name: "ann", uid: 1001)
            let indexes = Array(stride(from: 0, to: 3000, by: 3))  // 1,000 elements: 0, 3, … 2997
            let template = NewJob(kind: .eval, accountID: account, name: "lr-{index}", specJSON: Self.spec, priority: -5, gpus: 1)
            let id = try await queue.enqueueArray(template, indexes: indexes, parallel: 3).id

            func count(_ sql: String) async throws -> Int { try await client.query(.init(unsafeSQL: sql))[0].decode("n") }
            #expect(try await count("SELECT count(*) AS n FROM jobs WHERE array_id = \(id)") == 1, "one row before expansion")
            #expect(try await count("SELECT cardinality(pending) AS n FROM job_arrays WHERE id = \(id)") == 999)

            // Two expanders at once (a daemon after its answer, the leader before its pass): each
            // element is written once.
            async let byArray = queue.expandArrays(arrayID: id)
            async let byAll = queue.expandArrays()
            let written = try await byArray + byAll
            #expect(written == 999)
            #expect(try await queue.expandArrays() == 0, "nothing left to write")
            #expect(try await count("SELECT count(*) AS n FROM job_arrays") == 0)

            let rows = try await client.query("""
                SELECT id, array_index, name, spec::text AS spec, spec_sha256, priority, gpus, array_parallel, run_at::text AS run_at
                FROM jobs WHERE array_id = \(id) ORDER BY id
                """)
            #expect(rows.count == 1000)
            #expect(try rows.map { try $0.decode("array_index", as: Int.self) } == indexes, "ids ascend with the indexes' order")
            #expect(Set(try rows.map { try $0.decode("run_at", as: String.self) }).count == 1, "every element runnable when the first is")
            for row in [rows[0], rows[1], rows[500], rows[999]] {
                let index: Int = try row.decode("array_index")
                #expect(try row.decode("name", as: String.self) == "lr-\(index)")
                #expect(try row.decode("priority", as: Int.self) == -5 && row.decode("gpus", as: Int.self) == 1)
                #expect(try row.decode("array_parallel", as: Int.self) == 3)
                // The same job submitted alone, with the spec the daemon checked for this element,
                // is stored with the same spec and hash.
                let alone = try await queue.enqueue(NewJob(
                    kind: .eval, accountID: account, specJSON: ArraySpec.substitute(Self.spec, index: index))).job
                let stored = try await client.query("SELECT spec::text AS spec, spec_sha256 FROM jobs WHERE id = \(alone.id)")[0]
                #expect(try row.decode("spec", as: String.self) == stored.decode("spec", as: String.self))
                #expect(try row.decode("spec_sha256", as: String.self) == stored.decode("spec_sha256", as: String.self))
            }
            #expect(try await count("""
                SELECT count(*) AS n FROM job_events WHERE event = 'submitted' AND job_id IN (SELECT id FROM jobs WHERE array_id = \(id))
                """) == 1000, "every element has its submitted event")

            // A one-element array leaves no template; an empty one is refused with a sentence.
            let single = try await queue.enqueueArray(template, indexes: [7], parallel: nil).id
            #expect(try await count("SELECT count(*) AS n FROM job_arrays WHERE id = \(single)") == 0)
            let empty = await #expect(throws: QueueError.self) { try await queue.enqueueArray(template, indexes: [], parallel: nil) }
            #expect(empty?.message.contains("no indexes") == true)
        }
    }

    @Test func aTemplateLeftByADaemonThatDiedIsWrittenByTheLeadersPass() async throws {
        try await TestDatabase.with { client, info in
            // The array is queued the way a daemon does before answering; that daemon then "dies"
            // (nothing here expands it).
            let queue = JobQueue(client: client)
            let account = try await AccountStore(client: client).ensure(name: "bob", uid: 1002)
            let id = try await queue.enqueueArray(
                NewJob(kind: .eval, accountID: account, specJSON: Self.spec, gpus: 1), indexes: Array(0..<50), parallel: nil).id
            let dir = try BuiltProducts.temporaryDirectory("hearth-array-template")
            let daemon = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "lead", directory: dir)
            defer { daemon.child.signal(SIGKILL) }
            // The leader's pass expands before reading the queue (no request here asks for it).
            let deadline = ContinuousClock.now + .seconds(60)
            var n = 0
            while n < 50, ContinuousClock.now < deadline {
                n = try await client.query("SELECT count(*) AS n FROM jobs WHERE array_id = \(id)")[0].decode("n")
                if n < 50 { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(n == 50)
            #expect(try await client.query("SELECT count(*) AS n FROM job_arrays")[0].decode("n", as: Int.self) == 0)
        }
    }

    @Test func whatWasSubmittedIsWhatTheNextRequestSees() async throws {
        try await TestDatabase.with { client, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-array-settle")
            let daemon = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "settle", directory: dir)
            defer { daemon.child.signal(SIGKILL) }
            let api = ControlClient(socketPath: daemon.socketPath)
            for round in 0..<3 {
                let first = try JobArrayTests.call(api, "POST", "/v1/arrays",
                    #"{"kind": "eval", "gpus": 1, "spec": {"seed": "{index}"}, "array": "0-1999"}"#, as: JobView.self, status: 201)
                #expect(first.arraySize == 2000)
                // At once, with no pause: every element is listed and each can be named.
                let listed = try JobArrayTests.call(api, "GET", "/v1/jobs?array=\(first.id)&limit=5000", as: [JobView].self)
                #expect(listed.count == 2000, "round \(round)")
                let last = try JobArrayTests.call(api, "GET", "/v1/arrays/\(first.id)/1999", as: JobView.self)
                #expect(last.arrayIndex == 1999)
                let cancelled = try JobArrayTests.call(api, "POST", "/v1/arrays/\(first.id)/cancel", as: ArrayCancelResponse.self)
                #expect(cancelled.cancelled == 2000)
            }
            _ = client
        }
    }
}

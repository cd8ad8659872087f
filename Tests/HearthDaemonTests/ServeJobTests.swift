import Foundation
import HearthClient
import HearthCore
import HearthDaemon
import HearthStore
import HearthTesting
import Testing

/// A serve job run by the runner as a real `hearth-worker serve` process: its endpoint is
/// recorded, answers over HTTP, keeps its lease past the lease's length, and is retired when the
/// job is cancelled (the worker drains and exits 0).
@Suite(.serialized, .timeLimit(.minutes(10))) struct ServeJobTests {
    @Test func aServeJobRegistersItsEndpointKeepsItsLeaseAndDrainsOnCancel() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await JobRunnerTests.Fixture(client: client)
            // A checkpoint to serve, from a short real training job.
            let train = try await f.submit(steps: 4)
            let (_, _, trained) = try await f.claimAndRun()
            #expect(await outcome(of: trained) == .succeeded)
            let checkpoint = try #require(try await f.queue.latestCheckpoint(jobID: train.id))

            let spec = """
                {"checkpoint": "\(checkpoint.path)", "tokenizer": "\(f.data)/tokenizer.json", "port": 0, "max_concurrent": 2}
                """
            let job = try await f.queue.enqueue(NewJob(kind: .serve, accountID: f.account, specJSON: spec)).job
            let (_, lease, task) = try await f.claimAndRun()
            var endpoints: [EndpointRecord] = []
            for _ in 0..<300 where endpoints.isEmpty {
                endpoints = try await f.queue.liveEndpoints()
                if endpoints.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
            }
            let endpoint = try #require(endpoints.first)
            #expect(endpoint.jobID == job.id && endpoint.node == "runner-node" && endpoint.url.hasPrefix("http://127.0.0.1:"))
            #expect(endpoint.context == 8)

            // Past the lease's length (3 s here) the job still runs under the same lease: wait until
            // heartbeats have carried it beyond its first expiry.
            let firstExpiry = try #require(try await f.queue.job(job.id)?.leaseExpiresAt)
            try await EndToEndTests.waitUntil("the serve job's lease outlives its first expiry", timeout: 30) {
                let now: Date = try await f.client.query("SELECT now() AS now")[0].decode("now")
                let expiry = try await f.queue.job(job.id)?.leaseExpiresAt ?? .distantPast
                return now > firstExpiry && expiry > now
            }
            let running = try #require(try await f.queue.job(job.id))
            #expect(running.state == .running && running.leaseEpoch == lease.epoch)

            // The endpoint streams a completion to a client with the key hearthd put in the spec
            // (migration 0008), and refuses one without it.
            let stored = try #require(try await f.queue.job(job.id))
            let key = try #require((try JSONSerialization.jsonObject(with: Data(stored.specJSON.utf8)) as? [String: Any])?["api_key"] as? String)
            #expect(key.hasPrefix("hk-") && key.count == 67)
            let request = Data(#"{"prompt": "the", "max_tokens": 5, "temperature": 0, "stream": true}"#.utf8)
            #expect(throws: EventStreamClient.Failure.self) {
                try EventStreamClient.post(url: endpoint.url, path: "/v1/completions", body: request) { _ in }
            }
            var events: [String] = []
            try EventStreamClient.post(url: endpoint.url, path: "/v1/completions", body: request, bearer: key) {
                events.append($0)
            }
            #expect(events.last == "[DONE]")
            #expect(events.count == 5 + 2)  // one per token, the finish chunk, [DONE]

            #expect(try await f.queue.cancel(jobID: job.id) == .requested)
            #expect(await outcome(of: task) == .cancelled)
            #expect(try await f.queue.liveEndpoints().isEmpty)
            let rows = try await client.query("SELECT state FROM endpoints WHERE job_id = \(job.id)")
            #expect(try rows.map { try $0.decode("state", as: String.self) } == ["stopped"])
            let log = try String(contentsOf: f.dir.appendingPathComponent("jobs/\(job.id)/attempt-1.log"), encoding: .utf8)
            #expect(!log.contains("error"))
        }
    }
}

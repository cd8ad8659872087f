import HearthCore
import HearthTesting
import Synchronization
import Testing

@testable import HearthStore

/// Notifications name why they were sent (Migrations/0016), and a listener wakes only for the
/// reasons it acts on: an agent for placements, the leader for submissions and freed capacity.
@Suite(.serialized) struct JobWakeupReasonsTests {
    @Test func payloadsNameTheirReason() {
        #expect(JobWakeups.Reason(payload: "42") == .submitted)
        #expect(JobWakeups.Reason(payload: "batch") == .submitted)
        #expect(JobWakeups.Reason(payload: "placed") == .placed)
        #expect(JobWakeups.Reason(payload: "freed") == .freed)
        #expect(JobWakeups.Reason(payload: "changed") == .changed)
        #expect(JobWakeups.Reason(payload: "") == .unknown)
        #expect(JobWakeups.Reason(payload: "something-newer") == .unknown)
    }

    @Test func eachListenerWakesForItsReasonsOnly() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            let agent = JobWakeups(configuration: client.configuration, reasons: [.placed])
            let leader = JobWakeups(configuration: client.configuration, reasons: [.submitted, .freed])
            let listeners = [Task { await agent.run() }, Task { await leader.run() }]
            defer { listeners.forEach { $0.cancel() } }
            // The "now listening" wake-ups, of unknown cause, wake every listener. (Positive waits
            // allow a minute: they return at the wake-up, and a loaded full run can be slow.)
            #expect(await agent.wait(timeout: .seconds(60)))
            #expect(await leader.wait(timeout: .seconds(60)))
            #expect(agent.takeReasons() == [.unknown] && leader.takeReasons() == [.unknown])

            // A submission wakes the leader, not the agent.
            _ = try await f.submit()
            #expect(await leader.wait(timeout: .seconds(60)))
            #expect(leader.takeReasons() == [.submitted])
            #expect(await agent.wait(timeout: .milliseconds(300)) == false, "a submission woke the agent")

            // A placement wakes the agent, not the leader (whose own placement it is).
            let placed = try #require(try await f.place())
            #expect(await agent.wait(timeout: .seconds(60)))
            #expect(agent.takeReasons() == [.placed])
            #expect(await leader.wait(timeout: .milliseconds(300)) == false, "a placement woke the leader")

            // A start is neither's business; the end of the attempt frees capacity: the leader's.
            try await f.queue.start(placed.1)
            try await f.queue.succeed(placed.1)
            #expect(await leader.wait(timeout: .seconds(60)))
            #expect(leader.takeReasons() == [.freed])
            #expect(await agent.wait(timeout: .milliseconds(300)) == false, "a start or an end woke the agent")
            #expect(agent.takeReasons().isEmpty)
        }
    }

    /// The listener waits long for a notification (10 s in the daemon; five minutes here);
    /// cancelling it (a daemon shutting down) must end that wait at once, not when it times out.
    @Test func cancellingAListenerEndsItsWaitAtOnce() async throws {
        try await TestDatabase.with { client, _ in
            let listener = JobWakeups(configuration: client.configuration, reasons: [.submitted], longestWait: .seconds(300))
            let stopped = Mutex(false)
            let task = Task {
                await listener.run()
                stopped.withLock { $0 = true }
            }
            #expect(await listener.wait(timeout: .seconds(60)), "the listener never connected")
            try await Task.sleep(for: .milliseconds(200))  // into its long wait
            let clock = ContinuousClock()
            let started = clock.now
            task.cancel()
            // A minute allows for a loaded run; the wait itself would last five.
            while !stopped.withLock({ $0 }) && clock.now - started < .seconds(60) {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(stopped.withLock { $0 }, "a cancelled listener was still waiting after \(clock.now - started)")
        }
    }

    @Test func aStatementThatChangesManyJobsSendsOneNotificationPerReason() async throws {
        try await TestDatabase.with { client, _ in
            let f = try await QueueFixture(client: client)
            for _ in 0..<20 { _ = try await f.submit() }
            let connection = try await PostgresConnection.connect(conninfo: client.configuration.conninfo,
                                                                  database: client.configuration.database)
            defer { connection.close() }
            try await connection.execute(unsafeSQL: "LISTEN \(JobQueue.notificationChannel)")
            // Twenty queued jobs cancelled in one statement (hearth_cancel_queued_elements' way).
            try await client.query("UPDATE jobs SET state = 'cancelled', finished_at = now() WHERE state = 'queued'")
            var notes: [PostgresNotification] = []
            let deadline = ContinuousClock.now + .seconds(60)
            while notes.isEmpty, ContinuousClock.now < deadline {
                notes += try await connection.waitForNotifications(timeout: .milliseconds(200))
            }
            notes += try await connection.waitForNotifications(timeout: .milliseconds(300))
            #expect(notes.map(\.payload) == ["changed"], "\(notes.map(\.payload))")
        }
    }
}

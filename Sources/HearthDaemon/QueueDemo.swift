import Foundation
import HearthCore
import HearthStore

/// The foundation's end-to-end run: jobs go through the real queue on a real PostgreSQL and the
/// ledger shows what each attempt held. Grows into the full train → eval → serve run later.
public struct QueueDemo: Sendable {
    public let database: Database
    public init(database: Database) { self.database = database }

    /// Runs the demo, printing each step through `say`.
    public func run(say: @Sendable (String) -> Void) async throws {
        let client = database.client
        let queue = JobQueue(client: client)
        let accounts = AccountStore(client: client)
        let nodes = NodeStore(client: client)
        let user = ProcessInfo.processInfo.environment["SUDO_USER"] ?? currentUser()
        let account = try await accounts.ensure(name: user, uid: Int(getuid()))
        let host = ProcessInfo.processInfo.hostName
        let gpus = (0..<2).map { NodeStore.GPU(index: $0, model: "simulated-GPU", memoryBytes: 16 << 30, simulated: true) }
        let node = try await nodes.register(hostname: host, cpus: ProcessInfo.processInfo.activeProcessorCount,
                                            memoryBytes: Int64(ProcessInfo.processInfo.physicalMemory), gpus: gpus)
        say("node \(host) (id \(node)) registered with 2 simulated GPUs")

        let tag = String(Int(Date().timeIntervalSince1970))
        var submitted: [Job] = []
        for (i, (kind, gpus)) in [("train", 2), ("eval", 1), ("train", 1), ("serve", 0)].enumerated() {
            let s = try await queue.enqueue(NewJob(
                kind: kind, accountID: account, name: "demo-\(kind)-\(i)", specJSON: #"{"demo": true}"#, gpus: gpus,
                idempotencyKey: "demo-\(tag)-\(i)", maxAttempts: 2))
            submitted.append(s.job)
            say("submitted job \(s.job.id): \(kind), \(gpus) GPU(s), as \(user)")
        }
        // Idempotent resubmission returns the same job.
        let again = try await queue.enqueue(NewJob(
            kind: "train", accountID: account, name: "demo-train-0", specJSON: #"{"demo": true}"#, gpus: 2,
            idempotencyKey: "demo-\(tag)-0", maxAttempts: 2))
        say("resubmitted with the same idempotency key: got job \(again.job.id) back (created: \(again.created))")

        var handled = 0
        while let (job, lease) = try await queue.claim(nodeID: node, freeGPUIndices: [0, 1]) {
            try await queue.start(lease)
            _ = try await queue.heartbeat(lease)
            if job.id == submitted[2].id && job.attempt == 1 {
                let outcome = try await queue.fail(lease, error: "simulated failure on the first attempt")
                say("job \(job.id) attempt \(job.attempt) failed → \(outcome.state.rawValue); retry made due now for the demo")
                try await client.query("UPDATE jobs SET run_at = now() WHERE id = \(job.id)")
            } else {
                try await queue.succeed(lease, resultJSON: #"{"ok": true}"#)
                say("job \(job.id) attempt \(job.attempt) claimed on GPUs \(Array([0, 1].prefix(job.gpus))) → running → succeeded")
            }
            handled += 1
        }
        let cancelled = try await queue.enqueue(NewJob(kind: "train", accountID: account, name: "demo-cancelled"))
        _ = try await queue.cancel(jobID: cancelled.job.id)
        say("job \(cancelled.job.id) cancelled while queued")

        say("")
        say("ledger (one row per attempt; never deleted):")
        say(pad(["alloc", "job", "attempt", "node", "gpus", "indices", "seconds", "end reason"]))
        for job in submitted {
            for a in try await queue.allocations(jobID: job.id) {
                let secs = String(format: "%.3f", (a.endedAt ?? Date()).timeIntervalSince(a.startedAt))
                say(pad(["\(a.id)", "\(a.jobID)", "\(a.attempt)", "\(a.nodeID)", "\(a.gpus)",
                         a.gpuIndices.map(String.init).joined(separator: ","), secs, a.endReason?.rawValue ?? "open"]))
            }
        }
        let events = try await queue.events(jobID: submitted[2].id).map(\.event)
        say("")
        say("events of job \(submitted[2].id): \(events.joined(separator: " → "))")
    }

    private func pad(_ cells: [String]) -> String {
        let widths = [6, 6, 8, 5, 5, 8, 9, 10]
        return zip(cells, widths).map { $0.padding(toLength: max($1, $0.count), withPad: " ", startingAt: 0) }
            .joined(separator: " ")
    }

    private func currentUser() -> String {
        guard let pw = getpwuid(getuid()) else { return "root" }
        return String(cString: pw.pointee.pw_name)
    }
}

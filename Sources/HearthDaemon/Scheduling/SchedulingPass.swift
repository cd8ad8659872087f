import Foundation
import HearthCore
import HearthScheduler
import HearthStore
import Logging

/// One scheduling pass in the daemon: snapshot → `Scheduler.schedule` → placements and
/// preemption requests written to PostgreSQL. Run by the leader only.
struct SchedulingPass: Sendable {
    /// What a pass did, for logs, status lines and `scheduler_passes`.
    struct Summary: Sendable, Hashable {
        var pending = 0
        var placed = 0
        var preempted = 0
        var reserved = 0
        /// Placements refused because the queue changed since the snapshot (retried next pass).
        var stale = 0
        /// Seconds spent in `Scheduler.schedule` alone (the pure pass, no I/O).
        var passSeconds = 0.0
        /// Seconds for the whole pass, snapshot and writes included.
        var totalSeconds = 0.0
        var madeDecisions: Bool { placed + preempted > 0 }
    }

    let loader: SnapshotLoader
    let scheduler: Scheduler
    let queue: JobQueue
    let nodeID: Int64
    let logger: Logger

    /// How old an array template must be before the leader writes its elements.
    static let orphanedArrayAge: Duration = .seconds(1)

    func run() async throws -> Summary {
        let clock = ContinuousClock()
        let begin = clock.now
        // Arrays still waiting as templates a second after their submission (their daemon died
        // before writing the elements, or could not) are written before the queue is read.
        // Fresher ones are their own daemon's to write, 20 ms after it answered: writing them here
        // too raced it for the lock, and for the CPU while the submitter read its answer.
        try await queue.expandArrays(olderThan: Self.orphanedArrayAge)
        let loaded = try await loader.load()
        let t0 = clock.now
        let plan = scheduler.schedule(loaded.snapshot, now: loaded.now)
        var summary = Summary(pending: loaded.snapshot.pending.count, passSeconds: (clock.now - t0).seconds)
        // The pass's placements in one transaction (one commit, not one per job).
        let placements: [JobQueue.Placement] = plan.decisions.compactMap {
            guard case .place(let job, let node, let gpus) = $0 else { return nil }
            return JobQueue.Placement(jobID: job, nodeID: node, gpuIndices: gpus)
        }
        for (p, lease) in zip(placements, try await queue.assignAll(placements)) {
            guard lease != nil else { summary.stale += 1; continue }
            summary.placed += 1
            logger.info("placed job", metadata: [
                "job.id": "\(p.jobID)", "node.name": "\(loaded.nodeNames[p.nodeID] ?? "\(p.nodeID)")",
                "gpu.indices": "\(p.gpuIndices)", "hearth.event": "placed"])
        }
        for decision in plan.decisions {
            switch decision {
            case .place:
                continue
            case .preempt(let job, let node, let reason, _):
                if try await queue.requestPreemption(jobID: job, reason: Self.describe(reason)) {
                    summary.preempted += 1
                    logger.notice("preempting job: \(Self.describe(reason))", metadata: [
                        "job.id": "\(job)", "node.name": "\(loaded.nodeNames[node] ?? "\(node)")", "hearth.event": "preempt"])
                }
            case .reserve:
                summary.reserved += 1
            }
        }
        summary.totalSeconds = (clock.now - begin).seconds
        return summary
    }

    /// Records a pass that made decisions, or one a minute otherwise, and forgets passes older
    /// than a day (the table is for status and metrics, not history: the ledger is history).
    func record(_ s: Summary, force: Bool) async throws {
        guard s.madeDecisions || force else { return }
        try await queue.client.query("""
            SELECT hearth_record_pass(\(nodeID)::bigint, \(s.totalSeconds)::float8, \(s.pending)::int, \(s.placed)::int,
                                      \(s.preempted)::int, \(s.reserved)::int)
            """)
    }

    /// The reason as the job's event detail and the log show it.
    static func describe(_ reason: PreemptionReason) -> String {
        switch reason {
        case .higherPriority(let job): return "making room for higher-priority job \(job)"
        case .donorWindowClosing(let closes):
            return "the donor's availability window closes at \(ISO8601DateFormatter().string(from: closes))"
        case .outsideDonorWindow: return "the node is outside its donor's availability window"
        case .donorReclaim: return "the donor reclaimed the node"
        case .kindNotAllowed: return "the donor no longer allows this kind of job on the node"
        }
    }
}

extension Duration {
    /// The duration in seconds as a `Double`.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

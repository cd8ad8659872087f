import Foundation
import HearthCore
import HearthStore
import Logging
import ServiceLifecycle
import Synchronization

/// The fleet-wide duties that exactly one node performs at a time: the node holding a session
/// advisory lock on PostgreSQL. When that node's session dies (crash, kill -9, lost network),
/// the server releases the lock and another node's leader takes over within one retry interval.
///
/// Duties: the scheduling pass (placements and preemptions, see ``SchedulingPass``), run when
/// capacity comes free or jobs are submitted (LISTEN/NOTIFY, ``nextPass(after:wakeups:)``) and at
/// least every `interval`; rescuing jobs whose lease lapsed; marking nodes that stopped
/// heartbeating as down.
struct Leader: Service {
    /// The advisory lock key ("hearth-le" in ASCII).
    static let lockKey: Int64 = 0x6865_6172_7468_6C65
    /// The least time from one pass's end to the next pass when capacity came free: the freed
    /// slot is filled at once unless a pass just ran, so a stream of job ends costs one pass per
    /// this interval at most.
    static let freedSpacing: Duration = .milliseconds(20)
    /// The same for submissions and other changes: a burst of submissions (a script submitting in
    /// a loop) is folded into one pass per this interval, not one per submission; each pass reads
    /// the whole queue, which competes with the submissions for the node's CPU.
    static let routineSpacing: Duration = .milliseconds(100)

    /// A pass costs what it reads, so with a long queue the fixed spacings above would keep a core
    /// busy: with 100,000 jobs pending a pass took about 0.4 s, and one a second with nothing to
    /// do kept hearthd and PostgreSQL at 42 % of a core (Docs/BENCHMARKS.md, issue 16). The
    /// periodic wait and the wait after submissions are therefore also at least ten times the
    /// last pass's duration, so those passes take at most a tenth of a core; a short queue's
    /// passes take milliseconds and keep the spacings above. Passes after freed slots are not
    /// stretched: they place jobs, and stretching them even to the last pass's duration slowed a
    /// 300-element array's completion by up to a fifth.
    static let paceFactor = 10
    /// The longest a wait is stretched to (the periodic pass also rescues expired leases: 10 s at
    /// most beside a 30 s lease).
    static let paceCap: Duration = .seconds(10)

    /// The wait before the next pass: `base`, stretched to ``paceFactor`` times the last pass's
    /// duration, at most ``paceCap`` (never below `base`).
    static func spacing(_ base: Duration, lastPass: Duration) -> Duration {
        max(base, min(lastPass * paceFactor, paceCap))
    }

    let configuration: PostgresClient.Configuration
    let queue: JobQueue
    let nodeDownAfter: Duration
    let interval: Duration
    let logger: Logger
    let isLeader: LeaderFlag
    let scheduling: SchedulingPass

    func run() async throws {
        // Not for placements: they are this leader's own, and agents act on them.
        let wakeups = JobWakeups(configuration: configuration, reasons: [.submitted, .freed, .changed])
        let listener = Task { await wakeups.run() }
        defer { listener.cancel() }
        let clock = ContinuousClock()
        var lastHousekeeping = clock.now - .seconds(3600)
        var lastRecorded = clock.now - .seconds(3600)
        var lastPass: Duration = .zero
        var loopFailing = RepeatingWarning("the leader loop", logger: logger)
        var passFailing = RepeatingWarning("the scheduling pass", logger: logger)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let connection = try await PostgresConnection.connect(
                    conninfo: configuration.conninfo, applicationName: "hearthd-leader", database: configuration.database)
                defer { connection.close(); isLeader.set(false) }
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    if !isLeader.get() {
                        let rows = try await connection.query("SELECT pg_try_advisory_lock(\(Self.lockKey)) AS got")
                        if try rows[0].decode("got", as: Bool.self) {
                            isLeader.set(true)
                            logger.notice("this node is now the fleet leader (scheduler, rescuer, node watch)", metadata: [
                                "hearth.event": "leader-elected"])
                        }
                    }
                    // Only once a statement worked: a server that accepts connections and then
                    // refuses the lock's query must not alternate a warning and a notice each turn.
                    loopFailing.succeeded()
                    guard isLeader.get() else {
                        try? await Task.sleep(for: interval)
                        continue
                    }
                    // The duties use the pool, not the lock's connection: their failures (a
                    // statement timeout, a pool reconnect) are logged and retried next turn
                    // without giving up leadership.
                    do {
                        if clock.now - lastHousekeeping >= .seconds(1) {
                            try await duties()
                            lastHousekeeping = clock.now
                        }
                        let passStarted = clock.now
                        let summary = try await scheduling.run()
                        lastPass = clock.now - passStarted
                        let minute = clock.now - lastRecorded >= .seconds(60)
                        try await scheduling.record(summary, force: minute)
                        if summary.madeDecisions || minute { lastRecorded = clock.now }
                        passFailing.succeeded()
                        if summary.madeDecisions {
                            logger.debug("scheduling pass", metadata: [
                                "pending": "\(summary.pending)", "placed": "\(summary.placed)", "preempted": "\(summary.preempted)",
                                "pass.ms": "\(String(format: "%.2f", summary.passSeconds * 1000))"])
                        }
                    } catch {
                        passFailing.failed("scheduling pass failed; retrying: \(error)")
                    }
                    await nextPass(after: clock.now, wakeups: wakeups, lastPass: lastPass)
                }
            } catch {
                loopFailing.failed("leader loop: \(error)")
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// Returns when the next pass is due: after `interval` with nothing to do; soon after capacity
    /// came free (or after a wake-up of unknown cause), at most ``freedSpacing`` after the last
    /// pass; after submissions and other changes, ``routineSpacing`` after it, unless capacity
    /// comes free meanwhile. The first two stretch with a long last pass (``spacing(_:lastPass:)``).
    func nextPass(after last: ContinuousClock.Instant, wakeups: JobWakeups, lastPass: Duration) async {
        let clock = ContinuousClock()
        let idle = Self.spacing(interval, lastPass: lastPass)
        let routine = Self.spacing(Self.routineSpacing, lastPass: lastPass)
        guard await wakeups.wait(timeout: idle) else { return }
        var spacing = routine
        while !Task.isCancelled {
            if !wakeups.takeReasons().isDisjoint(with: [.freed, .unknown]) { spacing = Self.freedSpacing }
            let now = clock.now, due = last + spacing
            guard now < due else { return }
            if spacing == Self.freedSpacing {
                try? await Task.sleep(until: due, clock: clock)
                return
            }
            _ = await wakeups.wait(timeout: due - now)  // a freed slot cuts the routine wait short
        }
    }

    private func duties() async throws {
        let nodes = NodeStore(client: queue.client)
        var lost = try await nodes.markDown(notHeardFor: nodeDownAfter)
        let rescued = try await queue.rescueExpired()
        for job in rescued {
            logger.notice("lease expired; job requeued", metadata: [
                "job.id": "\(job.jobID)", "node.id": "\(job.nodeID)", "job.state": "\(job.state.rawValue)",
                "hearth.event": "lease-expired"])
        }
        // A node that let a lease lapse and has gone quiet too is down now, before the pass that
        // follows could place the requeued job back on it (Migrations/0026).
        lost += try await nodes.markDown(holders: Array(Set(rescued.map(\.nodeID))), notHeardFor: nodeDownAfter / 2)
        for name in lost {
            logger.notice("node stopped heartbeating; marked down", metadata: ["node.name": "\(name)", "hearth.event": "node-lost"])
        }
    }
}

/// Whether this node is the leader now (for status lines).
final class LeaderFlag: Sendable {
    private let value = Mutex(false)
    func get() -> Bool { value.withLock { $0 } }
    func set(_ v: Bool) { value.withLock { $0 = v } }
}

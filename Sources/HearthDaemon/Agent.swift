import Foundation
import HearthCore
import HearthStore
import Logging
import ServiceLifecycle
import Synchronization

/// The node's agent: keeps the node registered and alive, and runs each job the leader's
/// scheduling pass placed on this node (``JobQueue/assign(jobID:nodeID:gpuIndices:)``) as a
/// supervised worker (``JobRunner``) with exactly the GPUs the placement gave it. On graceful
/// shutdown it stops taking placements and preempts its workers (they checkpoint and are
/// requeued), then returns.
struct Agent: Service {
    let queue: JobQueue
    let nodes: NodeStore
    let nodeID: Int64
    let gpuIndices: [Int]
    let configuration: DaemonConfiguration
    let runner: JobRunner
    let wakeups: JobWakeups
    /// Where the work loop reports itself alive (`WATCHDOG=1`) and its status line.
    let status: DaemonStatus
    let faults: FaultInjection
    let logger: Logger
    /// The kinds this node runs: the worker's, and volunteers' own programs (the donor's policy may narrow them).
    static let kinds = ["train", "eval", "distill", "serve", "command"]
    /// The notifications that wake the agent to read its placements: placements (and changes of
    /// unknown use), not submissions nor ended jobs, which the leader acts on.
    static let wakeReasons: Set<JobWakeups.Reason> = [.placed, .changed]

    /// The attempts this agent runs now, by job id.
    private final class Running: Sendable {
        private let ids = Mutex<Set<Int64>>([])
        func snapshot() -> [Int64] { ids.withLock { Array($0) } }
        var count: Int { ids.withLock { $0.count } }
        func insert(_ id: Int64) { _ = ids.withLock { $0.insert(id) } }
        func remove(_ id: Int64) { _ = ids.withLock { $0.remove(id) } }
    }

    func run() async throws {
        // A database that goes away now (its server restarting, a failover) is waited out however
        // long it takes, as the heartbeat does later: exiting would not bring it back sooner.
        // The watchdog is fed meanwhile: waiting is not being wedged. `nil`: stopping meanwhile.
        let waiting = { status.workLoopTurn(running: 0) }
        guard let orphans = try await DatabaseRetry.whileUnreachable(
            "the jobs held before the restart", logger, within: nil, waiting: waiting, { try await runner.releaseOrphans(nodeID: nodeID) })
        else { return }
        for orphan in orphans {
            logger.notice("requeued a job this node held before it restarted", metadata: [
                "job.id": "\(orphan.jobID)", "job.state": "\(orphan.state.rawValue)", "hearth.event": "orphan-requeued"])
        }
        guard try await DatabaseRetry.whileUnreachable("the node's capabilities", logger, within: nil, waiting: waiting, {
            try await nodes.setCapabilities(nodeID: nodeID, cpuSlots: configuration.slots, kinds: Self.kinds)
        }) != nil else { return }
        logger.info("node up", metadata: ["hearth.event": "node-up", "node.id": "\(nodeID)"])
        let running = Running()
        let listener = Task { await wakeups.run() }
        defer { listener.cancel() }
        // Stopping: the node is marked down at once, beside the SIGTERMs to its workers, so no pass
        // places their requeued jobs (or anything else) back on a node that will not start them.
        await withGracefulShutdownHandler { await work(running) } onGracefulShutdown: { [nodes, nodeID, logger] in
            Task {
                do {
                    let state = try await nodes.stopping(nodeID: nodeID)
                    logger.info("node stopping: \(state?.rawValue ?? "unknown"); nothing more is placed on it",
                                metadata: ["hearth.event": "node-stopping"])
                } catch {
                    logger.warning("could not mark the stopping node down (the leader will, once its heartbeat lapses): \(error)")
                }
            }
        }
    }

    /// The work loop: starts each attempt placed on this node until shutdown, then waits for them.
    private func work(_ running: Running) async {
        var placements = RepeatingWarning("reading this node's placements", logger: logger)
        await withDiscardingTaskGroup { group in
            group.addTask { await heartbeatLoop() }
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                if faults.isWedged {
                    // Test hook: no progress, so no watchdog ping.
                    try? await Task.sleep(for: .milliseconds(200))
                    continue
                }
                // Each turn proves the loop (and its database calls) still make progress.
                status.workLoopTurn(running: running.count)
                do {
                    let assigned = try await queue.assignments(nodeID: nodeID, excluding: running.snapshot())
                    placements.succeeded()
                    for a in assigned {
                        running.insert(a.job.id)
                        logger.debug("starting placed job", metadata: ["job.id": "\(a.job.id)", "gpu.indices": "\(a.gpuIndices)"])
                        group.addTask {
                            // Drain: the runner's task is cancelled on graceful shutdown → SIGTERM.
                            let outcome = await cancelWhenShuttingDown { await runner.run(a.job, lease: a.lease, gpuIndices: a.gpuIndices) }
                            logger.debug("attempt ended", metadata: ["job.id": "\(a.job.id)", "job.outcome": "\(outcome)"])
                            running.remove(a.job.id)
                        }
                    }
                } catch {
                    placements.failed("cannot read this node's placements: \(error)")
                }
                await wakeups.wait(timeout: configuration.pollInterval)
            }
        }
    }

    /// Renews the node's presence until shutdown.
    private func heartbeatLoop() async {
        var failing = RepeatingWarning("the node's heartbeat", logger: logger)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                if let state = try await nodes.heartbeat(nodeID: nodeID) { status.nodeState(state.rawValue) }
                failing.succeeded()
                status.refresh()
            } catch {
                failing.failed("node heartbeat failed: \(error)")
            }
            try? await Task.sleep(for: configuration.heartbeatInterval)
        }
    }
}

/// Runs `body` in a child task that is cancelled when graceful shutdown begins.
func cancelWhenShuttingDown<T: Sendable>(_ body: @escaping @Sendable () async -> T) async -> T {
    let task = Task { await body() }
    return await withGracefulShutdownHandler {
        await task.value
    } onGracefulShutdown: {
        task.cancel()
    }
}

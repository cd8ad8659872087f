import Foundation
import HearthCore
import HearthStore
import Logging
import ServiceLifecycle
import Synchronization

/// The node's agent: keeps the node registered and alive, claims jobs that fit its free slots
/// and GPUs, and runs each as a supervised worker (``JobRunner``). On graceful shutdown it stops
/// claiming and preempts its workers (they checkpoint and are requeued), then returns.
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
    /// The kinds this node can run today.
    static let kinds = ["train"]

    private struct Load: Sendable {
        var running = 0
        var busyGPUs: Set<Int> = []
    }

    /// Running attempts and the GPUs they hold, shared with the attempts' tasks.
    private final class LoadState: Sendable {
        private let mutex = Mutex(Load())
        func withLock<R: Sendable>(_ body: (inout Load) -> R) -> R { mutex.withLock { body(&$0) } }
    }

    func run() async throws {
        for orphan in try await runner.releaseOrphans(nodeID: nodeID) {
            logger.notice("requeued a job this node held before it restarted", metadata: [
                "job.id": "\(orphan.jobID)", "job.state": "\(orphan.state.rawValue)", "hearth.event": "orphan-requeued"])
        }
        logger.info("node up", metadata: ["hearth.event": "node-up", "node.id": "\(nodeID)"])
        let load = LoadState()
        let listener = Task { await wakeups.run() }
        defer { listener.cancel() }
        await withDiscardingTaskGroup { group in
            group.addTask { await heartbeatLoop() }
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                if faults.isWedged {
                    // Test hook: no progress, so no watchdog ping.
                    try? await Task.sleep(for: .milliseconds(200))
                    continue
                }
                // Each turn proves the loop (and its database calls) still make progress.
                status.workLoopTurn(running: load.withLock { $0.running })
                let free = load.withLock { l -> [Int]? in
                    l.running < configuration.slots ? gpuIndices.filter { !l.busyGPUs.contains($0) } : nil
                }
                var claimed = false
                if let free {
                    do {
                        if let (job, lease) = try await queue.claim(nodeID: nodeID, freeGPUIndices: free, kinds: Self.kinds) {
                            claimed = true
                            let gpus = Set(free.prefix(job.gpus))
                            load.withLock { $0.running += 1; $0.busyGPUs.formUnion(gpus) }
                            logger.debug("claimed", metadata: ["job.id": "\(job.id)", "gpu.indices": "\(gpus.sorted())"])
                            group.addTask {
                                // Drain: the runner's task is cancelled on graceful shutdown → SIGTERM.
                                let outcome = await cancelWhenShuttingDown { await runner.run(job, lease: lease, gpuIndices: gpus.sorted()) }
                                logger.debug("attempt ended", metadata: ["job.id": "\(job.id)", "job.outcome": "\(outcome)"])
                                load.withLock { $0.running -= 1; $0.busyGPUs.subtract(gpus) }
                                wakeups.nudge()
                            }
                        }
                    } catch {
                        logger.warning("cannot claim: \(error)")
                    }
                }
                if !claimed { await wakeups.wait(timeout: configuration.pollInterval) }
            }
        }
    }

    /// Renews the node's presence until shutdown.
    private func heartbeatLoop() async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                if let state = try await nodes.heartbeat(nodeID: nodeID) { status.nodeState(state) }
                status.refresh()
            } catch {
                logger.warning("node heartbeat failed: \(error)")
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

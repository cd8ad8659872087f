import Foundation
import HearthCore
import HearthProcess
import HearthStore
import Logging
import Synchronization

// The tasks that watch a running attempt: its reports and output, the lease, the grace period,
// the time limit and GPU energy.
extension JobRunner {
    /// The energy meter, shared between the sampling task and the end of the attempt.
    final class EnergyBox: Sendable {
        private let mutex: Mutex<GPUEnergyMeter>
        init(_ meter: GPUEnergyMeter) { mutex = Mutex(meter) }
        func withLock<R: Sendable>(_ body: (inout GPUEnergyMeter) -> R) -> R { mutex.withLock { body(&$0) } }
    }

    /// Samples the attempt's GPUs' power until cancelled; nothing when energy is not measured
    /// here (simulated GPUs, a CPU job, no `nvidia-smi`).
    func sampleEnergy(_ energy: EnergyBox, gpuIndices: [Int]) async {
        guard configuration.measureEnergy, !gpuIndices.isEmpty, let smi = try? ChildProcess.resolve("nvidia-smi") else { return }
        let clock = ContinuousClock()
        let start = clock.now
        while !Task.isCancelled {
            let watts = await withCheckedContinuation { c in DispatchQueue.global().async { c.resume(returning: GPUEnergyMeter.read(smi: smi)) } }
            let d = clock.now - start
            let at = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
            energy.withLock { $0.add(at: at, watts: watts) }
            try? await Task.sleep(for: configuration.energySampleInterval)
        }
    }

    /// The supervising tasks' shared state.
    final class SupervisionState: Sendable {
        private let mutex = Mutex(Supervision())
        func withLock<R: Sendable>(_ body: (inout Supervision) -> R) -> R { mutex.withLock { body(&$0) } }
    }

    /// What the supervising tasks learnt, shared between them.
    struct Supervision: Sendable {
        var stop: StopReason?
        var signalled: Set<Int32> = []
        var exited = false
        var resultJSON: String?
        var lastError: String?
        /// The worker registered a serving endpoint (retired when the attempt ends).
        var serving = false
    }

    // MARK: Supervising tasks

    func consumeReports(
        _ pipe: ReportPipe, lease: Lease, state: SupervisionState, stop: @escaping @Sendable (StopReason, Int32) -> Void,
        uploads: CheckpointUploads? = nil, log: Logger
    ) async {
        var failing = RepeatingWarning("recording the worker's reports", logger: log)
        for await line in pipe.lines() {
            guard let report = WorkerReport.parse(line) else {
                log.warning("ignoring a report line that is not JSON", metadata: ["worker.line": "\(line.prefix(200))"])
                continue
            }
            do {
                switch report.event {
                case "progress":
                    try await queue.recordProgress(
                        lease, step: report.step ?? 0, loss: report.loss, lr: report.lr, tokensPerSecond: report.tokensPerSecond)
                case "checkpoint":
                    if let path = report.path, let step = report.step, let sha = report.sha256 {
                        // The size is not looked up: hearthd opens no path a job names (the job may not own it).
                        // Retried through an outage: a checkpoint not recorded is a resume point lost.
                        try await retryingWhileUnreachable("a checkpoint", log) {
                            try await queue.recordCheckpoint(lease, step: step, path: path, bytes: 0, sha256: sha)
                        }
                        log.info("checkpoint at step \(step)", metadata: ["hearth.event": "checkpoint", "checkpoint.path": "\(path)"])
                        await uploads?.enqueue(step: step, path: path)
                    }
                case "serving":
                    if let url = report.url {
                        try await retryingWhileUnreachable("the endpoint", log) {
                            try await queue.registerEndpoint(lease, url: url, model: report.model ?? "", parameters: report.parameters,
                                                             context: report.context)
                        }
                        state.withLock { $0.serving = true }
                    }
                case "eval_result":
                    if let task = report.task, let metrics = report.metrics, let c = report.checkpoint {
                        try await retryingWhileUnreachable("an eval result", log) {
                            try await queue.recordEvalResult(lease, task: task, samples: report.samples ?? 0, metrics: metrics,
                                                             checkpoint: (c.step, c.path, c.sha256))
                        }
                    }
                case "done":
                    state.withLock { $0.resultJSON = line }
                case "error":
                    state.withLock { $0.lastError = report.message }
                default:
                    break
                }
                failing.succeeded()
            } catch let error as QueueError where error.code == .staleLease || error.code == .notFound {
                log.info("lease lost while recording a report; stopping the worker: \(error)")
                stop(.fenced, SIGKILL)
            } catch {
                failing.failed("could not record a \(report.event) report: \(error)")
            }
        }
    }

    /// Keeps what the worker prints: in the attempt's log file on this node, and in PostgreSQL
    /// for `hearth logs` from anywhere.
    func consumeOutput(
        _ pipe: ReportPipe, logFD: Int32, lease: Lease, stop: @escaping @Sendable (StopReason, Int32) -> Void, log: Logger
    ) async {
        var stored = true
        var failing = RepeatingWarning("storing the worker's output", logger: log)
        for await lines in pipe.chunks() {
            let text = lines.joined(separator: "\n") + "\n"
            _ = text.withCString { write(logFD, $0, strlen($0)) }
            // Forwarded with the job's fields, so `journalctl -u hearthd JOB_ID=N` shows its output too.
            for line in lines { log.info("\(line)", metadata: ["hearth.source": "worker"]) }
            guard stored else { continue }
            do {
                try await queue.appendLog(lease, lines: lines)
                failing.succeeded()
            } catch let error as QueueError where error.code == .staleLease {
                stop(.fenced, SIGKILL)
                stored = false
            } catch {
                failing.failed("could not store worker output: \(error)")
            }
        }
    }

    func heartbeat(
        _ lease: Lease, state: SupervisionState, stop: @escaping @Sendable (StopReason, Int32) -> Void, log: Logger
    ) async {
        var lastRenewal = ContinuousClock.now
        var failing = RepeatingWarning("renewing the lease", logger: log)
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.heartbeatInterval)
            if Task.isCancelled { return }
            do {
                let reply = try await queue.heartbeat(lease)
                lastRenewal = .now
                failing.succeeded()
                if reply.cancelRequested { stop(.cancel, SIGTERM) }
                if reply.preemptRequested { stop(.preempt, SIGTERM) }
            } catch let error as QueueError {
                log.info("the lease is no longer ours; killing the worker: \(error)")
                stop(.fenced, SIGKILL)
                return
            } catch {
                // Cannot reach PostgreSQL. Past the lease's length another node may own the job:
                // stop rather than run it twice.
                failing.failed("cannot renew the lease: \(error)")
                if ContinuousClock.now - lastRenewal > queue.configuration.leaseDuration {
                    stop(.fenced, SIGKILL)
                    return
                }
            }
        }
    }

    /// Stops the attempt once it has run for its time limit (SIGTERM, then SIGKILL after the grace period).
    func enforceTimeLimit(_ seconds: Int?, stop: @escaping @Sendable (StopReason, Int32) -> Void) async {
        guard let seconds else { return }
        try? await Task.sleep(for: .seconds(seconds))
        if !Task.isCancelled { stop(.timeLimit, SIGTERM) }
    }

    /// SIGKILL after the grace period once SIGTERM was sent.
    func escalate(state: SupervisionState, stop: @escaping @Sendable (StopReason, Int32) -> Void) async {
        while !Task.isCancelled {
            let termSent = state.withLock { $0.signalled.contains(SIGTERM) }
            if termSent {
                try? await Task.sleep(for: configuration.stopGracePeriod)
                if !Task.isCancelled, !state.withLock({ $0.exited }) { stop(.preempt, SIGKILL) }
                return
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }
}

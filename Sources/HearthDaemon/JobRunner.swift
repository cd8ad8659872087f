import Foundation
import HearthCore
import HearthProcess
import HearthStore
import HearthSystemd
import Logging
import Synchronization

/// Runs one job attempt as a supervised `hearth-worker` child process.
///
/// The worker runs in its own process group with its reports on descriptor 3 (a pipe) and its
/// output in `jobs/ID/attempt-N.log`. While it runs, the runner renews the lease, records the
/// reported progress and checkpoints, and stops the worker when the job is cancelled, preempted,
/// or no longer this node's: SIGTERM first (the worker checkpoints and exits 75), SIGKILL after the
/// grace period. Its exit status then decides the job's next state (Docs/worker-contract.md).
public struct JobRunner: Sendable {
    public struct Configuration: Sendable {
        /// The `hearth-worker` executable.
        public var workerPath: String
        /// Per-job directories (job file, logs, checkpoints) go under it.
        public var jobsDirectory: URL
        /// How often the lease is renewed. Defaults to 5 seconds; keep well under the lease duration.
        public var heartbeatInterval: Duration
        /// How long a worker may take to checkpoint and exit after SIGTERM. Defaults to 30 seconds.
        public var stopGracePeriod: Duration

        /// Sample GPU power with `nvidia-smi` while a GPU job runs, and record the energy in its
        /// ledger row. Only for real GPUs (the daemon sets it when discovery found some). Defaults to `false`.
        public var measureEnergy: Bool
        /// How often GPU power is sampled. Defaults to 5 seconds.
        public var energySampleInterval: Duration

        public init(workerPath: String, jobsDirectory: URL, heartbeatInterval: Duration = .seconds(5),
                    stopGracePeriod: Duration = .seconds(30), measureEnergy: Bool = false,
                    energySampleInterval: Duration = .seconds(5)) {
            self.workerPath = workerPath
            self.jobsDirectory = jobsDirectory
            self.heartbeatInterval = heartbeatInterval
            self.stopGracePeriod = stopGracePeriod
            self.measureEnergy = measureEnergy
            self.energySampleInterval = energySampleInterval
        }
    }

    /// A failure to set the attempt up on this node.
    public struct Error: Swift.Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// How the attempt ended, as recorded in the queue.
    public enum Outcome: Sendable, Hashable {
        case succeeded
        /// `retrying`: requeued with a backoff; otherwise failed for good.
        case failed(retrying: Bool)
        /// Checkpointed and requeued (preemption, or this node shutting down).
        case preempted
        case cancelled
        /// The lease was lost to another attempt (or could not be renewed): nothing was written.
        case fenced
    }

    /// Why the runner stopped the worker, if it did.
    enum StopReason: Sendable { case cancel, preempt, fenced }

    public let queue: JobQueue
    public let configuration: Configuration
    public let logger: Logger

    public init(queue: JobQueue, configuration: Configuration, logger: Logger) {
        self.queue = queue
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs the attempt to its end. Cancelling the calling task stops the worker as a
    /// preemption (the daemon is draining), so the job resumes elsewhere from its checkpoint.
    /// - Parameter gpuIndices: the node's GPUs given to this attempt; the worker sees exactly
    ///   these through `CUDA_VISIBLE_DEVICES` (none at all for a CPU job).
    public func run(_ job: Job, lease: Lease, gpuIndices: [Int] = []) async -> Outcome {
        let log: Logger = {
            var l = logger
            l[metadataKey: "job.id"] = "\(job.id)"
            l[metadataKey: "job.attempt"] = "\(lease.attempt)"
            return l
        }()
        let child: ChildProcess
        let pipe: ReportPipe
        let output: ReportPipe
        let logFD: Int32
        do {
            var resolved = job
            resolved.specJSON = try await SpecReferences.resolve(job.specJSON, queue: queue)
            let jobFile = try writeJobFile(resolved)
            pipe = try ReportPipe.make()
            output = try ReportPipe.make()
            logFD = try openLog(job: job, attempt: lease.attempt)
            var environment = ProcessInfo.processInfo.environment
            // systemd's notify socket, watchdog and activation variables are for hearthd alone.
            for name in Notifier.managerVariables { environment[name] = nil }
            environment["CUDA_VISIBLE_DEVICES"] = gpuIndices.map(String.init).joined(separator: ",")
            environment["HEARTH_JOB_ID"] = "\(job.id)"
            environment["HEARTH_ATTEMPT"] = "\(lease.attempt)"
            // The worker mode is the job kind: train, eval, distill and serve (the kinds the agent claims).
            child = try ChildProcess.spawn(
                configuration.workerPath, [job.kind, "--job", jobFile.path, "--report-fd", "3"], environment: environment,
                descriptors: [nil, output.writeFD, output.writeFD, pipe.writeFD], newProcessGroup: true)
            close(pipe.writeFD)
            close(output.writeFD)
            try? "\(child.pid)\n".write(to: pidFile(job.id), atomically: true, encoding: .utf8)
        } catch let error as SpecReferences.Unresolved {
            log.error("cannot start the job: \(error)")
            return await settle(lease, failure: error.description, retryable: false, log)
        } catch {
            log.error("cannot start the worker: \(error)")
            return await settle(lease, failure: "this node could not start the worker: \(error)", retryable: true, log)
        }
        log.debug("worker started", metadata: ["worker.pid": "\(child.pid)"])
        do {
            try await queue.start(lease)
            log.info("job started", metadata: ["hearth.event": "started", "worker.pid": "\(child.pid)"])
        } catch {
            log.info("job is no longer ours before it started; stopping the worker: \(error)")
            child.signal(SIGKILL)
            _ = await child.wait()
            for fd in [logFD, pipe.readFD, output.readFD] { close(fd) }
            return .fenced
        }

        let state = SupervisionState()
        let energy = EnergyBox(GPUEnergyMeter(indices: gpuIndices))
        let stop: @Sendable (StopReason, Int32) -> Void = { reason, signal in
            let first = state.withLock { s -> Bool in
                if s.stop == nil { s.stop = reason }
                return !s.signalled.contains(signal) && s.signalled.insert(signal).inserted
            }
            if first { child.signal(signal) }
        }
        let (termination, rusage) = await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self) { group in
                // The readers end by themselves at end of file, after the worker's last line:
                // cancelling them could drop its final reports. They run as unstructured tasks
                // because a draining daemon cancels this one, and an AsyncStream iterated in a
                // cancelled task ends at once (the worker's last output and reports were lost).
                group.addTask { await Task { await consumeReports(pipe, lease: lease, state: state, stop: stop, log: log) }.value }
                group.addTask { await Task { await consumeOutput(output, logFD: logFD, lease: lease, stop: stop, log: log) }.value }
                let renewing = Task { await heartbeat(lease, state: state, stop: stop, log: log) }
                let escalating = Task { await escalate(state: state, stop: stop) }
                let metering = Task { await sampleEnergy(energy, gpuIndices: gpuIndices) }
                let end = await child.waitWithUsage()
                state.withLock { $0.exited = true }
                renewing.cancel()
                escalating.cancel()
                metering.cancel()
                await group.waitForAll()
                _ = await (renewing.value, escalating.value, metering.value)
                return end
            }
        } onCancel: {
            stop(.preempt, SIGTERM)
        }
        close(logFD)
        try? FileManager.default.removeItem(at: pidFile(job.id))
        let s = state.withLock { $0 }
        if s.serving { try? await queue.stopEndpoint(jobID: job.id, attempt: lease.attempt) }
        log.debug("worker ended", metadata: ["worker.termination": "\(termination)"])
        // CPU and memory measured by the kernel (wait4); energy only where GPU power was sampled.
        let usage = AttemptUsage(
            cpuSeconds: rusage?.cpuSeconds, peakRSSBytes: rusage?.maxRSSBytes,
            energyJoules: energy.withLock { $0.measuredJoules }, energySource: .measured)
        let outcome = await record(termination, supervision: s, lease: lease, usage: usage, log)
        Self.logOutcome(outcome, termination: termination, log)
        return outcome
    }

    /// One journal entry per attempt's end, with `HEARTH_EVENT=` naming it.
    static func logOutcome(_ outcome: Outcome, termination: ChildProcess.Termination, _ log: Logger) {
        switch outcome {
        case .succeeded: log.info("job succeeded", metadata: ["hearth.event": "succeeded"])
        case .failed(let retrying):
            log.warning("job attempt failed (\(termination))\(retrying ? "; requeued to retry" : "; no attempts left")",
                        metadata: ["hearth.event": "failed", "job.retrying": "\(retrying)"])
        case .preempted: log.info("job preempted; requeued to resume from its checkpoint", metadata: ["hearth.event": "preempted"])
        case .cancelled: log.info("job cancelled", metadata: ["hearth.event": "cancelled"])
        case .fenced: log.notice("job no longer held by this node; nothing recorded", metadata: ["hearth.event": "fenced"])
        }
    }

    /// The energy meter, shared between the sampling task and the end of the attempt.
    final class EnergyBox: Sendable {
        private let mutex: Mutex<GPUEnergyMeter>
        init(_ meter: GPUEnergyMeter) { mutex = Mutex(meter) }
        func withLock<R: Sendable>(_ body: (inout GPUEnergyMeter) -> R) -> R { mutex.withLock { body(&$0) } }
    }

    /// Samples the attempt's GPUs' power until cancelled; nothing when energy is not measured
    /// here (simulated GPUs, a CPU job, no `nvidia-smi`).
    private func sampleEnergy(_ energy: EnergyBox, gpuIndices: [Int]) async {
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

    // MARK: Exit → queue

    private func record(
        _ termination: ChildProcess.Termination, supervision s: Supervision, lease: Lease, usage: AttemptUsage, _ log: Logger
    ) async -> Outcome {
        if s.stop == .fenced { return .fenced }
        if s.stop == .cancel {
            return (try? await retryingWhileUnreachable("the cancellation", log) { try await queue.finishCancelled(lease, usage: usage) }) != nil
                ? .cancelled : .fenced
        }
        switch termination {
        case .exited(WorkerExit.success) where s.stop == .preempt && s.serving:
            // A server drains and exits 0 on SIGTERM; stopped for preemption, it serves again elsewhere.
            return (try? await retryingWhileUnreachable("the preemption", log) { try await queue.requeuePreempted(lease, usage: usage) }) != nil
                ? .preempted : .fenced
        case .exited(WorkerExit.success):
            do {
                try await retryingWhileUnreachable("the success", log) { try await queue.succeed(lease, resultJSON: s.resultJSON, usage: usage) }
                return .succeeded
            } catch {
                log.info("could not record success: \(error)")
                return .fenced
            }
        case .exited(WorkerExit.preempted):
            return (try? await retryingWhileUnreachable("the preemption", log) { try await queue.requeuePreempted(lease, usage: usage) }) != nil
                ? .preempted : .fenced
        case .exited(WorkerExit.badInput):
            return await settle(
                lease, failure: s.lastError ?? "the worker refused its input (exit 2)", retryable: false, usage: usage, log)
        case .exited(let code):
            return await settle(
                lease, failure: s.lastError ?? "the worker exited with status \(code)", retryable: true, usage: usage, log)
        case .signalled(let signal):
            let why = s.stop == .preempt ? "did not checkpoint within the grace period and was killed" : "was \(termination)"
            return await settle(lease, failure: "the worker \(why) (signal \(signal))", retryable: true, usage: usage, log)
        }
    }

    private func settle(
        _ lease: Lease, failure: String, retryable: Bool, usage: AttemptUsage = .none, _ log: Logger
    ) async -> Outcome {
        do {
            let outcome = try await retryingWhileUnreachable("the failure", log) {
                try await queue.fail(lease, error: failure, retryable: retryable, usage: usage)
            }
            return .failed(retrying: outcome.state == .queued)
        } catch {
            log.info("could not record the failure: \(error)")
            return .fenced
        }
    }

    // MARK: Supervising tasks

    private func consumeReports(
        _ pipe: ReportPipe, lease: Lease, state: SupervisionState, stop: @escaping @Sendable (StopReason, Int32) -> Void,
        log: Logger
    ) async {
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
                        // Retried through an outage: a checkpoint not recorded is a resume point lost.
                        try await retryingWhileUnreachable("a checkpoint", log) {
                            try await queue.recordCheckpoint(lease, step: step, path: path, bytes: Self.size(of: path), sha256: sha)
                        }
                        log.info("checkpoint at step \(step)", metadata: ["hearth.event": "checkpoint", "checkpoint.path": "\(path)"])
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
            } catch let error as QueueError where error.code == .staleLease || error.code == .notFound {
                log.info("lease lost while recording a report; stopping the worker: \(error)")
                stop(.fenced, SIGKILL)
            } catch {
                log.warning("could not record a \(report.event) report: \(error)")
            }
        }
    }

    /// Keeps what the worker prints: in the attempt's log file on this node, and in PostgreSQL
    /// for `hearth logs` from anywhere.
    private func consumeOutput(
        _ pipe: ReportPipe, logFD: Int32, lease: Lease, stop: @escaping @Sendable (StopReason, Int32) -> Void, log: Logger
    ) async {
        var stored = true
        for await lines in pipe.chunks() {
            let text = lines.joined(separator: "\n") + "\n"
            _ = text.withCString { write(logFD, $0, strlen($0)) }
            // Forwarded with the job's fields, so `journalctl -u hearthd JOB_ID=N` shows its output too.
            for line in lines { log.info("\(line)", metadata: ["hearth.source": "worker"]) }
            guard stored else { continue }
            do {
                try await queue.appendLog(lease, lines: lines)
            } catch let error as QueueError where error.code == .staleLease {
                stop(.fenced, SIGKILL)
                stored = false
            } catch {
                log.warning("could not store worker output: \(error)")
            }
        }
    }

    private func heartbeat(
        _ lease: Lease, state: SupervisionState, stop: @escaping @Sendable (StopReason, Int32) -> Void, log: Logger
    ) async {
        var lastRenewal = ContinuousClock.now
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.heartbeatInterval)
            if Task.isCancelled { return }
            do {
                let reply = try await queue.heartbeat(lease)
                lastRenewal = .now
                if reply.cancelRequested { stop(.cancel, SIGTERM) }
                if reply.preemptRequested { stop(.preempt, SIGTERM) }
            } catch let error as QueueError {
                log.info("the lease is no longer ours; killing the worker: \(error)")
                stop(.fenced, SIGKILL)
                return
            } catch {
                // Cannot reach PostgreSQL. Past the lease's length another node may own the job:
                // stop rather than run it twice.
                log.warning("cannot renew the lease: \(error)")
                if ContinuousClock.now - lastRenewal > queue.configuration.leaseDuration {
                    stop(.fenced, SIGKILL)
                    return
                }
            }
        }
    }

    /// SIGKILL after the grace period once SIGTERM was sent.
    private func escalate(state: SupervisionState, stop: @escaping @Sendable (StopReason, Int32) -> Void) async {
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

    // MARK: Files

    /// Writes the job's spec as the worker's job file, with a per-job checkpoint directory that
    /// survives attempts (so a requeued job resumes where it stopped).
    func writeJobFile(_ job: Job) throws -> URL {
        let dir = configuration.jobsDirectory.appendingPathComponent("\(job.id)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        guard var spec = try JSONSerialization.jsonObject(with: Data(job.specJSON.utf8)) as? [String: Any] else {
            throw Error(message: "job \(job.id)'s spec is not a JSON object")
        }
        if spec["checkpoint_dir"] == nil { spec["checkpoint_dir"] = dir.appendingPathComponent("checkpoints").path }
        if job.kind == "eval" && spec["results_path"] == nil { spec["results_path"] = dir.appendingPathComponent("results.json").path }
        let file = dir.appendingPathComponent("job.json")
        try JSONSerialization.data(withJSONObject: spec, options: [.sortedKeys]).write(to: file, options: .atomic)
        return file
    }

    /// `jobs/ID/worker.pid`: lets a restarted daemon find a worker its previous life left behind.
    func pidFile(_ jobID: Int64) -> URL {
        configuration.jobsDirectory.appendingPathComponent("\(jobID)/worker.pid")
    }

    /// After a restart: stops the workers a previous life of this daemon left running (they stop
    /// by themselves once they notice their parent is gone; this waits for that, up to the grace
    /// period, then kills them), and requeues every job this node still held.
    public func releaseOrphans(nodeID: Int64) async throws -> [JobQueue.RescuedJob] {
        let dirs = (try? FileManager.default.contentsOfDirectory(atPath: configuration.jobsDirectory.path)) ?? []
        for dir in dirs {
            guard let id = Int64(dir), let text = try? String(contentsOf: pidFile(id), encoding: .utf8),
                  let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), Self.isWorker(pid) else { continue }
            kill(-pid, SIGTERM)
            let deadline = ContinuousClock.now + configuration.stopGracePeriod
            while Self.isWorker(pid) && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(100)) }
            if Self.isWorker(pid) { kill(-pid, SIGKILL) }
            try? FileManager.default.removeItem(at: pidFile(id))
            logger.notice("stopped a worker left by an earlier run", metadata: ["job.id": "\(id)", "worker.pid": "\(pid)"])
        }
        return try await queue.releaseHeldJobs(nodeID: nodeID)
    }

    /// Whether `pid` is a live hearth-worker process (not a recycled pid).
    static func isWorker(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0, let cmdline = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")) else { return false }
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        let zombie = stat.split(separator: ")").last?.split(separator: " ").first == "Z"
        return !zombie && String(decoding: cmdline, as: UTF8.self).contains("hearth-worker")
    }

    private func openLog(job: Job, attempt: Int) throws -> Int32 {
        let path = configuration.jobsDirectory.appendingPathComponent("\(job.id)/attempt-\(attempt).log").path
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw Error(message: "cannot open \(path): \(String(cString: strerror(errno)))") }
        return fd
    }

    /// Bytes of a checkpoint: the file, or everything in the directory.
    static func size(of path: String) -> Int64 {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else { return 0 }
        if !isDir.boolValue { return (try? fm.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0 }
        let files = (try? fm.contentsOfDirectory(atPath: path)) ?? []
        return files.reduce(0) { $0 + ((try? fm.attributesOfItem(atPath: path + "/" + $1)[.size] as? Int64) ?? 0) }
    }
}

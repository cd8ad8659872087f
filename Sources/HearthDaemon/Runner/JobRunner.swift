import Foundation
import HearthArtifacts
import HearthCore
import HearthProcess
import HearthStore
import HearthSystemd
import Logging
import Synchronization

/// Runs one job attempt as a supervised child process: `hearth-worker` for the built-in kinds,
/// the volunteer's own program for `command` jobs.
///
/// The attempt runs as the job's owner (``JobIdentity``), with a clean environment, in a
/// process group and (hearthd as root) cgroups of its own (``AttemptCgroup``), its reports on
/// descriptor 3 (a pipe) and its output in `jobs/ID/attempt-N.log`. While it runs, the runner
/// renews the lease, records the reported progress and checkpoints, and stops it when the job is
/// cancelled, preempted, past its time limit or no longer this node's: SIGTERM first (the worker
/// checkpoints and exits 75), SIGKILL to every process of the attempt after the grace period.
/// Its exit status then decides the job's next state (``disposition(of:_:)``, Docs/worker-contract.md).
///
/// The work is split by stage: launching (JobRunner+Launch), supervising (JobRunner+Supervision),
/// and mapping the end to a queue transition (JobRunner+Exit).
public struct JobRunner: Sendable {
    public struct Configuration: Sendable {
        /// The `hearth-worker` executable.
        public var workerPath: String
        /// Per-job directories (job file, logs, the job's own `work` directory) go under it.
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
        /// Who jobs run as, and their cgroups' limits.
        public var isolation: IsolationPolicy
        /// The address serve workers listen on (the node admin's `serve_bind_address`, never the
        /// spec's), passed as `HEARTH_SERVE_BIND_ADDRESS`. Defaults to `127.0.0.1`.
        public var serveBindAddress: String
        /// The fleet's artifact store: checkpoints are stored there as they are written, and an
        /// attempt resumes from the newest stored one on any node. `nil`: checkpoints stay on
        /// the node that wrote them. Defaults to `nil`.
        public var artifacts: ArtifactServices?

        public init(workerPath: String, jobsDirectory: URL, heartbeatInterval: Duration = .seconds(5),
                    stopGracePeriod: Duration = .seconds(30), measureEnergy: Bool = false,
                    energySampleInterval: Duration = .seconds(5), isolation: IsolationPolicy = IsolationPolicy(),
                    serveBindAddress: String = "127.0.0.1", artifacts: ArtifactServices? = nil) {
            self.serveBindAddress = serveBindAddress
            self.artifacts = artifacts
            self.workerPath = workerPath
            self.jobsDirectory = jobsDirectory
            self.heartbeatInterval = heartbeatInterval
            self.stopGracePeriod = stopGracePeriod
            self.measureEnergy = measureEnergy
            self.energySampleInterval = energySampleInterval
            self.isolation = isolation
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

    /// Why the runner stopped the attempt, if it did.
    enum StopReason: Sendable { case cancel, preempt, fenced, timeLimit }

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
    /// - Parameter gpuIndices: the node's GPUs given to this attempt; the job sees exactly
    ///   these through `CUDA_VISIBLE_DEVICES` (none at all for a CPU job) and, in its cgroup,
    ///   can open no other GPU's device.
    public func run(_ job: Job, lease: Lease, gpuIndices: [Int] = []) async -> Outcome {
        let log: Logger = {
            var l = logger
            l[metadataKey: "job.id"] = "\(job.id)"
            l[metadataKey: "job.attempt"] = "\(lease.attempt)"
            return l
        }()
        let attempt: LaunchedAttempt
        do {
            attempt = try await launch(job, lease: lease, gpuIndices: gpuIndices, log: log)
        } catch let error as SpecReferences.Unresolved {
            log.error("cannot start the job: \(error)")
            return await settle(lease, failure: error.description, retryable: false, log)
        } catch let error as JobIdentity.Refusal {
            log.error("refusing to run the job: \(error)")
            return await settle(lease, failure: error.description, retryable: false, log)
        } catch {
            log.error("cannot start the worker: \(error)")
            return await settle(lease, failure: "this node could not start the job: \(error)", retryable: true, log)
        }
        let child = attempt.process
        let uploads = checkpointUploads(for: job, checkpointRoot: attempt.checkpointRoot, user: attempt.user, log: log)
        log.debug("worker started", metadata: ["worker.pid": "\(child.pid)", "worker.uid": "\(attempt.user?.uid ?? geteuid())"])
        do {
            try await queue.start(lease)
            log.info("job started", metadata: [
                "hearth.event": "started", "worker.pid": "\(child.pid)", "worker.uid": "\(attempt.user?.uid ?? geteuid())"])
        } catch {
            log.info("job is no longer ours before it started; stopping the worker: \(error)")
            attempt.killEverything()
            _ = await child.wait()
            attempt.finish()
            await releaseArtifacts(attempt.artifactPins)
            return .fenced
        }

        let state = SupervisionState()
        let energy = EnergyBox(GPUEnergyMeter(indices: gpuIndices))
        let stop = attempt.stopper(state: state)
        let (termination, rusage, unitResult) = await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self) { group in
                // The readers end by themselves at end of file, after the worker's last line:
                // cancelling them could drop its final reports. They run as unstructured tasks
                // because a draining daemon cancels this one, and an AsyncStream iterated in a
                // cancelled task ends at once (the worker's last output and reports were lost).
                group.addTask { await Task { await consumeReports(attempt.reports, lease: lease, state: state, stop: stop, uploads: uploads, log: log) }.value }
                group.addTask { await Task { await consumeOutput(attempt.output, logFD: attempt.logFD, lease: lease, stop: stop, log: log) }.value }
                let renewing = Task { await heartbeat(lease, state: state, stop: stop, log: log) }
                let escalating = Task { await escalate(state: state, stop: stop) }
                let metering = Task { await sampleEnergy(energy, gpuIndices: gpuIndices) }
                let limiting = Task { await enforceTimeLimit(job.timeLimitSeconds, stop: stop) }
                let end = await child.wait()
                state.withLock { $0.exited = true }
                // Like systemd's KillMode=control-group: what the job left running (even a
                // daemon that setsid()ed) ends with it, and so the pipes it held close.
                await attempt.killLeftovers()
                renewing.cancel()
                escalating.cancel()
                metering.cancel()
                limiting.cancel()
                await group.waitForAll()
                _ = await (renewing.value, escalating.value, metering.value, limiting.value)
                return end
            }
        } onCancel: {
            stop(.preempt, SIGTERM)
        }
        // Under systemd the unit's result says what stopped it: RuntimeMaxSec= or the OOM killer.
        if unitResult == "timeout" { state.withLock { if $0.stop == nil { $0.stop = .timeLimit } } }
        let oomKilled = attempt.cgroup?.oomKilled ?? (unitResult == "oom-kill")
        let memoryLimit = attempt.cgroup?.memoryMaxBytes ?? configuration.isolation.memoryMaxBytes
        attempt.finish()
        try? FileManager.default.removeItem(at: pidFile(job.id))
        let s = state.withLock { $0 }
        // The last checkpoint must be in the fleet before the job is requeued to resume
        // elsewhere: wait for it, within the grace period when the attempt was stopped.
        if let uploads, !(await uploads.finish(within: s.stop != nil ? configuration.stopGracePeriod : .seconds(600))) {
            log.warning("the last checkpoint was not stored in the fleet in time; the next attempt resumes from an earlier one")
        }
        await releaseArtifacts(attempt.artifactPins)
        if s.serving { try? await queue.stopEndpoint(jobID: job.id, attempt: lease.attempt) }
        log.debug("worker ended", metadata: ["worker.termination": "\(termination)"])
        // CPU and memory measured by the kernel (wait4); energy only where GPU power was sampled.
        let usage = AttemptUsage(
            cpuSeconds: rusage?.cpuSeconds, peakRSSBytes: rusage?.maxRSSBytes,
            energyJoules: energy.withLock { $0.measuredJoules }, energySource: .measured)
        let end = AttemptEnd(
            termination: termination, stop: s.stop, serving: s.serving, command: job.kind == .command,
            lastError: s.lastError,
            memoryMaxBytes: oomKilled ? memoryLimit : nil, timeLimitSeconds: job.timeLimitSeconds)
        var disposition = Self.disposition(of: end)
        if disposition == .succeed, let prepared = attempt.prepared,
           let failure = await publishPreparedDataset(prepared, job: job, root: attempt.checkpointRoot, user: attempt.user, log: log) {
            disposition = .fail(failure, retryable: true)
        }
        let outcome = await record(disposition, resultJSON: s.resultJSON, lease: lease, usage: usage, log)
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
}

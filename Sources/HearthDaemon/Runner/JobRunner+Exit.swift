import Foundation
import HearthCore
import HearthProcess
import HearthStore
import Logging

/// How an attempt ended, as far as its next state depends on it.
struct AttemptEnd: Sendable, Hashable {
    var termination: ChildProcess.Termination
    /// Why the runner stopped it, if it did.
    var stop: JobRunner.StopReason?
    /// It registered a serving endpoint.
    var serving = false
    /// A volunteer's own program (`kind: command`): its exit status is its own, not the worker
    /// contract's, so only 0 means anything (success), as with `sbatch`.
    var command = false
    /// The message of its last `error` report.
    var lastError: String?
    /// Set when the kernel killed it for passing this memory limit.
    var memoryMaxBytes: Int64?
    var timeLimitSeconds: Int?
}

/// The queue transition an ended attempt makes.
enum Disposition: Sendable, Hashable {
    case succeed
    case requeuePreempted
    case finishCancelled
    /// The lease is no longer ours: record nothing.
    case fenced
    /// `avoidNode`: the worker said this node cannot run the job (exit 3); retry it elsewhere.
    case fail(String, retryable: Bool, avoidNode: Bool = false)
}

extension JobRunner {
    /// The exit status → next state table (Docs/worker-contract.md), in one place.
    static func disposition(of end: AttemptEnd) -> Disposition {
        switch end.stop {
        case .fenced: return .fenced
        case .cancel: return .finishCancelled
        case .timeLimit: return .fail("time limit of \(end.timeLimitSeconds ?? 0) s reached", retryable: false)
        case .preempt, nil: break
        }
        if let limit = end.memoryMaxBytes {
            // Retrying would only hit the same limit again.
            return .fail("the job used more than its memory limit of \(limit / (1 << 20)) MiB and was killed by the kernel (out of memory)",
                         retryable: false)
        }
        switch end.termination {
        case .exited(WorkerExit.success) where end.stop == .preempt && end.serving:
            // A server drains and exits 0 on SIGTERM; stopped for preemption, it serves again elsewhere.
            return .requeuePreempted
        case .exited(WorkerExit.success): return .succeed
        case .exited(let code) where end.command:
            return .fail(end.lastError ?? "the command exited with status \(code)", retryable: true)
        case .exited(WorkerExit.preempted): return .requeuePreempted
        case .exited(WorkerExit.badInput): return .fail(end.lastError ?? "the worker refused its input (exit 2)", retryable: false)
        case .exited(WorkerExit.nodeIOError):
            // "This node cannot run me": retried, and never placed on this node again.
            return .fail(end.lastError ?? "the worker could not run on this node (exit 3); retrying on another node",
                         retryable: true, avoidNode: true)
        case .exited(let code): return .fail(end.lastError ?? "the worker exited with status \(code)", retryable: true)
        case .signalled(let signal):
            let why = end.stop == .preempt
                ? "did not checkpoint within the grace period and was killed" : "was \(end.termination)"
            return .fail("the worker \(why) (signal \(signal))", retryable: true)
        }
    }

    /// Makes the transition in the queue (fenced by the lease: a stale one records nothing).
    func record(_ disposition: Disposition, resultJSON: String?, lease: Lease, usage: AttemptUsage, _ log: Logger) async -> Outcome {
        switch disposition {
        case .fenced: return .fenced
        case .finishCancelled:
            return (try? await retryingWhileUnreachable("the cancellation", log) { try await queue.finishCancelled(lease, usage: usage) })
                != nil ? .cancelled : .fenced
        case .requeuePreempted:
            return (try? await retryingWhileUnreachable("the preemption", log) { try await queue.requeuePreempted(lease, usage: usage) })
                != nil ? .preempted : .fenced
        case .succeed:
            do {
                try await retryingWhileUnreachable("the success", log) {
                    try await queue.succeed(lease, resultJSON: resultJSON, usage: usage)
                }
                return .succeeded
            } catch {
                log.info("could not record success: \(error)")
                return .fenced
            }
        case .fail(let message, let retryable, let avoidNode):
            return await settle(lease, failure: message, retryable: retryable, avoidNode: avoidNode, usage: usage, log)
        }
    }

    func settle(
        _ lease: Lease, failure: String, retryable: Bool, avoidNode: Bool = false, usage: AttemptUsage = .none, _ log: Logger
    ) async -> Outcome {
        do {
            let outcome = try await retryingWhileUnreachable("the failure", log) {
                try await queue.fail(lease, error: failure, retryable: retryable, avoidNode: avoidNode, usage: usage)
            }
            return .failed(retrying: outcome.state == .queued)
        } catch {
            log.info("could not record the failure: \(error)")
            return .fenced
        }
    }
}

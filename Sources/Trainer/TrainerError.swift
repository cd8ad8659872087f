/// Errors of the trainer, as values with a one-line message. `exitCode` is the documented status
/// `hearth-worker` exits with (see `Docs/worker-contract.md`).
public enum TrainerError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The job, its flags or its files are wrong (config, checkpoint, token file): exit 2.
    case badInput(String)
    /// The operating system refused an operation (disk full, permissions): exit 3.
    case io(String)
    /// The run was stopped by SIGTERM after writing a checkpoint: exit 75.
    case preempted(String)

    public var description: String {
        switch self {
        case .badInput(let m): "bad input: \(m)"
        case .io(let m): "i/o error: \(m)"
        case .preempted(let m): "preempted: \(m)"
        }
    }

    /// The process exit status for this error.
    public var exitCode: Int32 {
        switch self {
        case .badInput: ExitCode.badInput
        case .io: ExitCode.ioError
        case .preempted: ExitCode.preempted
        }
    }
}

/// Exit statuses of `hearth-worker` (the contract with the daemon).
public enum ExitCode {
    /// The mode finished its work.
    public static let success: Int32 = 0
    /// An unexpected internal failure (a bug): the job may be retried elsewhere.
    public static let failure: Int32 = 1
    /// Bad input: flags, job spec, config, checkpoint or token file. Retrying will not help.
    public static let badInput: Int32 = 2
    /// An I/O error (disk full, permission denied) on this node.
    public static let ioError: Int32 = 3
    /// Stopped by SIGTERM after a checkpoint was written; resume from it (EX_TEMPFAIL).
    public static let preempted: Int32 = 75
}

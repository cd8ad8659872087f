/// What a job does: the queue's `jobs.kind` (a row of the `job_kinds` table). Donors allow or
/// refuse jobs by kind, nodes offer the kinds their software runs, and the kind sets whether a
/// job is preemptible by default. A plain string on the wire and in the database;
/// ``init(validating:)`` turns a submitted string into a kind or a sentence.
public enum JobKind: String, Sendable, Codable, CaseIterable, Hashable, CustomStringConvertible {
    /// Training with the built-in trainer: checkpoints on SIGTERM, so preemptible by default.
    case train
    /// Evaluation of a checkpoint: short and restartable, so preemptible by default.
    case eval
    /// Serving a checkpoint behind an endpoint: not preemptible unless the job says so.
    case serve
    /// Distilling a teacher checkpoint into a smaller student.
    case distill
    /// A volunteer's own program, run as that volunteer (like `sbatch`).
    case command

    /// Whether a job of this kind may be preempted when it does not say otherwise: every kind but `serve`.
    public var isPreemptibleByDefault: Bool { self != .serve }

    public var description: String { rawValue }

    /// The kinds, as a sentence lists them: "train, eval, serve, distill and command".
    public static var sentenceList: String {
        let names = allCases.map(\.rawValue)
        return names.dropLast().joined(separator: ", ") + " and " + names.last!
    }
}

extension JobKind {
    /// The kind a submission names, or an error that lists the kinds there are.
    public init(validating text: String) throws(JobValidationError) {
        guard let kind = JobKind(rawValue: text) else {
            throw JobValidationError("unknown job kind \"\(text)\"; known kinds are \(JobKind.sentenceList)")
        }
        self = kind
    }
}

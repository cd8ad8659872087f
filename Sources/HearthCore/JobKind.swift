/// What a job does: the queue's `jobs.kind` (a row of the `job_kinds` table). Donors allow or
/// refuse jobs by kind, nodes offer the kinds their software runs, and the kind sets whether a
/// job is preemptible by default. Still a plain string on the wire and in the database.
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

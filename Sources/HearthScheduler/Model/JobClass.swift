/// What a job does: the queue's `jobs.kind` text (`train`, `eval`, `serve`, `distill`,
/// `command`, or a later kind). Donors allow or refuse jobs by kind, and the kind sets
/// whether a job is preemptible by default. Unknown kinds are kept as they are.
public struct JobKind: RawRepresentable, Sendable, Hashable, Codable, ExpressibleByStringLiteral,
    CustomStringConvertible
{
    public var rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }

    /// Training: checkpoints on SIGTERM, so preemptible by default.
    public static let training: JobKind = "train"
    /// Evaluation of a checkpoint: short and restartable, so preemptible by default.
    public static let evaluation: JobKind = "eval"
    /// Serving a model behind an endpoint: not preemptible unless the job says so.
    public static let serving: JobKind = "serve"
    public static let distillation: JobKind = "distill"
    public static let command: JobKind = "command"
    /// The kinds the queue knows today.
    public static let known: [JobKind] = [.training, .evaluation, .serving, .distillation, .command]

    /// Whether a job of this kind may be preempted when it does not say otherwise.
    /// Default: every kind but `serve`.
    public var isPreemptibleByDefault: Bool { self != .serving }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// Quality of service: a priority factor and a preemption tier.
///
/// A pending job may preempt running jobs only of a strictly lower tier (Slurm's
/// `PreemptType=preempt/qos`): fair share reorders the queue but never evicts work.
public enum QOS: String, Sendable, Codable, CaseIterable, Hashable, Comparable {
    case low, normal, high, serving

    /// Preemption tier, `low` = 0 … `serving` = 3.
    public var tier: Int {
        switch self {
        case .low: return 0
        case .normal: return 1
        case .high: return 2
        case .serving: return 3
        }
    }

    /// The QOS priority factor in [0, 1]: `low` 0, `normal` 0.25, `high` 0.75, `serving` 1.
    public var factor: Double {
        switch self {
        case .low: return 0
        case .normal: return 0.25
        case .high: return 0.75
        case .serving: return 1
        }
    }

    public static func < (a: QOS, b: QOS) -> Bool { a.tier < b.tier }
}

/// A GPU request: `count` GPUs, all on one node, each of `model` (any when `nil`) with at
/// least `minMemoryMiB` of memory. `count == 0` is a CPU-only job: it takes one of the
/// node's `cpuJobSlots` instead of GPUs.
public struct GPURequest: Sendable, Hashable, Codable {
    /// Number of GPUs, 0 or more (0 = CPU-only).
    public var count: Int
    /// GPU model name as the node reports it (e.g. `"H100"`); `nil` accepts any model.
    public var model: String?
    /// Minimum memory per GPU in MiB. Default 0 (any).
    public var minMemoryMiB: Int

    public init(count: Int, model: String? = nil, minMemoryMiB: Int = 0) {
        self.count = max(0, count)
        self.model = model
        self.minMemoryMiB = max(0, minMemoryMiB)
    }

    /// Whether one GPU satisfies the model and memory part of this request.
    @inlinable
    public func accepts(_ gpu: GPUSnapshot) -> Bool {
        gpu.healthy && gpu.memoryMiB >= minMemoryMiB && (model == nil || model == gpu.model)
    }
}

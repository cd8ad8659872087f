/// What a job does. Donors allow or refuse jobs by kind, and the kind sets whether a job
/// is preemptible by default.
public enum JobKind: String, Sendable, Codable, CaseIterable, Hashable {
    /// Training: checkpoints on SIGTERM, so preemptible by default.
    case training
    /// Evaluation of a checkpoint: short and restartable, so preemptible by default.
    case evaluation
    /// Serving a model behind an endpoint: not preemptible unless the job says so.
    case serving

    /// Whether a job of this kind may be preempted when it does not say otherwise.
    /// Default: `true` for `training` and `evaluation`, `false` for `serving`.
    public var isPreemptibleByDefault: Bool { self != .serving }
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
/// least `minMemoryMiB` of memory.
public struct GPURequest: Sendable, Hashable, Codable {
    /// Number of GPUs, at least 1.
    public var count: Int
    /// GPU model name as the node reports it (e.g. `"H100"`); `nil` accepts any model.
    public var model: String?
    /// Minimum memory per GPU in MiB. Default 0 (any).
    public var minMemoryMiB: Int

    public init(count: Int, model: String? = nil, minMemoryMiB: Int = 0) {
        self.count = max(1, count)
        self.model = model
        self.minMemoryMiB = max(0, minMemoryMiB)
    }

    /// Whether one GPU satisfies the model and memory part of this request.
    @inlinable
    public func accepts(_ gpu: GPUSnapshot) -> Bool {
        gpu.healthy && gpu.memoryMiB >= minMemoryMiB && (model == nil || model == gpu.model)
    }
}

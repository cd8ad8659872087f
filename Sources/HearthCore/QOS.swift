/// Quality of service: a priority factor and a preemption tier (`jobs.qos`; a string on the wire,
/// checked by ``init(validating:)``).
///
/// A pending job may preempt running jobs only of a strictly lower tier (Slurm's
/// `PreemptType=preempt/qos`): fair share reorders the queue but never evicts work.
public enum QOS: String, Sendable, Codable, CaseIterable, Hashable, Comparable, CustomStringConvertible {
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

    public var description: String { rawValue }

    public static func < (a: QOS, b: QOS) -> Bool { a.tier < b.tier }
}

extension QOS {
    /// The QOS a submission names (`nil`: `normal`), or an error that lists the QOS there are.
    public init(validating text: String?) throws(JobValidationError) {
        guard let text else { self = .normal; return }
        guard let qos = QOS(rawValue: text) else {
            throw JobValidationError("unknown QOS \"\(text)\"; use one of \(QOS.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = qos
    }
}

import Foundation

/// One metric of a task, with how it aggregates over documents (as the harness's `metric_list`).
public struct Metric: Sendable, Equatable {
    /// Metric key, e.g. `acc`, `word_perplexity`, `pct_stereotype`.
    public var name: String
    /// The value (fractions as fractions: `acc` 0.5, `pct_stereotype` 0.5; StereoSet's scores in 0–100).
    public var value: Double
    /// Standard error of a mean over documents; nil where the harness reports `N/A`.
    public var stderr: Double?
    /// Whether a higher value is better.
    public var higherIsBetter: Bool
    /// How per-document values combine (`mean`, `weighted_perplexity`, `bits_per_byte`, `perplexity`, ...).
    public var aggregation: String

    public init(_ name: String, _ value: Double, stderr: Double? = nil, higherIsBetter: Bool, aggregation: String) {
        self.name = name; self.value = value; self.stderr = stderr
        self.higherIsBetter = higherIsBetter; self.aggregation = aggregation
    }

    /// The mean of per-document values with its standard error (sample standard deviation / √n, as the harness).
    static func mean(_ name: String, _ xs: [Double], higherIsBetter: Bool) -> Metric {
        let n = Double(xs.count)
        let m = xs.reduce(0, +) / max(n, 1)
        let variance = xs.count > 1 ? xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (n - 1) : 0
        return Metric(name, m, stderr: (variance / max(n, 1)).squareRoot(), higherIsBetter: higherIsBetter, aggregation: "mean")
    }
}

/// The result of one task (or one slice of it, such as a CrowS-Pairs bias type).
public struct TaskResult: Sendable, Equatable {
    /// Task name; slices append `_<slice>` (e.g. `crows_pairs_gender`).
    public var name: String
    /// The task's kind.
    public var type: TaskSpec.Kind
    /// The data file.
    public var path: String
    /// The metrics, in report order.
    public var metrics: [Metric]
    /// Documents scored.
    public var samples: Int
    /// Documents in the file (before `limit`).
    public var available: Int

    /// The value of metric `name`.
    public subscript(_ name: String) -> Double? { metrics.first { $0.name == name }?.value }
}

/// Version of each task kind's definition, written to the results file's `versions`.
enum TaskVersion {
    static let current = 1
}

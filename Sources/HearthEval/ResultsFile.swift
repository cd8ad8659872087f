import Foundation
import Trainer

/// The results file, shaped like lm-evaluation-harness's `results.json` so tools that read the
/// harness's output read Hearth's: `results` (per task: `alias`, `<metric>,none` and
/// `<metric>_stderr,none`), `configs`, `versions`, `n-shot`, `higher_is_better`, `n-samples`
/// (`original`, `effective`) and `config`, plus a `hearth` object naming the checkpoint.
public enum ResultsFile {
    /// Which model the results are of.
    public struct Checkpoint: Sendable {
        public var path: String
        public var step: Int
        public var sha256: String
        public init(path: String, step: Int, sha256: String) { self.path = path; self.step = step; self.sha256 = sha256 }
    }

    /// The results file as a JSON object.
    public static func object(_ results: [TaskResult], checkpoint: Checkpoint, batch: Int, date: Date = Date()) -> [String: Any] {
        var res: [String: Any] = [:], configs: [String: Any] = [:], versions: [String: Any] = [:]
        var nshot: [String: Any] = [:], higher: [String: Any] = [:], samples: [String: Any] = [:]
        for r in results {
            var entry: [String: Any] = ["alias": r.name]
            var better: [String: Bool] = [:]
            for m in r.metrics {
                entry["\(m.name),none"] = m.value
                entry["\(m.name)_stderr,none"] = m.stderr.map { $0 as Any } ?? "N/A"
                better[m.name] = m.higherIsBetter
            }
            res[r.name] = entry
            configs[r.name] = [
                "task": r.name, "output_type": outputType(r.type), "dataset_path": r.path, "hearth_task_type": r.type.rawValue,
                "num_fewshot": 0, "target_delimiter": " ",
                "metric_list": r.metrics.map { ["metric": $0.name, "aggregation": $0.aggregation, "higher_is_better": $0.higherIsBetter] },
            ] as [String: Any]
            versions[r.name] = TaskVersion.current
            nshot[r.name] = 0
            higher[r.name] = better
            samples[r.name] = ["original": r.available, "effective": r.samples]
        }
        return [
            "results": res, "configs": configs, "versions": versions, "n-shot": nshot, "higher_is_better": higher,
            "n-samples": samples,
            "config": ["model": "hearth", "model_args": "checkpoint=\(checkpoint.path)", "batch_size": batch,
                       "limit": NSNull(), "bootstrap_iters": 0] as [String: Any],
            "date": date.timeIntervalSince1970,
            "hearth": ["checkpoint": checkpoint.path, "step": checkpoint.step, "sha256": checkpoint.sha256] as [String: Any],
        ]
    }

    /// Writes the results file atomically (pretty-printed, keys sorted).
    public static func write(_ path: String, _ results: [TaskResult], checkpoint: Checkpoint, batch: Int) throws(TrainerError) {
        let obj = object(results, checkpoint: checkpoint, batch: batch)
        guard let data = try? JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) else {
            throw .io("cannot encode the results file")
        }
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileIO.makeDirectories(dir) }
        try FileIO.writeAtomically(path, Array(data))
    }

    /// The harness's request type for a task kind.
    static func outputType(_ k: TaskSpec.Kind) -> String {
        switch k {
        case .perplexity: "loglikelihood_rolling"
        case .multipleChoice, .crowsPairs, .stereoset: "multiple_choice"
        case .lambada: "loglikelihood"
        }
    }
}

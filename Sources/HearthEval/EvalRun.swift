import Foundation
import Trainer

/// Runs an `EvalJob`: loads the checkpoint, runs each task, reports one `eval_result` per task
/// result and writes the results file; ends with `done`.
public enum EvalRun {
    /// Runs `job`, reporting on `reporter`; returns every task result.
    @discardableResult
    public static func run(_ job: EvalJob, reporter: Reporter) throws(TrainerError) -> [TaskResult] {
        let info = try Trainer.Checkpoint.info(job.checkpoint)
        let scorer = try Scorer(checkpoint: job.checkpoint, threads: job.threads ?? 1, batchSize: job.batch ?? 8)
        let evaluator = try Evaluator(scorer: scorer, tokenizer: try loadTokenizer(try job.resolvedTokenizer()), textStart: job.textStart)
        let checkpoint = ResultsFile.Checkpoint(path: job.checkpoint, step: info.step, sha256: info.modelSHA256)
        reporter.emit("started", ["step": info.step, "tasks": job.tasks.count, "path": job.checkpoint])
        var all: [TaskResult] = []
        for spec in job.tasks {
            let t0 = Date()
            for r in try evaluator.run(spec) {
                all.append(r)
                reporter.emit("eval_result", [
                    "task": r.name, "type": r.type.rawValue, "samples": r.samples,
                    "metrics": Dictionary(uniqueKeysWithValues: r.metrics.map { ($0.name, $0.value) }),
                    "checkpoint": ["path": checkpoint.path, "step": checkpoint.step, "sha256": checkpoint.sha256],
                    "seconds": (Date().timeIntervalSince(t0) * 100).rounded() / 100,
                ])
            }
        }
        try ResultsFile.write(job.resultsPath, all, checkpoint: checkpoint, batch: job.batch ?? 8)
        reporter.emit("done", ["step": info.step, "results_path": job.resultsPath, "tasks": all.count])
        return all
    }
}

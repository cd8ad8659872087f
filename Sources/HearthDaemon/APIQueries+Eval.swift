import Foundation
import HearthAPI
import HearthCore
import HearthStore

extension APIQueries {
    /// The recorded results of job `id`; nil when there is no such job.
    func evalResults(jobID id: Int64) async throws -> EvalResultsView? {
        guard let job = try await job(id) else { return nil }
        let results = try await JobQueue(client: client).evalResults(jobID: id).map {
            EvalMetricView(task: $0.task, metric: $0.metric, value: $0.value, samples: $0.samples,
                           checkpointStep: $0.checkpointStep, checkpointPath: $0.checkpointPath,
                           checkpointSHA256: $0.checkpointSHA256, attempt: $0.attempt, createdAt: $0.createdAt)
        }
        return EvalResultsView(job: id, name: job.name, kind: job.kind, state: job.state, results: results)
    }
}

import Foundation
import HearthCore

/// A serving endpoint as recorded in `endpoints`.
public struct EndpointRecord: Sendable, Hashable {
    public var jobID: Int64
    public var attempt: Int
    public var node: String
    public var url: String
    public var model: String
    public var parameters: Int64?
    public var context: Int?
    public var registeredAt: Date
}

extension JobQueue {
    /// Records that the attempt holding `lease` serves at `url` (fenced like every leased write:
    /// a stale epoch records nothing and throws), with an `endpoint` job event.
    public func registerEndpoint(_ lease: Lease, url: String, model: String, parameters: Int64?, context: Int?) async throws {
        let rows = try await client.query("""
            SELECT hearth_register_endpoint(\(lease.jobID)::bigint, \(lease.epoch)::bigint, \(url)::text, \(model)::text,
                                            \(parameters)::bigint, \(context)::int) AS job_id
            """)
        if rows.isEmpty { throw try await refusal(lease, operation: "register an endpoint of", allowed: [.running]) }
    }

    /// Marks the endpoint of an attempt stopped (its worker ended). Not fenced: it only ever
    /// retires the row of the attempt that registered it.
    public func stopEndpoint(jobID: Int64, attempt: Int) async throws {
        try await client.query("SELECT hearth_stop_endpoint(\(jobID)::bigint, \(attempt)::int)")
    }

    /// The live endpoints: registered by an attempt that is still the job's running attempt
    /// (a rescued or finished job's endpoint is not live even before its row is retired).
    public func liveEndpoints(jobID: Int64? = nil) async throws -> [EndpointRecord] {
        try await client.query("""
            SELECT e.job_id, e.attempt, n.hostname, e.url, e.model, e.parameters, e.context, e.registered_at
            FROM endpoints e JOIN jobs j ON j.id = e.job_id AND j.attempt = e.attempt AND j.state = 'running'
            JOIN nodes n ON n.id = e.node_id
            WHERE e.state = 'serving' AND (\(jobID)::bigint IS NULL OR e.job_id = \(jobID)::bigint)
            ORDER BY e.job_id
            """).map {
            EndpointRecord(jobID: try $0.decode("job_id"), attempt: try $0.decode("attempt"), node: try $0.decode("hostname"),
                           url: try $0.decode("url"), model: try $0.decode("model"), parameters: try $0.decode("parameters"),
                           context: try $0.decode("context"), registeredAt: try $0.decode("registered_at"))
        }
    }
}

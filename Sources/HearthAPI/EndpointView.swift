#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `GET /v1/endpoints`: a live serving endpoint (a running serve job's OpenAI-compatible API).
public struct EndpointView: Sendable, Hashable, Codable {
    public var jobID: Int64
    public var attempt: Int
    /// The node the worker runs on.
    public var node: String
    /// Base URL: `POST {url}/v1/completions`, `GET {url}/health`, `GET {url}/metrics`.
    public var url: String
    public var model: String
    public var parameters: Int64?
    public var context: Int?
    public var registeredAt: Date
    /// The bearer key clients send (`Authorization: Bearer KEY`); shown only to those who may use
    /// the endpoint (its owner, its project's members, admins).
    public var apiKey: String?

    enum CodingKeys: String, CodingKey {
        case attempt, node, url, model, parameters, context
        case jobID = "job_id", registeredAt = "registered_at", apiKey = "api_key"
    }

    public init(jobID: Int64, attempt: Int, node: String, url: String, model: String, parameters: Int64?, context: Int?,
                registeredAt: Date) {
        self.jobID = jobID; self.attempt = attempt; self.node = node; self.url = url; self.model = model
        self.parameters = parameters; self.context = context; self.registeredAt = registeredAt
    }
}

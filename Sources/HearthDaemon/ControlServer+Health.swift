import Foundation
import HearthAPI
import Hummingbird
import NIOCore

/// What `GET /health` reports and what the control API answers while the database is away.
struct HealthEndpoint: Sendable {
    let health: DatabaseHealth
    let status: DaemonStatus
    /// Whether the database is the node's embedded cluster (for the wording).
    let embedded: Bool

    /// `GET /health`'s body.
    struct Report: Codable, Sendable {
        /// `healthy` or `degraded`.
        var status: String
        var node: String
        var database: DatabaseReport
        var jobsRunning: Int
        var scheduler: String
        /// The status line systemd has (`systemctl status hearthd`).
        var statusLine: String

        enum CodingKeys: String, CodingKey {
            case status, node, database, scheduler
            case jobsRunning = "jobs_running", statusLine = "status_line"
        }
    }

    struct DatabaseReport: Codable, Sendable {
        var reachable: Bool
        var kind: String
        var unreachableSince: Date?
        var detail: String?
        var outages: Int
        var lastOutageSeconds: Double?

        enum CodingKeys: String, CodingKey {
            case reachable, kind, detail, outages
            case unreachableSince = "unreachable_since", lastOutageSeconds = "last_outage_seconds"
        }
    }

    func report() -> Report {
        let h = health.snapshot
        return Report(
            status: h.reachable ? "healthy" : "degraded", node: status.nodeName,
            database: .init(reachable: h.reachable, kind: embedded ? "embedded" : "server", unreachableSince: h.since,
                            detail: h.detail, outages: h.outages, lastOutageSeconds: h.lastOutageSeconds),
            jobsRunning: status.running, scheduler: status.leader.get() ? "leader" : "standby", statusLine: status.line)
    }
}

/// Answers 503 at once, without touching the database, while it is unreachable; `GET /health`
/// is registered before it and so always answers.
struct DatabaseGate: RouterMiddleware {
    typealias Context = ControlContext
    let endpoint: HealthEndpoint

    func handle(_ request: Request, context: ControlContext, next: (Request, ControlContext) async throws -> Response) async throws -> Response {
        let h = endpoint.health.snapshot
        guard !h.reachable else { return try await next(request, context) }
        let error = APIError(code: "database-unreachable", message: DatabaseHealth.sentence(h, embedded: endpoint.embedded))
        let data = try APICoding.encoder().encode(error)
        return Response(status: .serviceUnavailable, headers: [.contentType: "application/json", .retryAfter: "5"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension ControlServer {
    /// `GET /health` (200 healthy, 503 degraded; JSON; open to every local user, like the socket),
    /// then the gate that makes every later route answer 503 while the database is unreachable.
    func addHealthRoutes(to router: Router<ControlContext>) {
        guard let health else { return }
        router.get("/health") { _, _ in
            let report = health.report()
            let data = try APICoding.encoder().encode(report)
            return Response(status: report.status == "healthy" ? .ok : .serviceUnavailable,
                            headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        router.add(middleware: DatabaseGate(endpoint: health))
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Every `/v1` route asks for the endpoint's bearer key (`Authorization: Bearer KEY`, as OpenAI
/// clients send it); `/health` and `/metrics` stay open for load balancers and Prometheus. A
/// missing or wrong key gets 401 with OpenAI's error body, before the request body is read.
struct BearerAuth: RouterMiddleware {
    typealias Context = BasicRequestContext
    let key: String
    let metrics: ServeMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path == "/v1" || path.hasPrefix("/v1/") else { return try await next(request, context) }
        let header = request.headers[.authorization] ?? ""
        let given = header.hasPrefix("Bearer ") ? String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces) : nil
        if let given, Self.same(given, key) { return try await next(request, context) }
        metrics.request(route: path, status: 401)
        let message = given == nil
            ? "this endpoint needs its API key: send Authorization: Bearer KEY (hearth endpoints shows KEY to those who may use it)"
            : "incorrect API key provided; hearth endpoints shows this endpoint's key to those who may use it"
        let body = ErrorBody(message: message, type: "invalid_request_error", code: "invalid_api_key")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Response(status: .unauthorized, headers: [.contentType: "application/json", .wwwAuthenticate: "Bearer"],
                        body: .init(byteBuffer: ByteBuffer(bytes: Array((try? encoder.encode(body)) ?? Data()))))
    }

    /// Compares in time that depends only on the lengths, so timing does not reveal a prefix.
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in x.indices { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}

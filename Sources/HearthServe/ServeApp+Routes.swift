import Foundation
import Hummingbird
import NIOCore

extension ServeApp {
    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        if let key = job.apiKey { router.add(middleware: BearerAuth(key: key, metrics: metrics)) }
        router.get("/health") { [self] _, _ -> Response in
            guard let l = current else {
                return json(["status": "loading"], status: .serviceUnavailable, headers: [.retryAfter: "1"])
            }
            return json(["status": "ok", "model": l.modelName], status: .ok)
        }
        router.get("/metrics") { [self] _, _ -> Response in
            metrics.setStreams(current?.engine.load ?? 0)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
        }
        router.get("/v1/models") { [self] _, _ -> Response in
            let l = try ready(route: "/v1/models")
            let model: [String: Any] = ["id": l.modelName, "object": "model", "created": created, "owned_by": "hearth",
                                        "context_length": l.context]
            return json(["object": "list", "data": [model]], status: .ok)
        }
        router.post("/v1/completions") { [self] request, _ -> Response in
            try await answer(route: "/v1/completions") {
                let body: CompletionRequest = try await decode(request)
                return try await completions(body, loaded: try ready(route: nil))
            }
        }
        router.post("/v1/chat/completions") { [self] request, _ -> Response in
            try await answer(route: "/v1/chat/completions") {
                let body: ChatRequest = try await decode(request)
                return try await chat(body, loaded: try ready(route: nil))
            }
        }
        return router
    }

    /// The loaded model, or 503 while loading.
    func ready(route: String?) throws(ServeFailure) -> Loaded {
        guard let l = current else {
            if let route { metrics.request(route: route, status: 503) }
            throw .loading
        }
        return l
    }

    /// Runs a handler, turning refusals into OpenAI error bodies and counting the status.
    func answer(route: String, _ body: () async throws -> Response) async throws -> Response {
        do {
            let response = try await body()
            metrics.request(route: route, status: Int(response.status.code))
            return response
        } catch let failure as ServeFailure {
            metrics.request(route: route, status: Int(failure.status.code))
            var headers: HTTPFields = [.contentType: "application/json"]
            if let r = failure.retryAfter { headers[.retryAfter] = String(r) }
            return Response(status: failure.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: encode(failure.body))))
        }
    }

    func decode<T: Decodable>(_ request: Request) async throws -> T {
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: 16 << 20) } catch {
            throw ServeFailure(status: .contentTooLarge, body: ErrorBody(message: "request bodies are limited to 16 MiB", type: "invalid_request_error"))
        }
        do { return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView)) } catch {
            throw ServeFailure.invalid("the body is not a valid \(T.self): \(Self.describe(error))")
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing field \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c), DecodingError.dataCorrupted(let c):
            (c.codingPath.map(\.stringValue).joined(separator: ".").isEmpty ? "" : "at \(c.codingPath.map(\.stringValue).joined(separator: ".")): ")
                + c.debugDescription
        default: "\(error)"
        }
    }

    func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? e.encode(value)) ?? Data())
    }

    func json(_ object: Any, status: HTTPResponse.Status, headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        headers.append(contentsOf: extra)
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A server-sent-events response: `data: JSON\n\n` per event, then `data: [DONE]\n\n`.
    /// `produce` sends the events; when the client goes away a send throws and ends it.
    func eventStream(_ produce: @escaping @Sendable (_ send: (String) async throws -> Void) async throws -> Void) -> Response {
        let body = ResponseBody { writer in
            try await produce { event in try await writer.write(ByteBuffer(string: "data: " + event + "\n\n")) }
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }
}

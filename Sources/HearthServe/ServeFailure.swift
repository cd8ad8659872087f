import HTTPTypes

/// A request the server refuses, with OpenAI's error body.
struct ServeFailure: Error {
    var status: HTTPResponse.Status
    var body: ErrorBody
    var retryAfter: Int?

    static func invalid(_ message: String, param: String? = nil, code: String? = nil) -> ServeFailure {
        ServeFailure(status: .badRequest, body: ErrorBody(message: message, type: "invalid_request_error", param: param, code: code))
    }

    static func overloaded(_ message: String) -> ServeFailure {
        ServeFailure(status: .tooManyRequests,
                     body: ErrorBody(message: message, type: "rate_limit_error", code: "rate_limit_exceeded"), retryAfter: 1)
    }

    static let loading = ServeFailure(
        status: .serviceUnavailable,
        body: ErrorBody(message: "the model is still loading; retry when GET /health answers 200", type: "server_error", code: "loading"),
        retryAfter: 1)

    static func internalError(_ message: String) -> ServeFailure {
        ServeFailure(status: .internalServerError, body: ErrorBody(message: message, type: "server_error"))
    }
}

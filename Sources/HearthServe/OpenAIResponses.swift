/// OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`.
public struct ErrorBody: Sendable, Codable, Equatable {
    public struct Detail: Sendable, Codable, Equatable {
        public var message: String
        public var type: String
        public var param: String?
        public var code: String?
    }
    public var error: Detail
    public init(message: String, type: String, param: String? = nil, code: String? = nil) {
        error = Detail(message: message, type: type, param: param, code: code)
    }
}

/// Token counts of a response.
public struct Usage: Sendable, Codable, Equatable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int
    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens = "total_tokens"
    }
    public init(prompt: Int, completion: Int) {
        promptTokens = prompt; completionTokens = completion; totalTokens = prompt + completion
    }
}

/// Per-token log-probabilities of a completion choice. Entries for the first prompt token are
/// `null` (nothing precedes it).
public struct CompletionLogprobs: Sendable, Codable, Equatable {
    public var tokens: [String] = []
    public var tokenLogprobs: [Double?] = []
    public var topLogprobs: [[String: Double]?] = []
    public var textOffset: [Int] = []
    enum CodingKeys: String, CodingKey {
        case tokens, tokenLogprobs = "token_logprobs", topLogprobs = "top_logprobs", textOffset = "text_offset"
    }
}

/// A `text_completion` response, or one chunk of a streamed one.
public struct CompletionResponse: Sendable, Codable {
    public struct Choice: Sendable, Codable {
        public var text: String
        public var index: Int
        public var logprobs: CompletionLogprobs?
        public var finishReason: String?
        enum CodingKeys: String, CodingKey { case text, index, logprobs, finishReason = "finish_reason" }
    }
    public var id: String
    public var object = "text_completion"
    public var created: Int
    public var model: String
    public var choices: [Choice]
    public var usage: Usage?
}

/// A `chat.completion` response, or a `chat.completion.chunk`.
public struct ChatResponse: Sendable, Codable {
    public struct Choice: Sendable, Codable {
        public var index: Int
        public var message: ChatRequest.Message?
        public var delta: Delta?
        public var finishReason: String?
        enum CodingKeys: String, CodingKey { case index, message, delta, finishReason = "finish_reason" }
    }
    /// The part of the message a chunk adds.
    public struct Delta: Sendable, Codable {
        public var role: String?
        public var content: String?
    }
    public var id: String
    public var object: String
    public var created: Int
    public var model: String
    public var choices: [Choice]
    public var usage: Usage?
}

/// The prompt of a completion request: text, several texts, token ids, or several lists of
/// token ids (lm-evaluation-harness sends ids).
public enum PromptInput: Sendable, Equatable, Decodable {
    case texts([String])
    case tokens([[Int32]])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) { self = .texts([s]); return }
        if let ss = try? c.decode([String].self) { self = .texts(ss); return }
        if let ids = try? c.decode([Int32].self) { self = .tokens([ids]); return }
        if let lists = try? c.decode([[Int32]].self) { self = .tokens(lists); return }
        throw DecodingError.dataCorruptedError(
            in: c, debugDescription: "prompt must be a string, an array of strings, an array of token ids, or an array of such arrays")
    }

    /// Number of prompts.
    var count: Int {
        switch self {
        case .texts(let t): t.count
        case .tokens(let t): t.count
        }
    }
}

/// `stop`: one string or up to four.
public struct StopSequences: Sendable, Equatable, Decodable {
    public var values: [String]
    public init(_ values: [String]) { self.values = values }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) { values = [s] } else { values = try c.decode([String].self) }
    }
}

/// `POST /v1/completions` (OpenAI's legacy completions API).
public struct CompletionRequest: Sendable, Decodable {
    public var model: String?
    public var prompt: PromptInput
    /// Defaults to `16`, as OpenAI's.
    public var maxTokens: Int?
    public var temperature: Double?
    public var topP: Double?
    public var topK: Int?
    public var seed: UInt64?
    public var stop: StopSequences?
    public var stream: Bool?
    /// Return the prompt too (with `logprobs`: the prompt tokens' log-probabilities).
    public var echo: Bool?
    /// Alternatives per token to report (0...20); absent: no logprobs.
    public var logprobs: Int?
    public var n: Int?
    public var streamOptions: StreamOptions?

    enum CodingKeys: String, CodingKey {
        case model, prompt, temperature, seed, stop, stream, echo, logprobs, n
        case maxTokens = "max_tokens", topP = "top_p", topK = "top_k", streamOptions = "stream_options"
    }
}

/// `stream_options`: `include_usage` adds a last chunk with token counts.
public struct StreamOptions: Sendable, Decodable {
    public var includeUsage: Bool?
    enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
}

/// `POST /v1/chat/completions`.
public struct ChatRequest: Sendable, Decodable {
    /// One message of the conversation.
    public struct Message: Sendable, Codable, Equatable {
        public var role: String
        public var content: String
        public init(role: String, content: String) { self.role = role; self.content = content }
    }
    public var model: String?
    public var messages: [Message]
    public var maxTokens: Int?
    public var maxCompletionTokens: Int?
    public var temperature: Double?
    public var topP: Double?
    public var seed: UInt64?
    public var stop: StopSequences?
    public var stream: Bool?
    public var n: Int?
    public var streamOptions: StreamOptions?

    enum CodingKeys: String, CodingKey {
        case model, messages, temperature, seed, stop, stream, n
        case maxTokens = "max_tokens", maxCompletionTokens = "max_completion_tokens", topP = "top_p"
        case streamOptions = "stream_options"
    }

    /// The conversation as plain text for a base model: one `role: content` line per message,
    /// then `assistant:` for the model to continue (these models have no chat template).
    public var renderedPrompt: String {
        messages.map { "\($0.role): \($0.content)\n" }.joined() + "assistant:"
    }
}

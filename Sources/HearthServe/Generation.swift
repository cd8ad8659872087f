import HTTPTypes
import Trainer

/// Sampling settings of one request, validated.
struct GenerationParameters: Sendable {
    var maxTokens: Int
    var temperature: Double
    var topP: Double
    var topK: Int
    var seed: UInt64
    var topLogprobs: Int
    var stops: [String]

    static func validated(maxTokens: Int?, temperature: Double?, topP: Double?, topK: Int?, seed: UInt64?, logprobs: Int?,
                          stop: StopSequences?, n: Int?) throws(ServeFailure) -> GenerationParameters {
        let maxTokens = maxTokens ?? 16
        guard maxTokens >= 0 else { throw .invalid("max_tokens must not be negative, got \(maxTokens)", param: "max_tokens") }
        let t = temperature ?? 1
        guard (0...2).contains(t) else { throw .invalid("temperature must be in [0, 2], got \(t)", param: "temperature") }
        let p = topP ?? 1
        guard p > 0 && p <= 1 else { throw .invalid("top_p must be in (0, 1], got \(p)", param: "top_p") }
        let k = topK ?? 0
        guard k >= 0 else { throw .invalid("top_k must not be negative, got \(k)", param: "top_k") }
        if let lp = logprobs, !(0...20).contains(lp) { throw .invalid("logprobs must be in 0...20, got \(lp)", param: "logprobs") }
        if let n, n != 1 { throw .invalid("only n = 1 is supported, got \(n); send several requests instead", param: "n") }
        let stops = stop?.values ?? []
        guard stops.count <= 4 else { throw .invalid("at most 4 stop sequences, got \(stops.count)", param: "stop") }
        return GenerationParameters(maxTokens: maxTokens, temperature: t, topP: p, topK: k, seed: seed ?? 1337,
                                    topLogprobs: logprobs ?? 0, stops: stops)
    }
}

/// A generated continuation, token by token.
struct Generated: Sendable {
    var text = ""
    var ids: [Int32] = []
    var logprobs: [Double] = []
    var tops: [[Engine.Alternative]] = []
    var finishReason = "length"
}

extension ServeApp {
    /// Admits a generation from `prompt` (nil when nothing is to be generated).
    /// - Throws: `ServeFailure`: 429 when overloaded, 503 when shutting down.
    func admit(_ loaded: Loaded, prompt: [Int32], _ p: GenerationParameters) throws(ServeFailure) -> Engine.Stream? {
        guard p.maxTokens > 0 else { return nil }
        var request = Engine.Request(prompt: prompt, maxTokens: p.maxTokens)
        request.temperature = p.temperature; request.topP = p.topP; request.topK = p.topK; request.seed = p.seed
        request.topLogprobs = p.topLogprobs
        do { return try loaded.engine.submit(request) } catch .overloaded {
            throw ServeFailure.overloaded(
                "all \(loaded.engine.maxConcurrent) streams are busy and \(loaded.engine.maxQueue) requests are waiting; retry later")
        } catch {
            throw ServeFailure(status: .serviceUnavailable, body: ErrorBody(message: "the server is shutting down", type: "server_error"))
        }
    }

    /// Consumes an admitted generation, calling `onPiece` with each releasable text piece and
    /// the generation so far; stops at `maxTokens` or a stop sequence.
    /// - Throws: what `onPiece` throws (the client went away); the generation is cancelled.
    func consume(_ stream: Engine.Stream?, _ loaded: Loaded, _ p: GenerationParameters, started: ContinuousClock.Instant,
                 onPiece: (String, Generated) async throws -> Void) async throws -> Generated {
        var out = Generated()
        guard let stream else { return out }
        defer { stream.cancel() }
        var pieces = TextPieces(stops: p.stops)
        for await event in stream.events {
            switch event {
            case .token(let id, let logprob, let top):
                if out.ids.isEmpty { metrics.recordTimeToFirstToken((ContinuousClock.now - started).seconds) }
                metrics.countGenerated()
                out.ids.append(id); out.logprobs.append(logprob); out.tops.append(top)
                let (piece, stopped) = pieces.add(loaded.tokenizer.decode([id]))
                if !piece.isEmpty { try await onPiece(piece, out) }
                if stopped {
                    out.finishReason = "stop"
                    out.text = pieces.text
                    return out
                }
            case .length:
                break
            case .failed(let message):
                throw ServeFailure.internalError("generation failed: \(message)")
            }
        }
        let rest = pieces.flush()
        if !rest.isEmpty { try await onPiece(rest, out) }
        out.text = pieces.text
        return out
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}

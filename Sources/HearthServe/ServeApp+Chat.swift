import Foundation
import Hummingbird
import Trainer

extension ServeApp {
    /// `POST /v1/chat/completions`: the messages rendered as plain text (see
    /// `ChatRequest.renderedPrompt`), answered as one assistant message or streamed as deltas.
    func chat(_ r: ChatRequest, loaded l: Loaded) async throws -> Response {
        let started = ContinuousClock.now
        guard !r.messages.isEmpty else { throw ServeFailure.invalid("messages is empty; send at least one message", param: "messages") }
        // Characters the tokenizer cannot represent (a char model's alphabet may lack ':') are dropped.
        var ids = (try? l.tokenizer.encode(r.renderedPrompt)) ?? []
        if ids.isEmpty { for ch in r.renderedPrompt { ids += (try? l.tokenizer.encode(String(ch))) ?? [] } }
        let prompt = try tokenize(.tokens([ids]), l)[0]
        let p = try GenerationParameters.validated(
            maxTokens: r.maxCompletionTokens ?? r.maxTokens ?? max(1, l.context - prompt.count), temperature: r.temperature,
            topP: r.topP, topK: nil, seed: r.seed, logprobs: nil, stop: r.stop, n: r.n)
        let id = "chatcmpl-" + UUID().uuidString.lowercased()
        let name = l.modelName, created = created
        let stream = try admit(l, prompt: prompt, p)
        metrics.countPrompt(prompt.count)
        if r.stream == true {
            let includeUsage = r.streamOptions?.includeUsage ?? false
            return eventStream { [self] send in
                defer { stream?.cancel() }
                func chunk(_ delta: ChatResponse.Delta, finish: String?) -> String {
                    let c = ChatResponse(id: id, object: "chat.completion.chunk", created: created, model: name,
                                         choices: [.init(index: 0, delta: delta, finishReason: finish)])
                    return String(decoding: encode(c), as: UTF8.self)
                }
                try await send(chunk(.init(role: "assistant", content: ""), finish: nil))
                let g = try await consume(stream, l, p, started: started) { piece, _ in
                    try await send(chunk(.init(content: piece), finish: nil))
                }
                try await send(chunk(.init(), finish: g.finishReason))
                if includeUsage {
                    let u = ChatResponse(id: id, object: "chat.completion.chunk", created: created, model: name, choices: [],
                                         usage: Usage(prompt: prompt.count, completion: g.ids.count))
                    try await send(String(decoding: encode(u), as: UTF8.self))
                }
            }
        }
        let g = try await consume(stream, l, p, started: started) { _, _ in }
        let response = ChatResponse(
            id: id, object: "chat.completion", created: created, model: name,
            choices: [.init(index: 0, message: .init(role: "assistant", content: g.text), finishReason: g.finishReason)],
            usage: Usage(prompt: prompt.count, completion: g.ids.count))
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: .init(bytes: encode(response))))
    }
}

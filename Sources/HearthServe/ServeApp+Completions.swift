import Foundation
import Hummingbird
import Trainer

extension ServeApp {
    /// `POST /v1/completions`: one choice per prompt; `echo` prepends the prompt (and, with
    /// `logprobs`, its tokens' log-probabilities, the first being null); `stream` sends SSE.
    func completions(_ r: CompletionRequest, loaded l: Loaded) async throws -> Response {
        let started = ContinuousClock.now
        let p = try GenerationParameters.validated(
            maxTokens: r.maxTokens, temperature: r.temperature, topP: r.topP, topK: r.topK, seed: r.seed, logprobs: r.logprobs,
            stop: r.stop, n: r.n)
        let prompts = try tokenize(r.prompt, l)
        let echo = r.echo ?? false, wantLogprobs = r.logprobs != nil
        let id = "cmpl-" + UUID().uuidString.lowercased()
        let name = l.modelName
        if r.stream == true {
            guard prompts.count == 1 else { throw ServeFailure.invalid("stream takes one prompt per request, got \(prompts.count)", param: "prompt") }
            let prompt = prompts[0]
            let promptPart = echo ? try await echoed(prompt, l, top: r.logprobs ?? 0) : nil
            let stream = try admit(l, prompt: prompt, p)
            metrics.countPrompt(prompt.count)
            let includeUsage = r.streamOptions?.includeUsage ?? false
            let created = created
            return eventStream { [self] send in
                defer { stream?.cancel() }
                func chunk(_ text: String, _ lp: CompletionLogprobs?, finish: String?) throws -> String {
                    let c = CompletionResponse(id: id, created: created, model: name,
                                               choices: [.init(text: text, index: 0, logprobs: lp, finishReason: finish)])
                    return String(decoding: encode(c), as: UTF8.self)
                }
                var offset = 0
                if let promptPart {
                    try await send(try chunk(promptPart.text, wantLogprobs ? promptPart.logprobs : nil, finish: nil))
                    offset = promptPart.text.count
                }
                var sent = 0
                let g = try await consume(stream, l, p, started: started) { piece, soFar in
                    var lp: CompletionLogprobs?
                    if wantLogprobs {
                        lp = CompletionLogprobs()
                        append(soFar, from: sent, to: &lp!, offset: &offset, l)
                        sent = soFar.ids.count
                    }
                    try await send(try chunk(piece, lp, finish: nil))
                }
                try await send(try chunk("", nil, finish: g.finishReason))
                if includeUsage {
                    let u = CompletionResponse(id: id, created: created, model: name, choices: [],
                                               usage: Usage(prompt: prompt.count, completion: g.ids.count))
                    try await send(String(decoding: encode(u), as: UTF8.self))
                }
            }
        }
        var choices: [CompletionResponse.Choice] = []
        var promptTokens = 0, completionTokens = 0
        for (index, prompt) in prompts.enumerated() {
            let promptPart = echo ? try await echoed(prompt, l, top: r.logprobs ?? 0) : nil
            let stream = try admit(l, prompt: prompt, p)
            metrics.countPrompt(prompt.count)
            let g = try await consume(stream, l, p, started: started) { _, _ in }
            var logprobs: CompletionLogprobs?
            if wantLogprobs {
                var lp = promptPart?.logprobs ?? CompletionLogprobs()
                var offset = promptPart?.text.count ?? 0
                append(g, to: &lp, offset: &offset, l)
                logprobs = lp
            }
            choices.append(.init(text: (promptPart?.text ?? "") + g.text, index: index, logprobs: logprobs, finishReason: g.finishReason))
            promptTokens += prompt.count
            completionTokens += g.ids.count
        }
        let response = CompletionResponse(id: id, created: created, model: name, choices: choices,
                                          usage: Usage(prompt: promptTokens, completion: completionTokens))
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: .init(bytes: encode(response))))
    }

    /// Token ids of every prompt, checked against the vocabulary and the context.
    func tokenize(_ prompt: PromptInput, _ l: Loaded) throws(ServeFailure) -> [[Int32]] {
        var out: [[Int32]] = []
        switch prompt {
        case .texts(let texts):
            for t in texts {
                do { out.append(try l.tokenizer.encode(t)) } catch { throw .invalid("cannot tokenize the prompt: \(error.description)", param: "prompt") }
            }
        case .tokens(let lists):
            for ids in lists {
                for x in ids where x < 0 || Int(x) >= l.engine.vocab {
                    throw .invalid("token id \(x) is outside the vocabulary (0..<\(l.engine.vocab))", param: "prompt")
                }
                out.append(ids)
            }
        }
        guard !out.isEmpty else { throw .invalid("prompt is empty", param: "prompt") }
        for ids in out {
            guard !ids.isEmpty else { throw .invalid("a prompt has no tokens; send at least one character", param: "prompt") }
            guard ids.count <= l.context else {
                throw .invalid("This model's maximum context length is \(l.context) tokens, but the prompt has \(ids.count); shorten it",
                               param: "prompt", code: "context_length_exceeded")
            }
        }
        return out
    }

    /// The prompt's text and its tokens' log-probabilities (from one full forward pass).
    func echoed(_ prompt: [Int32], _ l: Loaded, top: Int) async throws -> (text: String, logprobs: CompletionLogprobs) {
        let scored = try await l.engine.perform { model in try PromptScoring.score(model: model, tokens: prompt, top: top) }
        var lp = CompletionLogprobs(), offset = 0
        for (i, id) in prompt.enumerated() {
            let piece = tokenText(id, l)
            lp.tokens.append(piece)
            lp.textOffset.append(offset)
            offset += piece.count
            lp.tokenLogprobs.append(scored[i]?.logprob)
            lp.topLogprobs.append(scored[i].map { topDictionary($0.top, l) })
        }
        return (String(decoding: l.tokenizer.decode(prompt), as: UTF8.self), lp)
    }

    /// Appends a generation's tokens to `lp`.
    func append(_ g: Generated, from start: Int = 0, to lp: inout CompletionLogprobs, offset: inout Int, _ l: Loaded) {
        for i in start..<g.ids.count {
            let id = g.ids[i]
            let piece = tokenText(id, l)
            lp.tokens.append(piece); lp.textOffset.append(offset); offset += piece.count
            lp.tokenLogprobs.append(g.logprobs[i])
            lp.topLogprobs.append(topDictionary(g.tops[i], l))
        }
    }

    func tokenText(_ id: Int32, _ l: Loaded) -> String { String(decoding: l.tokenizer.decode([id]), as: UTF8.self) }

    func topDictionary(_ alts: [Engine.Alternative], _ l: Loaded) -> [String: Double] {
        var d: [String: Double] = [:]
        for a in alts { d[tokenText(a.id, l)] = max(d[tokenText(a.id, l)] ?? -.infinity, a.logprob) }
        return d
    }
}

import AsyncHTTPClient
import Foundation
import HearthServe
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
@testable import Trainer
#if canImport(Glibc)
import Glibc
#endif

/// The serving API over a real TCP socket, driven by a real HTTP client (AsyncHTTPClient).
@Suite(.timeLimit(.minutes(10))) struct ServeTests {
    let fixture: ServeFixture
    init() throws { fixture = try ServeFixture() }

    /// The greedy continuation `Trainer.generate` produces offline.
    func offlineGreedy(_ prompt: String, _ n: Int) throws -> String {
        let ids = try fixture.tokenizer.encode(prompt)
        var o = SamplingOptions()
        o.temperature = 0; o.maxNewTokens = n
        let out = try generate(model: fixture.model, prompt: ids, options: o)
        return String(decoding: fixture.tokenizer.decode(Array(out.dropFirst(ids.count))), as: UTF8.self)
    }

    @Test func healthIs503WhileLoadingThen200() async throws {
        let seen = SeenStatuses()
        try await fixture.withServer(fixture.job(loadDelayMs: 200), whileLoading: { url in
            let health = try await http(.GET, url + "/health")
            seen.add(health.status)
            #expect(health.header("Retry-After") == "1")
            let early = try await http(.POST, url + "/v1/completions", json: ["prompt": "to be", "max_tokens": 2])
            #expect(early.status == 503)
            #expect(try early.json()["error"] as? [String: Any] != nil)
        }) { url, _ in
            let health = try await http(.GET, url + "/health")
            seen.add(health.status)
            #expect(try health.json()["status"] as? String == "ok")
        }
        #expect(seen.all == [503, 200])
    }

    @Test func everyV1RouteNeedsTheBearerKeyButHealthAndMetricsDoNot() async throws {
        var job = fixture.job()
        job.apiKey = "hk-test-key-0123456789"
        try await fixture.withServer(job) { url, _ in
            let body: [String: Any] = ["prompt": "to be", "max_tokens": 2, "temperature": 0]
            for (name, headers) in [("no key", [(String, String)]()), ("wrong key", [("Authorization", "Bearer hk-test-key-0123456780")]),
                                    ("not bearer", [("Authorization", "Basic aGs6aGs=")])] {
                for (method, route) in [(HTTPMethod.GET, "/v1/models"), (.POST, "/v1/completions"), (.POST, "/v1/chat/completions")] {
                    let r = try await http(method, url + route, json: method == .POST ? body : nil, headers: headers)
                    #expect(r.status == 401, "\(name) \(route)")
                    let error = try #require(try r.json()["error"] as? [String: Any], "\(name) \(route): \(r.body)")
                    #expect(error["code"] as? String == "invalid_api_key" && error["type"] as? String == "invalid_request_error")
                    #expect((error["message"] as? String)?.contains("hearth endpoints") == true)
                }
            }
            #expect(try await http(.GET, url + "/health").status == 200)
            #expect(try await http(.GET, url + "/metrics").status == 200)
            let auth = [("Authorization", "Bearer hk-test-key-0123456789")]
            #expect(try await http(.GET, url + "/v1/models", headers: auth).status == 200)
            let ok = try await http(.POST, url + "/v1/completions", json: body, headers: auth)
            #expect(ok.status == 200)
            #expect((try ok.json()["choices"] as? [[String: Any]])?.count == 1)
        }
    }

    @Test func greedyOutputIsDeterministicAndMatchesOfflineGenerate() async throws {
        let expected = try offlineGreedy("to be or", 40)
        try await fixture.withServer(fixture.job()) { url, _ in
            for _ in 0..<2 {
                let r = try await http(.POST, url + "/v1/completions",
                                       json: ["prompt": "to be or", "max_tokens": 40, "temperature": 0, "seed": 3])
                #expect(r.status == 200)
                let choice = try #require((try r.json()["choices"] as? [[String: Any]])?.first)
                #expect(choice["text"] as? String == expected)
                #expect(choice["finish_reason"] as? String == "length")
                let usage = try #require(try r.json()["usage"] as? [String: Any])
                #expect(usage["completion_tokens"] as? Int == 40)
                #expect(usage["prompt_tokens"] as? Int == 8)
            }
            // Seeded sampling repeats too, and differs between seeds.
            func sample(_ seed: Int) async throws -> String {
                let r = try await http(.POST, url + "/v1/completions",
                                       json: ["prompt": "the", "max_tokens": 30, "temperature": 1, "seed": seed])
                return try #require((try r.json()["choices"] as? [[String: Any]])?.first?["text"] as? String)
            }
            let a = try await sample(7), b = try await sample(7), c = try await sample(8)
            #expect(a == b)
            #expect(a != c)
        }
    }

    @Test func streamingIsFramedAsServerSentEvents() async throws {
        try await fixture.withServer(fixture.job()) { url, _ in
            let body: [String: Any] = ["prompt": "that is", "max_tokens": 25, "temperature": 0, "stream": true,
                                       "stream_options": ["include_usage": true]]
            let r = try await http(.POST, url + "/v1/completions", json: body)
            #expect(r.status == 200)
            #expect(r.header("Content-Type")?.hasPrefix("text/event-stream") == true)
            #expect(r.body.hasSuffix("data: [DONE]\n\n"))
            let events = r.body.components(separatedBy: "\n\n").dropLast()
            #expect(events.allSatisfy { $0.hasPrefix("data: ") && !$0.dropFirst(6).contains("\n") })
            var text = "", finish: String?, usage: [String: Any]?
            for e in events.dropLast() {
                let obj = try #require(JSONSerialization.jsonObject(with: Data(e.dropFirst(6).utf8)) as? [String: Any])
                #expect(obj["object"] as? String == "text_completion")
                if let u = obj["usage"] as? [String: Any] { usage = u; continue }
                let choice = try #require((obj["choices"] as? [[String: Any]])?.first)
                text += choice["text"] as? String ?? ""
                if let f = choice["finish_reason"] as? String { finish = f }
            }
            #expect(events.last == "data: [DONE]")
            #expect(text == (try offlineGreedy("that is", 25)))
            #expect(finish == "length")
            #expect(usage?["completion_tokens"] as? Int == 25)

            // Chat streams deltas in chat.completion.chunk objects.
            let chat = try await http(.POST, url + "/v1/chat/completions", json: [
                "messages": [["role": "user", "content": "to be"]], "max_tokens": 10, "temperature": 0, "stream": true])
            #expect(chat.body.hasSuffix("data: [DONE]\n\n"))
            let first = try #require(chat.body.components(separatedBy: "\n\n").first)
            let obj = try #require(JSONSerialization.jsonObject(with: Data(first.dropFirst(6).utf8)) as? [String: Any])
            #expect(obj["object"] as? String == "chat.completion.chunk")
            let delta = (obj["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any]
            #expect(delta?["role"] as? String == "assistant")
        }
    }

    @Test func eightConcurrentClientsGetTheSameGreedyText() async throws {
        let expected = try offlineGreedy("whether", 30)
        try await fixture.withServer(fixture.job(maxConcurrent: 8, maxQueue: 0)) { url, _ in
            let texts = try await withThrowingTaskGroup(of: String.self) { group in
                for i in 0..<8 {
                    group.addTask {
                        let r = try await http(.POST, url + "/v1/completions", json: [
                            "prompt": "whether", "max_tokens": 30, "temperature": 0, "stream": i % 2 == 0])
                        #expect(r.status == 200)
                        if i % 2 == 1 { return try #require((try r.json()["choices"] as? [[String: Any]])?.first?["text"] as? String) }
                        return try r.body.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: {") }.map { e in
                            let o = try #require(JSONSerialization.jsonObject(with: Data(e.dropFirst(6).utf8)) as? [String: Any])
                            return (o["choices"] as? [[String: Any]])?.first?["text"] as? String ?? ""
                        }.joined()
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(texts.count == 8)
            #expect(texts.allSatisfy { $0 == expected })
        }
    }

    @Test func echoReturnsThePromptsLogprobsFirstNull() async throws {
        try await fixture.withServer(fixture.job()) { url, _ in
            let ids = try fixture.tokenizer.encode("not to be")
            let r = try await http(.POST, url + "/v1/completions", json: [
                "prompt": [ids.map(Int.init)], "max_tokens": 0, "echo": true, "logprobs": 1, "temperature": 0])
            #expect(r.status == 200)
            let choice = try #require((try r.json()["choices"] as? [[String: Any]])?.first)
            #expect(choice["text"] as? String == "not to be")
            let lp = try #require(choice["logprobs"] as? [String: Any])
            let tokenLogprobs = try #require(lp["token_logprobs"] as? [Any])
            #expect(tokenLogprobs.count == ids.count)
            #expect(tokenLogprobs[0] is NSNull)
            #expect((lp["top_logprobs"] as? [Any])?.first is NSNull)
            #expect(lp["text_offset"] as? [Int] == Array(0..<ids.count))
            #expect(lp["tokens"] as? [String] == "not to be".map(String.init))
            // The same numbers as the eval path's scoring core on the same checkpoint and text.
            let evalModel = try GPT(ServeFixture.config, threads: 1)
            _ = try Checkpoint.load(fixture.checkpoint, into: evalModel, adam: nil)
            let scored = try Scorer(model: evalModel).loglikelihood(context: [ids[0]], continuation: Array(ids.dropFirst()))
            for i in 1..<ids.count {
                let served = try #require(tokenLogprobs[i] as? Double)
                #expect(abs(served - scored.tokenLogprobs[i - 1]) < 1e-6, "token \(i)")
            }
            let servedSum = tokenLogprobs.dropFirst().compactMap { $0 as? Double }.reduce(0, +)
            #expect(abs(servedSum - scored.logprob) < 1e-5)
            // And close to the full forward pass's probabilities.
            try fixture.model.forward(tokens: ids, targets: nil, b: 1, t: ids.count)
            for i in 1..<ids.count {
                let offline = log(Double(fixture.model.probabilities(row: 0, position: i - 1)[Int(ids[i])]))
                #expect(abs((tokenLogprobs[i] as? Double ?? 0) - offline) < 1e-4)
            }
            // lm-evaluation-harness's request: echo, max_tokens 1, logprobs 1; it reads [ctxlen:-1].
            let harness = try await http(.POST, url + "/v1/completions", json: [
                "prompt": [ids.map(Int.init)], "max_tokens": 1, "echo": true, "logprobs": 1, "temperature": 0, "seed": 1234])
            let hChoice = try #require((try harness.json()["choices"] as? [[String: Any]])?.first)
            let hLogprobs = try #require((hChoice["logprobs"] as? [String: Any])?["token_logprobs"] as? [Any])
            #expect(hLogprobs.count == ids.count + 1)
            #expect((hLogprobs[1] as? Double) == (tokenLogprobs[1] as? Double))
        }
    }

    @Test func aClientThatDisconnectsMidStreamFreesItsSlot() async throws {
        try await fixture.withServer(fixture.job(maxConcurrent: 1, maxQueue: 0)) { url, app in
            let port = Int(url.split(separator: ":").last!)!
            let fd = try rawStreamingRequest(port: port, body: #"{"prompt":"to be","max_tokens":100000,"temperature":1,"stream":true}"#)
            // Read until the first event arrives, then vanish.
            var buffer = [UInt8](repeating: 0, count: 4096), got = ""
            while !got.contains("data: {") {
                let n = read(fd, &buffer, buffer.count)
                try #require(n > 0)
                got += String(decoding: buffer[..<n], as: UTF8.self)
            }
            // The one stream is busy: another client is refused meanwhile.
            let busy = try await http(.POST, url + "/v1/completions", json: ["prompt": "to", "max_tokens": 1])
            #expect(busy.status == 429)
            close(fd)
            // The server notices, cancels the generation and takes the next client.
            var status = 0
            for _ in 0..<50 where status != 200 {
                try await Task.sleep(for: .milliseconds(100))
                status = try await http(.POST, url + "/v1/completions", json: ["prompt": "to", "max_tokens": 3]).status
            }
            #expect(status == 200)
            let metrics = try await http(.GET, url + "/metrics").body
            #expect(metrics.contains("hearth_serve_streams 0.0"))
            _ = app
        }
    }

    @Test func overloadIsA429WithRetryAfter() async throws {
        try await fixture.withServer(fixture.job(maxConcurrent: 1, maxQueue: 1)) { url, _ in
            let port = Int(url.split(separator: ":").last!)!
            let body = #"{"prompt":"to be","max_tokens":100000,"stream":true}"#
            let a = try rawStreamingRequest(port: port, body: body), b = try rawStreamingRequest(port: port, body: body)
            defer { close(a); close(b) }
            // Both are admitted (one decoding, one queued) before the third asks.
            var admitted = false
            for _ in 0..<100 where !admitted {
                admitted = try await http(.GET, url + "/metrics").body.contains("hearth_serve_streams 2.0")
                if !admitted { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(admitted, "the two streaming requests were never both admitted")
            let r = try await http(.POST, url + "/v1/completions", json: ["prompt": "to", "max_tokens": 1])
            #expect(r.status == 429)
            #expect(r.header("Retry-After") == "1")
            let error = try #require(try r.json()["error"] as? [String: Any])
            #expect(error["code"] as? String == "rate_limit_exceeded")
            #expect((error["message"] as? String)?.contains("busy") == true)
        }
    }

    @Test func metricsCountRequestsTokensAndTimeToFirstToken() async throws {
        try await fixture.withServer(fixture.job()) { url, _ in
            _ = try await http(.POST, url + "/v1/completions", json: ["prompt": "to", "max_tokens": 5, "temperature": 0])
            _ = try await http(.POST, url + "/v1/chat/completions",
                               json: ["messages": [["role": "user", "content": "be"]], "max_tokens": 4, "temperature": 0])
            let bad = try await http(.POST, url + "/v1/completions", raw: #"{"prompt": 5}"#)
            #expect(bad.status == 400)
            #expect(((try bad.json()["error"] as? [String: Any])?["message"] as? String)?.contains("prompt") == true)
            let m = try await http(.GET, url + "/metrics")
            #expect(m.status == 200)
            #expect(m.body.contains(#"hearth_serve_requests_total{route="/v1/completions",status="200"} 1"#))
            #expect(m.body.contains(#"hearth_serve_requests_total{route="/v1/completions",status="400"} 1"#))
            #expect(m.body.contains(#"hearth_serve_requests_total{route="/v1/chat/completions",status="200"} 1"#))
            #expect(m.body.contains("hearth_serve_generated_tokens_total 9"))
            #expect(m.body.contains("hearth_serve_time_to_first_token_seconds_count 2"))
        }
    }
}

/// Statuses seen across closures.
final class SeenStatuses: Sendable {
    private let box = Mutex<[Int]>([])
    func add(_ s: Int) { box.withLock { $0.append(s) } }
    var all: [Int] { box.withLock { $0 } }
}

/// Sends a POST to /v1/completions over a plain TCP socket and returns the open descriptor, so
/// a test can read part of the answer and then close the connection like a vanished client.
func rawStreamingRequest(port: Int, body: String) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let ok = withUnsafePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    try #require(ok == 0)
    let request = "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
    _ = request.withCString { write(fd, $0, strlen($0)) }
    return fd
}

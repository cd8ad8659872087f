import AsyncHTTPClient
import Dispatch
import Foundation
import HearthServe
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
@testable import Trainer
#if canImport(Glibc)
import Glibc
#endif

/// A checkpoint of a small random-weight char model, its tokenizer, and a running server.
struct ServeFixture {
    static let text = "to be or not to be, that is the question: whether tis nobler in the mind to suffer.\n"
    static let config = ModelConfig(layers: 2, heads: 2, width: 32, context: 64, vocab: CharTokenizer(training: text).vocabSize)

    let dir: String
    let checkpoint: String
    let tokenizerPath: String
    let model: GPT
    let tokenizer: CharTokenizer

    init() throws {
        dir = NSTemporaryDirectory() + "hearth-serve-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        tokenizer = CharTokenizer(training: Self.text)
        tokenizerPath = dir + "/tokenizer.json"
        try saveTokenizer(tokenizer, to: tokenizerPath)
        model = try GPT(Self.config, seed: 21)
        let adam = AdamW(OptimizerConfig(), layout: model.layout)
        let info = CheckpointInfo(model: Self.config, optimizer: OptimizerConfig(), step: 1, samplerState: [0, 0, 0, 0], seed: 1,
                                  threads: 1, tokensSeen: 0, modelSHA256: "", optimizerSHA256: "")
        checkpoint = try Checkpoint.save(root: dir + "/checkpoints", model: model, adam: adam, info: info).path
    }

    /// A serve job for this checkpoint on a free port.
    func job(maxConcurrent: Int = 8, maxQueue: Int = 8, loadDelayMs: Int? = nil) -> ServeJob {
        var j = ServeJob(checkpoint: checkpoint, tokenizer: tokenizerPath)
        j.port = 0; j.maxConcurrent = maxConcurrent; j.maxQueue = maxQueue; j.threads = 1; j.modelName = "tiny"
        j.testLoadDelayMs = loadDelayMs
        return j
    }

    /// Runs a server for `job` around `body`, which gets its base URL once `/health` is 200
    /// (or, with `whileLoading`, first while it is still loading).
    func withServer(_ job: ServeJob, whileLoading: ((String) async throws -> Void)? = nil,
                    _ body: (String, ServeApp) async throws -> Void) async throws {
        // With `whileLoading`, loading waits until that check is done.
        let gate = DispatchSemaphore(value: 0)
        var hold: (@Sendable () -> Void)?
        if whileLoading != nil { hold = { gate.wait() } }
        let app = ServeApp(job: job, logger: Logger(label: "test"), beforeLoad: hold)
        let events = AsyncStream.makeStream(of: ServeApp.Progress.self)
        let server = Task { try await app.run { events.continuation.yield($0) } }
        defer { server.cancel() }
        var url = ""
        for await p in events.stream {
            switch p {
            case .loading(let u):
                url = u
                if let whileLoading {
                    defer { gate.signal() }
                    try await whileLoading(u)
                }
            case .serving(let u, _, _, _):
                url = u
            case .failed(let e):
                Issue.record("load failed: \(e)")
            }
            if case .serving = p { break }
        }
        try await body(url, app)
        await app.shutdown()
        try await server.value
    }
}

/// One HTTP exchange through AsyncHTTPClient.
struct HTTPReply: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: String
    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    func json() throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
    }
}

func http(_ method: HTTPMethod, _ url: String, json: [String: Any]? = nil, raw: String? = nil,
          headers: [(String, String)] = []) async throws -> HTTPReply {
    var request = HTTPClientRequest(url: url)
    request.method = method
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if let json {
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
    } else if let raw {
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: raw))
    }
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
    let body = try await response.body.collect(upTo: 16 << 20)
    return HTTPReply(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                     body: String(buffer: body))
}

import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Trainer
import UnixSignals

/// An OpenAI-compatible HTTP server for one checkpoint (see Docs/serving.md).
///
/// The socket is bound first and `/health` answers 503 while the checkpoint loads, then 200.
/// `run` returns after a graceful shutdown (SIGTERM, or the calling task's cancellation), once
/// in-flight requests have finished.
public final class ServeApp: Sendable {
    /// What `run` reports as it goes (the worker turns these into report lines).
    public enum Progress: Sendable {
        /// Bound to `url`; loading the checkpoint.
        case loading(url: String)
        /// Loaded: `/health` answers 200.
        case serving(url: String, model: String, parameters: Int, context: Int)
        /// The checkpoint could not be loaded; the server keeps answering 503 until shut down.
        case failed(TrainerError)
    }

    /// The loaded model, tokenizer and engine.
    struct Loaded: Sendable {
        var engine: Engine
        var tokenizer: any Tokenizer
        var modelName: String
        var context: Int
    }

    let job: ServeJob
    let logger: Logger
    /// The Prometheus metrics served at `/metrics`.
    public let metrics = ServeMetrics()
    private let loaded = Mutex<Loaded?>(nil)
    private let group = Mutex<ServiceGroup?>(nil)
    let created = Int(Date().timeIntervalSince1970)

    /// Runs on the loading thread before the checkpoint is read (tests hold loading here to
    /// observe `/health` answering 503).
    let beforeLoad: (@Sendable () -> Void)?

    /// A server for `job`; nothing happens until `run`.
    public init(job: ServeJob, logger: Logger, beforeLoad: (@Sendable () -> Void)? = nil) {
        self.job = job
        self.logger = logger
        self.beforeLoad = beforeLoad
    }

    var current: Loaded? { loaded.withLock { $0 } }

    /// Binds, loads, serves until shut down, then drains the engine.
    /// - Parameter stopOnSignals: drain on SIGTERM and SIGINT (the worker); otherwise only the
    ///   calling task's cancellation stops the server (tests).
    public func run(stopOnSignals: Bool = false, progress: @escaping @Sendable (Progress) -> Void) async throws {
        let gracefulShutdownSignals: [UnixSignal] = stopOnSignals ? [.sigterm, .sigint] : []
        let app = Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(job.resolvedHost, port: job.resolvedPort), serverName: "hearth-serve"),
            onServerRunning: { [self] channel in
                let port = channel.localAddress?.port ?? job.resolvedPort
                let url = "http://\(job.resolvedHost):\(port)"
                progress(.loading(url: url))
                Thread { [self] in
                    do throws(TrainerError) {
                        let l = try load()
                        loaded.withLock { $0 = l }
                        let model = l.engine.model.value
                        progress(.serving(url: url, model: l.modelName, parameters: model.layout.count, context: l.context))
                    } catch {
                        progress(.failed(error))
                    }
                }.start()
            },
            logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: gracefulShutdownSignals, logger: logger))
        self.group.withLock { $0 = group }
        try await group.run()
        if let engine = current?.engine { await engine.drain() }
    }

    /// Starts the same drain as SIGTERM: no new connections, requests in flight finish, then
    /// `run` returns.
    public func shutdown() async {
        await group.withLock { $0 }?.triggerGracefulShutdown()
    }

    /// Reads the checkpoint and tokenizer (blocking; runs on its own thread).
    func load() throws(TrainerError) -> Loaded {
        beforeLoad?()
        if let ms = job.testLoadDelayMs, ms > 0 { usleep(UInt32(ms) * 1000) }
        let info = try Checkpoint.info(job.checkpoint)
        let model = try GPT(info.model, threads: job.resolvedThreads)
        _ = try Checkpoint.load(job.checkpoint, into: model, adam: nil)
        let tokenizer = try loadTokenizer(try job.resolvedTokenizer())
        guard tokenizer.vocabSize <= info.model.vocab else {
            throw .badInput("the tokenizer's \(tokenizer.vocabSize) ids exceed the model's vocabulary of \(info.model.vocab)")
        }
        let engine = Engine(model: model, maxConcurrent: job.resolvedMaxConcurrent, maxQueue: job.resolvedMaxQueue)
        return Loaded(engine: engine, tokenizer: tokenizer, modelName: job.resolvedModelName, context: info.model.context)
    }
}

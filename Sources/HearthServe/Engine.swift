import Dispatch
import Foundation
import Synchronization
import Trainer

/// Runs every model computation of a served checkpoint on one dedicated thread, batching the
/// running streams: each step feeds all of them (new prompts and one token per running stream)
/// through the KV-cached decoder together.
///
/// Admission is bounded: at most `maxConcurrent` streams decode at once and `maxQueue` more wait;
/// past that `submit` throws ``Engine/Error/overloaded`` (the HTTP layer answers 429).
public final class Engine: Sendable {
    /// Why a request was not admitted.
    public enum Error: Swift.Error, Sendable, Equatable {
        /// All streams are busy and the queue is full.
        case overloaded
        /// The engine is draining for shutdown.
        case stopping
    }

    /// What a generation request asks for.
    public struct Request: Sendable {
        public var prompt: [Int32]
        public var maxTokens: Int
        public var temperature: Double = 1
        public var topP: Double = 1
        public var topK: Int = 0
        public var seed: UInt64 = 1337
        /// How many alternatives to report per generated token (0: none).
        public var topLogprobs: Int = 0
        public init(prompt: [Int32], maxTokens: Int) { self.prompt = prompt; self.maxTokens = maxTokens }
    }

    /// One event of a generation stream.
    public enum Event: Sendable {
        /// A generated token, its log-probability, and the most likely alternatives.
        case token(id: Int32, logprob: Double, top: [Alternative])
        /// The stream reached `maxTokens`.
        case length
        /// The model failed (a bug, reported rather than hidden).
        case failed(String)
    }

    /// A candidate token and its log-probability.
    public struct Alternative: Sendable {
        public var id: Int32
        public var logprob: Double
    }

    /// A running generation: its events, and a way to stop it early (stop sequence, client gone).
    public final class Stream: Sendable {
        public let events: AsyncStream<Event>
        let generation: Generation
        init(events: AsyncStream<Event>, generation: Generation) { self.events = events; self.generation = generation }
        /// Stops the generation; its slot is freed before the next step.
        public func cancel() { generation.cancelled.store(true, ordering: .relaxed) }
    }

    /// The loaded model (only the compute thread runs it).
    let model: UncheckedBox<GPT>
    let decoder: UncheckedBox<IncrementalDecoder>
    /// Streams decoded together.
    public let maxConcurrent: Int
    /// Requests allowed to wait for a stream.
    public let maxQueue: Int
    let state = Mutex(State())
    let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    struct State {
        var pending: [Generation] = []
        var work: [@Sendable (GPT) -> Void] = []
        /// Admitted and not yet finished (pending or decoding).
        var admitted = 0
        var stopping = false
    }

    /// Starts the compute thread for `model`.
    public init(model: GPT, maxConcurrent: Int, maxQueue: Int) {
        self.model = UncheckedBox(model)
        decoder = UncheckedBox(IncrementalDecoder(model: model, slots: maxConcurrent))
        self.maxConcurrent = maxConcurrent
        self.maxQueue = maxQueue
        let thread = Thread { [self] in loop() }
        thread.name = "hearth-serve-engine"
        thread.start()
    }

    /// The model's context length.
    public var context: Int { model.value.config.context }
    /// The model's vocabulary size.
    public var vocab: Int { model.value.config.vocab }

    /// Requests being decoded or waiting.
    public var load: Int { state.withLock { $0.admitted } }

    /// Admits a generation or throws ``Error/overloaded``.
    public func submit(_ request: Request) throws(Error) -> Stream {
        let (events, continuation) = AsyncStream.makeStream(of: Event.self)
        let seq = Generation(request: request, continuation: continuation)
        continuation.onTermination = { _ in seq.cancelled.store(true, ordering: .relaxed) }
        let admitted = state.withLock { s -> Error? in
            if s.stopping { return .stopping }
            if s.admitted >= maxConcurrent + maxQueue { return .overloaded }
            s.admitted += 1
            s.pending.append(seq)
            return nil
        }
        if let admitted { throw admitted }
        wake.signal()
        return Stream(events: events, generation: seq)
    }

    /// Runs `body` on the compute thread between decoding steps (for whole-sequence scoring).
    public func perform<T: Sendable>(_ body: @escaping @Sendable (GPT) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Swift.Error>) in
            let refused = state.withLock { s -> Bool in
                if s.stopping { return true }
                s.work.append { model in c.resume(with: Result { try body(model) }) }
                return false
            }
            if refused { c.resume(throwing: Error.stopping) } else { wake.signal() }
        }
    }

    func finishedSignal() { finished.signal() }

    /// Lets admitted requests finish, refuses new ones, and returns once the thread has ended.
    public func drain() async {
        state.withLock { $0.stopping = true }
        wake.signal()
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { [finished] in finished.wait(); finished.signal(); c.resume() }
        }
    }
}

/// A reference that the engine's own thread alone dereferences.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

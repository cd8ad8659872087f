import Dispatch
import Synchronization
import Trainer

extension Engine {
    /// One admitted generation. Its fields other than `cancelled` are touched only on the
    /// compute thread.
    final class Generation: @unchecked Sendable {
        let request: Request
        let continuation: AsyncStream<Event>.Continuation
        let cancelled = Atomic<Bool>(false)
        var tokens: [Int32]
        var sampler: Sampler
        var generated = 0
        var slot = -1
        /// Tokens appended since the last step (the whole prompt at first).
        var unfed: [Int32]

        init(request: Request, continuation: AsyncStream<Event>.Continuation) {
            self.request = request
            self.continuation = continuation
            tokens = request.prompt
            unfed = request.prompt
            sampler = Sampler(temperature: request.temperature, topK: request.topK, topP: request.topP, seed: request.seed)
        }
    }

    /// The compute thread: admit, feed, sample, emit; sleep when there is nothing to do.
    func loop() {
        let decoder = decoder.value, model = model.value, context = model.config.context
        var active: [Generation] = []
        var freeSlots = Array((0..<maxConcurrent).reversed())
        func finish(_ seq: Generation, _ event: Event?) {
            if let event { seq.continuation.yield(event) }
            seq.continuation.finish()
            if seq.slot >= 0 { freeSlots.append(seq.slot); seq.slot = -1 }
            state.withLock { $0.admitted -= 1 }
        }
        while true {
            let (work, admitted, stopping) = state.withLock { s in
                let n = min(freeSlots.count, s.pending.count)
                let taken = Array(s.pending.prefix(n))
                s.pending.removeFirst(n)
                let w = s.work
                s.work = []
                return (w, taken, s.stopping)
            }
            for w in work { w(model) }
            for seq in admitted {
                seq.slot = freeSlots.removeLast()
                decoder.cache.reset(slot: seq.slot)
                active.append(seq)
            }
            active.removeAll { seq in
                guard seq.cancelled.load(ordering: .relaxed) || seq.request.maxTokens <= 0 || seq.tokens.isEmpty else {
                    return false
                }
                finish(seq, seq.request.maxTokens <= 0 ? .length : nil)
                return true
            }
            if active.isEmpty {
                if stopping && state.withLock({ $0.pending.isEmpty && $0.work.isEmpty }) { break }
                wake.wait()
                continue
            }
            // A stream that outgrows the context restarts from its last `context` tokens, as
            // `generate` crops its window (learned positions cannot slide).
            var feeds: [IncrementalDecoder.Feed] = []
            for seq in active {
                if decoder.cache.length[seq.slot] + seq.unfed.count > context {
                    decoder.cache.reset(slot: seq.slot)
                    seq.unfed = Array(seq.tokens.suffix(context))
                }
                feeds.append(IncrementalDecoder.Feed(slot: seq.slot, tokens: seq.unfed))
            }
            let logits: [[Float]]
            do { logits = try decoder.step(feeds) } catch {
                for seq in active { finish(seq, .failed(error.description)) }
                active = []
                continue
            }
            for (seq, row) in zip(active, logits) {
                seq.unfed = []
                let lp = Sampler.logSoftmax(row[...])
                let id = seq.sampler.pick(lp)
                var top: [Alternative] = []
                if seq.request.topLogprobs > 0 {
                    let k = min(seq.request.topLogprobs, lp.count)
                    top = lp.indices.sorted { lp[$0] > lp[$1] }.prefix(k).map { Alternative(id: Int32($0), logprob: lp[$0]) }
                }
                seq.tokens.append(id)
                seq.unfed = [id]
                seq.generated += 1
                seq.continuation.yield(.token(id: id, logprob: lp[Int(id)], top: top))
            }
            active.removeAll { seq in
                guard seq.generated >= seq.request.maxTokens else { return false }
                finish(seq, .length)
                return true
            }
        }
        finishedSignal()
    }
}

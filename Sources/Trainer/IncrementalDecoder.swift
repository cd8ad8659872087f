/// Incremental inference for a `GPT`: each call feeds the new tokens of one or more sequences
/// (a prompt to prefill, or one sampled token per running stream) through the model in a single
/// batched pass, attending to the keys and values cached from earlier calls.
///
/// All rows of all sequences share the matrix products (one `sgemm` per layer and weight), which
/// is what makes several concurrent streams cheaper than running them one after another. Not
/// thread-safe: one thread drives a decoder.
public final class IncrementalDecoder {
    /// The model whose weights are used (read-only here).
    public let model: GPT
    /// The cached keys and values, one slot per sequence.
    public let cache: KVCache
    private var scratch: Scratch?

    /// One sequence's part of a step: the slot it lives in and the tokens to append to it.
    public struct Feed: Sendable {
        public var slot: Int
        public var tokens: [Int32]
        /// Whether to return the logits of every fed token (echo scoring) rather than the last.
        public var allLogits: Bool
        public init(slot: Int, tokens: [Int32], allLogits: Bool = false) {
            self.slot = slot; self.tokens = tokens; self.allLogits = allLogits
        }
    }

    /// Creates a decoder with room for `slots` concurrent sequences.
    public init(model: GPT, slots: Int) {
        self.model = model
        cache = KVCache(model.config, slots: slots)
    }

    /// Feeds `feeds` (distinct slots) and returns, per feed, the next-token logits after each
    /// requested position: `[tokens.count × vocab]` with `allLogits`, otherwise `[vocab]`.
    /// - Throws: `badInput` for a token outside the vocabulary, a bad slot, or a sequence that
    ///   would outgrow the context (the caller resets the slot and refeeds a suffix).
    public func step(_ feeds: [Feed]) throws(TrainerError) -> [[Float]] {
        let cfg = model.config, c = cfg.width, v = cfg.vocab
        var seen = Set<Int>()
        for f in feeds {
            guard (0..<cache.slots).contains(f.slot), seen.insert(f.slot).inserted else {
                throw .badInput("decoder slot \(f.slot) is out of range or fed twice in one step")
            }
            guard !f.tokens.isEmpty, cache.length[f.slot] + f.tokens.count <= cfg.context else {
                throw .badInput("\(f.tokens.count) tokens do not fit the \(cfg.context - cache.length[f.slot]) free positions of slot \(f.slot)")
            }
            for x in f.tokens where x < 0 || Int(x) >= v {
                throw .badInput("token id \(x) outside the vocabulary of \(v)")
            }
        }
        let n = feeds.reduce(0) { $0 + $1.tokens.count }
        guard n > 0 else { return [] }
        let s = scratch(rows: n)
        let p = model.params.p, L = model.layout, par = model.par
        func opt(_ o: Int) -> UnsafeMutablePointer<Float>? { o < 0 ? nil : p + o }

        // Row bookkeeping: which feed and absolute position each row is.
        var rowFeed = [Int](repeating: 0, count: n), rowPos = [Int](repeating: 0, count: n)
        var start = [Int](repeating: 0, count: feeds.count)
        var r = 0
        for (i, f) in feeds.enumerated() {
            start[i] = r
            for (j, tok) in f.tokens.enumerated() {
                rowFeed[r] = i; rowPos[r] = cache.length[f.slot] + j
                let o = s.x.p + r * c, e = p + L.wte + Int(tok) * c, pe = p + L.wpe + rowPos[r] * c
                for k in 0..<c { o[k] = e[k] + pe[k] }
                r += 1
            }
        }
        for l in 0..<cfg.layers {
            let o = L.blocks[l]
            LayerNorm.forward(par, out: s.ln.p, mean: s.mean.p, rstd: s.rstd.p, inp: s.x.p,
                              w: p + o.ln1w, b: opt(o.ln1b), n: n, c: c)
            Linear.forward(par, out: s.qkv.p, inp: s.ln.p, w: p + o.qkvw, b: opt(o.qkvb), n: n, ic: c, oc: 3 * c)
            // Append the new keys and values to each slot's cache, then attend.
            for row in 0..<n {
                let slot = feeds[rowFeed[row]].slot, pos = rowPos[row]
                let q = s.qkv.p + row * 3 * c
                (cache.keys(layer: l, slot: slot) + pos * c).update(from: q + c, count: c)
                (cache.values(layer: l, slot: slot) + pos * c).update(from: q + 2 * c, count: c)
            }
            attend(feeds: feeds, start: start, layer: l, s: s)
            Linear.forward(par, out: s.ln.p, inp: s.atty.p, w: p + o.projw, b: opt(o.projb), n: n, ic: c, oc: c)
            Residual.add(par, into: s.x.p, s.ln.p, count: n * c)
            LayerNorm.forward(par, out: s.ln.p, mean: s.mean.p, rstd: s.rstd.p, inp: s.x.p,
                              w: p + o.ln2w, b: opt(o.ln2b), n: n, c: c)
            Linear.forward(par, out: s.fc.p, inp: s.ln.p, w: p + o.fcw, b: opt(o.fcb), n: n, ic: c, oc: 4 * c)
            GELU.forward(par, out: s.fcg.p, inp: s.fc.p, count: n * 4 * c)
            Linear.forward(par, out: s.ln.p, inp: s.fcg.p, w: p + o.fcpw, b: opt(o.fcpb), n: n, ic: 4 * c, oc: c)
            Residual.add(par, into: s.x.p, s.ln.p, count: n * c)
        }
        for f in feeds { cache.setLength(cache.length[f.slot] + f.tokens.count, slot: f.slot) }
        // Only the rows whose logits are wanted go through the final norm and the tied head.
        var wanted: [Int] = []
        for (i, f) in feeds.enumerated() {
            if f.allLogits { wanted += Array(start[i]..<(start[i] + f.tokens.count)) } else { wanted.append(start[i] + f.tokens.count - 1) }
        }
        let m = wanted.count
        for (k, row) in wanted.enumerated() { (s.atty.p + k * c).update(from: s.x.p + row * c, count: c) }
        LayerNorm.forward(par, out: s.ln.p, mean: s.mean.p, rstd: s.rstd.p, inp: s.atty.p,
                          w: p + L.lnfw, b: opt(L.lnfb), n: m, c: c)
        par.gemmCols(m: m, n: v, k: c, a: s.ln.p, lda: c, b: p + L.wte, ldb: c, transB: true, c: s.logits.p, ldc: v)
        var out: [[Float]] = []
        var k = 0
        for f in feeds {
            let rows = f.allLogits ? f.tokens.count : 1
            out.append(Array(UnsafeBufferPointer(start: s.logits.p + k * v, count: rows * v)))
            k += rows
        }
        return out
    }

    /// Causal attention of every new row against its slot's cached keys and values, one
    /// (feed, head) pair per parallel item.
    private func attend(feeds: [Feed], start: [Int], layer l: Int, s: Scratch) {
        let cfg = model.config, c = cfg.width, heads = cfg.heads, hs = c / heads
        let scale = 1 / Float(hs).squareRoot(), ctx = cfg.context
        let lengths = feeds.map { cache.length[$0.slot] }
        model.par.forEachItem(feeds.count * heads) { worker, item in
            let i = item / heads, h = item % heads, f = feeds[i]
            let m = f.tokens.count, past = lengths[i], total = past + m
            let q = UnsafePointer(s.qkv.p + start[i] * 3 * c + h * hs)
            let k = UnsafePointer(cache.keys(layer: l, slot: f.slot) + h * hs)
            let vv = UnsafePointer(cache.values(layer: l, slot: f.slot) + h * hs)
            let att = s.att.p + worker * ctx * ctx
            Parallel.gemm(m: m, n: total, k: hs, a: q, lda: 3 * c, b: k, ldb: c, transB: true, c: att, ldc: total, alpha: scale)
            for j in 0..<m { Attention.causalSoftmax(att + j * total, valid: past + j + 1, width: total) }
            Parallel.gemm(m: m, n: hs, k: total, a: att, lda: total, b: vv, ldb: c, c: s.atty.p + start[i] * c + h * hs, ldc: c)
        }
    }

    /// Work buffers sized for `rows` rows, grown on demand.
    private final class Scratch {
        let rows: Int
        let x, ln, qkv, atty, fc, fcg, mean, rstd, att, logits: FloatBuffer
        init(_ cfg: ModelConfig, rows: Int, threads: Int) {
            self.rows = rows
            let c = cfg.width
            x = FloatBuffer(rows * c); ln = FloatBuffer(rows * c); qkv = FloatBuffer(rows * 3 * c)
            atty = FloatBuffer(rows * c); fc = FloatBuffer(rows * 4 * c); fcg = FloatBuffer(rows * 4 * c)
            mean = FloatBuffer(rows); rstd = FloatBuffer(rows)
            att = FloatBuffer(threads * cfg.context * cfg.context)
            logits = FloatBuffer(rows * cfg.vocab)
        }
    }

    private func scratch(rows: Int) -> Scratch {
        if let s = scratch, s.rows >= rows { return s }
        let s = Scratch(model.config, rows: max(rows, 16), threads: model.par.threads)
        scratch = s
        return s
    }
}

/// A GPT-2 style decoder with explicit forward and backward passes over flat fp32 buffers.
public final class GPT {
    /// The model shape.
    public let config: ModelConfig
    /// Where each tensor lives in `params` and `grads`.
    public let layout: ParameterLayout
    /// The weights.
    public let params: FloatBuffer
    /// The gradients, accumulated by `backward` until `zeroGrad`.
    public let grads: FloatBuffer
    /// The thread partition used by every kernel.
    public let par: Parallel
    private var acts: Activations?
    /// Whether `forward` applies dropout (training) or not (evaluation, generation).
    public var training = false
    /// Seed of the next forward pass's dropout masks; the training loop sets it per micro-step.
    public var dropoutSeed: UInt64 = 0
    private var droppedOut = false
    private var tokens: [Int32] = [], targets: [Int32] = []

    /// Creates a model with GPT-2 initialisation from `seed`.
    public init(_ config: ModelConfig, seed: UInt64 = 1337, threads: Int = 1) throws(TrainerError) {
        try config.validate()
        self.config = config
        layout = ParameterLayout(config)
        params = FloatBuffer(layout.count)
        grads = FloatBuffer(layout.count)
        par = Parallel(threads: threads)
        layout.initialise(params.p, layers: config.layers, seed: seed)
    }

    /// Sets all gradients to zero.
    public func zeroGrad() { grads.zero() }

    /// Bytes of the activation buffers currently allocated.
    public var activationBytes: Int { acts?.bytes ?? 0 }

    private func activations(b: Int, t: Int) -> Activations {
        if let a = acts, a.b == b, a.t == t { return a }
        let a = Activations(config, b: b, t: t, par: par)
        acts = a
        return a
    }

    /// Runs the model on `tokens` (`b × t`, row-major). With `targets` returns the mean
    /// cross-entropy (nats); without, returns 0 and leaves next-token probabilities for `probabilities`.
    @discardableResult
    public func forward(tokens tok: [Int32], targets tgt: [Int32]?, b: Int, t: Int) throws(TrainerError) -> Float {
        guard t >= 1, t <= config.context, b >= 1, tok.count == b * t else {
            throw .badInput("batch shape \(b)×\(t) does not fit \(tok.count) tokens or context \(config.context)")
        }
        for x in tok where x < 0 || Int(x) >= config.vocab {
            throw .badInput("token id \(x) outside the vocabulary of \(config.vocab)")
        }
        if let tgt {
            guard tgt.count == tok.count else { throw .badInput("targets and tokens differ in length") }
            for x in tgt where x < 0 || Int(x) >= config.vocab {
                throw .badInput("target id \(x) outside the vocabulary of \(config.vocab)")
            }
        }
        tokens = tok; targets = tgt ?? []
        let a = activations(b: b, t: t)
        let c = config.width, n = b * t, v = config.vocab, L = layout, p = params.p
        func opt(_ o: Int) -> UnsafeMutablePointer<Float>? { o < 0 ? nil : p + o }
        tokens.withUnsafeBufferPointer { tp in
            Embedding.forward(par, out: a.encoded.p, tokens: tp.baseAddress!, wte: p + L.wte, wpe: p + L.wpe, b: b, t: t, c: c)
        }
        droppedOut = training && config.dropout > 0
        let pDrop = Float(config.dropout)
        if droppedOut {
            Dropout.mask(par, into: a.embMask.p, count: n * c, p: pDrop, seed: dropoutSeed, site: 0)
            Dropout.apply(par, a.encoded.p, mask: a.embMask.p, count: n * c)
        }
        for l in 0..<config.layers {
            let o = L.blocks[l]
            let resIn = l == 0 ? a.encoded.p : a.res3.p + (l - 1) * n * c
            let ln1 = a.ln1.p + l * n * c, qkv = a.qkv.p + l * n * 3 * c, atty = a.atty.p + l * n * c
            let att = a.att.p + l * b * config.heads * t * t, res2 = a.res2.p + l * n * c
            let ln2 = a.ln2.p + l * n * c, fch = a.fch.p + l * n * 4 * c, fchg = a.fchGelu.p + l * n * 4 * c
            let res3 = a.res3.p + l * n * c
            LayerNorm.forward(par, out: ln1, mean: a.ln1Mean.p + l * n, rstd: a.ln1Rstd.p + l * n, inp: resIn,
                              w: p + o.ln1w, b: opt(o.ln1b), n: n, c: c)
            Linear.forward(par, out: qkv, inp: ln1, w: p + o.qkvw, b: opt(o.qkvb), n: n, ic: c, oc: 3 * c)
            Attention.forward(par, out: atty, att: att, qkv: qkv, b: b, t: t, c: c, heads: config.heads)
            Linear.forward(par, out: res2, inp: atty, w: p + o.projw, b: opt(o.projb), n: n, ic: c, oc: c)
            if droppedOut {
                let m = a.attnMask.p + l * n * c
                Dropout.mask(par, into: m, count: n * c, p: pDrop, seed: dropoutSeed, site: UInt64(1 + 2 * l))
                Dropout.apply(par, res2, mask: m, count: n * c)
            }
            Residual.add(par, into: res2, resIn, count: n * c)
            LayerNorm.forward(par, out: ln2, mean: a.ln2Mean.p + l * n, rstd: a.ln2Rstd.p + l * n, inp: res2,
                              w: p + o.ln2w, b: opt(o.ln2b), n: n, c: c)
            Linear.forward(par, out: fch, inp: ln2, w: p + o.fcw, b: opt(o.fcb), n: n, ic: c, oc: 4 * c)
            GELU.forward(par, out: fchg, inp: fch, count: n * 4 * c)
            Linear.forward(par, out: res3, inp: fchg, w: p + o.fcpw, b: opt(o.fcpb), n: n, ic: 4 * c, oc: c)
            if droppedOut {
                let m = a.mlpMask.p + l * n * c
                Dropout.mask(par, into: m, count: n * c, p: pDrop, seed: dropoutSeed, site: UInt64(2 + 2 * l))
                Dropout.apply(par, res3, mask: m, count: n * c)
            }
            Residual.add(par, into: res3, res2, count: n * c)
        }
        let last = config.layers == 0 ? a.encoded.p : a.res3.p + (config.layers - 1) * n * c
        LayerNorm.forward(par, out: a.lnf.p, mean: a.lnfMean.p, rstd: a.lnfRstd.p, inp: last,
                          w: p + L.lnfw, b: opt(L.lnfb), n: n, c: c)
        // Tied head: logits = lnf · wteᵀ.
        if n < Linear.rowSplitMinimum {
            par.gemmCols(m: n, n: v, k: c, a: a.lnf.p, lda: c, b: p + L.wte, ldb: c, transB: true, c: a.probs.p, ldc: v)
        } else {
            par.gemmRows(m: n, n: v, k: c, a: a.lnf.p, lda: c, b: p + L.wte, ldb: c, transB: true, c: a.probs.p, ldc: v)
        }
        return targets.withUnsafeBufferPointer { tp -> Float in
            CrossEntropy.forward(par, probs: a.probs.p, losses: a.losses.p, targets: tgt == nil ? nil : tp.baseAddress,
                                 n: n, v: v)
            guard tgt != nil else { return 0 }
            var s = 0.0
            for i in 0..<n { s += Double(a.losses.p[i]) }
            return Float(s / Double(n))
        }
    }

    /// Next-token probabilities at position `t` of batch row `b` after a forward pass without targets.
    public func probabilities(row b: Int, position t: Int) -> UnsafeBufferPointer<Float> {
        let a = acts!
        return UnsafeBufferPointer(start: a.probs.p + (b * a.t + t) * config.vocab, count: config.vocab)
    }

    /// Per-position losses of the last forward pass with targets.
    var lossPointer: UnsafeMutablePointer<Float> { acts!.losses.p }

    /// Adds the gradient of `lossScale × mean loss` of the last forward pass into `grads`.
    public func backward(lossScale: Float = 1) {
        guard let a = acts, !targets.isEmpty else { return }
        let n = a.b * a.t, v = config.vocab
        targets.withUnsafeBufferPointer { tp in
            CrossEntropy.backward(par, probs: a.probs.p, targets: tp.baseAddress!, n: n, v: v, scale: lossScale / Float(n))
        }
        backwardFromLogitGradient()
    }

    /// The probabilities of the last forward pass (`b·t × vocab`); a loss other than the
    /// cross-entropy (distillation) overwrites them with d(loss)/d(logits) before
    /// `backwardFromLogitGradient`.
    var probsPointer: UnsafeMutablePointer<Float> { acts!.probs.p }

    /// Adds the gradient into `grads` given d(loss)/d(logits) in the probabilities buffer.
    func backwardFromLogitGradient() {
        guard let a = acts else { return }
        let b = a.b, t = a.t, c = config.width, n = b * t, v = config.vocab, L = layout
        let p = params.p, g = grads.p
        func opt(_ base: UnsafeMutablePointer<Float>, _ o: Int) -> UnsafeMutablePointer<Float>? { o < 0 ? nil : base + o }
        // Head: dlnf = dlogits · wte ; dwte += dlogitsᵀ · lnf.
        if n < Linear.rowSplitMinimum {
            par.gemmCols(m: n, n: c, k: v, a: a.probs.p, lda: v, b: p + L.wte, ldb: c, c: a.dln.p, ldc: c)
        } else {
            par.gemmRows(m: n, n: c, k: v, a: a.probs.p, lda: v, b: p + L.wte, ldb: c, c: a.dln.p, ldc: c)
        }
        par.gemmCols(m: v, n: c, k: n, a: a.probs.p, lda: v, transA: true, b: a.lnf.p, ldb: c,
                     c: g + L.wte, ldc: c, accumulate: true)
        a.dres.zero()
        let last = config.layers == 0 ? a.encoded.p : a.res3.p + (config.layers - 1) * n * c
        LayerNorm.backward(par, dinp: a.dres.p, dw: g + L.lnfw, db: opt(g, L.lnfb), dout: a.dln.p, inp: last,
                           w: p + L.lnfw, mean: a.lnfMean.p, rstd: a.lnfRstd.p, n: n, c: c, scratch: a.normScratch.p)
        for l in stride(from: config.layers - 1, through: 0, by: -1) {
            let o = L.blocks[l]
            let resIn = l == 0 ? a.encoded.p : a.res3.p + (l - 1) * n * c
            let ln1 = a.ln1.p + l * n * c, qkv = a.qkv.p + l * n * 3 * c, atty = a.atty.p + l * n * c
            let att = a.att.p + l * b * config.heads * t * t, res2 = a.res2.p + l * n * c
            let ln2 = a.ln2.p + l * n * c, fch = a.fch.p + l * n * 4 * c, fchg = a.fchGelu.p + l * n * 4 * c
            // MLP branch: dres is d(res3); the branch sees it through its dropout mask.
            var branch = UnsafePointer(a.dres.p)
            if droppedOut {
                Dropout.apply(par, a.dres.p, mask: a.mlpMask.p + l * n * c, count: n * c, out: a.dmasked.p)
                branch = UnsafePointer(a.dmasked.p)
            }
            Linear.backward(par, dinp: a.dfchGelu.p, dw: g + o.fcpw, db: opt(g, o.fcpb), dout: branch, inp: fchg,
                            w: p + o.fcpw, n: n, ic: 4 * c, oc: c)
            GELU.backward(par, dinp: a.dfch.p, inp: fch, dout: a.dfchGelu.p, count: n * 4 * c)
            Linear.backward(par, dinp: a.dln.p, dw: g + o.fcw, db: opt(g, o.fcb), dout: a.dfch.p, inp: ln2,
                            w: p + o.fcw, n: n, ic: c, oc: 4 * c)
            LayerNorm.backward(par, dinp: a.dres.p, dw: g + o.ln2w, db: opt(g, o.ln2b), dout: a.dln.p, inp: res2,
                               w: p + o.ln2w, mean: a.ln2Mean.p + l * n, rstd: a.ln2Rstd.p + l * n, n: n, c: c,
                               scratch: a.normScratch.p)
            // Attention branch: dres is now d(res2).
            branch = UnsafePointer(a.dres.p)
            if droppedOut {
                Dropout.apply(par, a.dres.p, mask: a.attnMask.p + l * n * c, count: n * c, out: a.dmasked.p)
                branch = UnsafePointer(a.dmasked.p)
            }
            Linear.backward(par, dinp: a.datty.p, dw: g + o.projw, db: opt(g, o.projb), dout: branch, inp: atty,
                            w: p + o.projw, n: n, ic: c, oc: c)
            Attention.backward(par, dqkv: a.dqkv.p, dout: a.datty.p, qkv: qkv, att: att, b: b, t: t, c: c,
                               heads: config.heads, scratch: a.attScratch.p)
            Linear.backward(par, dinp: a.dln.p, dw: g + o.qkvw, db: opt(g, o.qkvb), dout: a.dqkv.p, inp: ln1,
                            w: p + o.qkvw, n: n, ic: c, oc: 3 * c)
            LayerNorm.backward(par, dinp: a.dres.p, dw: g + o.ln1w, db: opt(g, o.ln1b), dout: a.dln.p, inp: resIn,
                               w: p + o.ln1w, mean: a.ln1Mean.p + l * n, rstd: a.ln1Rstd.p + l * n, n: n, c: c,
                               scratch: a.normScratch.p)
        }
        if droppedOut { Dropout.apply(par, a.dres.p, mask: a.embMask.p, count: n * c) }
        tokens.withUnsafeBufferPointer { tp in
            Embedding.backward(par, dwte: g + L.wte, dwpe: g + L.wpe, dout: a.dres.p, tokens: tp.baseAddress!, b: b, t: t, c: c)
        }
    }
}

/// Elementwise residual addition.
enum Residual {
    static func add(_ par: Parallel, into dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count: Int) {
        par.forEachChunk(count, grain: 4096) { _, r in
            for i in r { dst[i] += src[i] }
        }
    }
}

import Foundation

/// The GPU backend: the model's weights, gradients, AdamW moments and activations live in GPU
/// memory; matrix products go through cuBLAS (FP32, TF32 or BF16 inputs with FP32 accumulation,
/// per `CUDAPrecision`) and everything else through the NVRTC-compiled kernels of
/// `CUDAKernels`. The step is the CPU backend's, operation for operation (same dropout masks,
/// same AdamW arithmetic), so a checkpoint written by either resumes on the other.
final class CUDABackend: TrainerBackend {
    let model: GPT
    let precision: CUDAPrecision
    let cuda: CUDAContext
    let params: DeviceBuffer, grads: DeviceBuffer, m: DeviceBuffer, v: DeviceBuffer
    private var acts: DeviceActivations?
    /// Runs of tensors with the same weight-decay flag: (offset, count, decay).
    private let segments: [(offset: Int, count: Int, decay: Bool)]
    private let normBlocks = 1024
    private let normPartial: DeviceBuffer
    private var targetsGiven = false, droppedOut = false

    var name: String { "cuda" }
    var device: String { "\(cuda.deviceName) (sm_\(cuda.major)\(cuda.minor), \(cuda.multiprocessors) SMs), \(precision.rawValue) matmuls" }

    init(model: GPT, precision: CUDAPrecision) throws(TrainerError) {
        cuda = try CUDAContext.start()
        self.model = model
        self.precision = precision
        let n = model.layout.count
        params = try DeviceBuffer(n); grads = try DeviceBuffer(n); m = try DeviceBuffer(n); v = try DeviceBuffer(n)
        normPartial = try DeviceBuffer(normBlocks, bytesPerElement: 8)
        var segs: [(offset: Int, count: Int, decay: Bool)] = []
        for t in model.layout.tensors {
            if let last = segs.last, last.decay == t.decay, last.offset + last.count == t.offset {
                segs[segs.count - 1].count += t.count
            } else {
                segs.append((t.offset, t.count, t.decay))
            }
        }
        segments = segs
        try upload(nil)
    }

    private func activations(b: Int, t: Int) throws(TrainerError) -> DeviceActivations {
        if let a = acts, a.b == b, a.t == t { return a }
        acts = nil  // free the old shape first
        let a = try DeviceActivations(model.config, b: b, t: t)
        acts = a
        return a
    }

    private func blocks(_ n: Int, _ per: Int = 256) -> Int { (n + per - 1) / per }

    func zeroGrad() throws(TrainerError) { try cuda.zero(grads.address, floats: grads.count) }

    // MARK: Forward

    func forward(tokens tok: [Int32], targets tgt: [Int32]?, b: Int, t: Int) throws(TrainerError) -> Float {
        let cfg = model.config
        guard t >= 1, t <= cfg.context, b >= 1, tok.count == b * t else {
            throw .badInput("batch shape \(b)×\(t) does not fit \(tok.count) tokens or context \(cfg.context)")
        }
        for x in tok where x < 0 || Int(x) >= cfg.vocab { throw .badInput("token id \(x) outside the vocabulary of \(cfg.vocab)") }
        if let tgt {
            guard tgt.count == tok.count else { throw .badInput("targets and tokens differ in length") }
            for x in tgt where x < 0 || Int(x) >= cfg.vocab { throw .badInput("target id \(x) outside the vocabulary of \(cfg.vocab)") }
        }
        let a = try activations(b: b, t: t)
        try cuda.upload(a.tokens.address, array: tok)
        if let tgt { try cuda.upload(a.targets.address, array: tgt) }
        targetsGiven = tgt != nil
        let c = cfg.width, n = b * t, vocab = cfg.vocab, L = model.layout, p = params
        func opt(_ o: Int) -> UInt64 { o < 0 ? 0 : p[o] }
        try cuda.launch("embedding_forward", grid: blocks(n * c), [.ptr(a.encoded.address), .ptr(a.tokens.address), .ptr(p[L.wte]),
                                                                 .ptr(p[L.wpe]), .i32(Int32(n)), .i32(Int32(t)), .i32(Int32(c))])
        droppedOut = model.training && cfg.dropout > 0
        let seed = model.dropoutSeed
        if droppedOut { try dropout(a.encoded.address, mask: a.embMask.address, count: n * c, seed: seed, site: 0) }
        for l in 0..<cfg.layers {
            let o = L.blocks[l]
            let resIn = l == 0 ? a.encoded.address : a.res3[(l - 1) * n * c]
            let ln1 = a.ln1[l * n * c], qkv = a.qkv[l * n * 3 * c], atty = a.atty[l * n * c]
            let att = a.att[l * b * cfg.heads * t * t], res2 = a.res2[l * n * c]
            let ln2 = a.ln2[l * n * c], fch = a.fch[l * n * 4 * c], fchg = a.fchGelu[l * n * 4 * c], res3 = a.res3[l * n * c]
            try layerNorm(ln1, mean: a.ln1Mean[l * n], rstd: a.ln1Rstd[l * n], inp: resIn, w: p[o.ln1w], b: opt(o.ln1b), n: n, c: c)
            try linear(qkv, inp: ln1, w: p[o.qkvw], b: opt(o.qkvb), n: n, ic: c, oc: 3 * c)
            try attentionForward(out: atty, att: att, qkv: qkv, a: a)
            try linear(res2, inp: atty, w: p[o.projw], b: opt(o.projb), n: n, ic: c, oc: c)
            if droppedOut { try dropout(res2, mask: a.attnMask[l * n * c], count: n * c, seed: seed, site: UInt64(1 + 2 * l)) }
            try add(into: res2, resIn, count: n * c)
            try layerNorm(ln2, mean: a.ln2Mean[l * n], rstd: a.ln2Rstd[l * n], inp: res2, w: p[o.ln2w], b: opt(o.ln2b), n: n, c: c)
            try linear(fch, inp: ln2, w: p[o.fcw], b: opt(o.fcb), n: n, ic: c, oc: 4 * c)
            try cuda.launch("gelu_forward", grid: blocks(n * 4 * c), [.ptr(fchg), .ptr(fch), .i64(Int64(n * 4 * c))])
            try linear(res3, inp: fchg, w: p[o.fcpw], b: opt(o.fcpb), n: n, ic: 4 * c, oc: c)
            if droppedOut { try dropout(res3, mask: a.mlpMask[l * n * c], count: n * c, seed: seed, site: UInt64(2 + 2 * l)) }
            try add(into: res3, res2, count: n * c)
        }
        let last = cfg.layers == 0 ? a.encoded.address : a.res3[(cfg.layers - 1) * n * c]
        try layerNorm(a.lnf.address, mean: a.lnfMean.address, rstd: a.lnfRstd.address, inp: last, w: p[L.lnfw], b: opt(L.lnfb), n: n, c: c)
        // Tied head: logits = lnf · wteᵀ.
        try cuda.gemm(m: n, n: vocab, k: c, a: a.lnf.address, lda: c, b: p[L.wte], ldb: c, transB: true, c: a.probs.address, ldc: vocab,
                      precision: precision)
        try cuda.launch("crossentropy_forward", grid: n, [.ptr(a.probs.address), .ptr(a.losses.address),
                                                         .ptr(tgt == nil ? 0 : a.targets.address), .i32(Int32(n)), .i32(Int32(vocab))])
        guard tgt != nil else { return 0 }
        let losses = try cuda.download(a.losses.address, count: n, zero: Float(0))
        var s = 0.0
        for x in losses { s += Double(x) }
        return Float(s / Double(n))
    }

    private func dropout(_ x: UInt64, mask: UInt64, count: Int, seed: UInt64, site: UInt64) throws(TrainerError) {
        let p = model.config.dropout
        try cuda.launch("dropout_mask", grid: blocks(count), [.ptr(mask), .i64(Int64(count)), .u64(UInt64(p * 0x1p53)),
                                                             .f32(1 / (1 - Float(p))), .u64(seed), .u64(site)])
        try cuda.launch("multiply", grid: blocks(count), [.ptr(x), .ptr(x), .ptr(mask), .i64(Int64(count))])
    }

    private func add(into dst: UInt64, _ src: UInt64, count: Int) throws(TrainerError) {
        try cuda.launch("residual_add", grid: blocks(count), [.ptr(dst), .ptr(src), .i64(Int64(count))])
    }

    private func layerNorm(_ out: UInt64, mean: UInt64, rstd: UInt64, inp: UInt64, w: UInt64, b: UInt64, n: Int, c: Int) throws(TrainerError) {
        try cuda.launch("layernorm_forward", grid: blocks(n, 8), [.ptr(out), .ptr(mean), .ptr(rstd), .ptr(inp), .ptr(w), .ptr(b),
                                                                 .i32(Int32(n)), .i32(Int32(c))])
    }

    private func linear(_ out: UInt64, inp: UInt64, w: UInt64, b: UInt64, n: Int, ic: Int, oc: Int) throws(TrainerError) {
        try cuda.gemm(m: n, n: oc, k: ic, a: inp, lda: ic, b: w, ldb: oc, c: out, ldc: oc, precision: precision)
        if b != 0 { try cuda.launch("add_bias", grid: blocks(n * oc), [.ptr(out), .ptr(b), .i64(Int64(n * oc)), .i32(Int32(oc))]) }
    }

    private func attentionForward(out: UInt64, att: UInt64, qkv: UInt64, a: DeviceActivations) throws(TrainerError) {
        let cfg = model.config, b = a.b, t = a.t, nh = cfg.heads, hs = cfg.headSize, bh = b * nh
        let dims: [KernelArg] = [.i32(Int32(b)), .i32(Int32(t)), .i32(Int32(nh)), .i32(Int32(hs))]
        try cuda.launch("permute_qkv", grid: blocks(b * t * cfg.width), [.ptr(a.q.address), .ptr(a.k.address), .ptr(a.v.address), .ptr(qkv)] + dims)
        try cuda.gemm(m: t, n: t, k: hs, a: a.q.address, lda: hs, strideA: t * hs, b: a.k.address, ldb: hs, transB: true, strideB: t * hs,
                      c: att, ldc: t, strideC: t * t, alpha: 1 / Float(hs).squareRoot(), batch: bh, precision: precision)
        try cuda.launch("causal_softmax", grid: blocks(bh * t, 8), [.ptr(att), .i64(Int64(bh * t)), .i32(Int32(t))])
        try cuda.gemm(m: t, n: hs, k: t, a: att, lda: t, strideA: t * t, b: a.v.address, ldb: hs, strideB: t * hs,
                      c: a.y.address, ldc: hs, strideC: t * hs, batch: bh, precision: precision)
        try cuda.launch("unpermute", grid: blocks(b * t * cfg.width), [.ptr(out), .ptr(a.y.address)] + dims)
    }

    // MARK: Backward

    func backward(lossScale: Float) throws(TrainerError) {
        guard let a = acts, targetsGiven else { return }
        let cfg = model.config, b = a.b, t = a.t, c = cfg.width, n = b * t, vocab = cfg.vocab, L = model.layout
        let p = params, g = grads
        func opt(_ o: Int) -> UInt64 { o < 0 ? 0 : g[o] }
        try cuda.launch("crossentropy_backward", grid: blocks(n * vocab), [.ptr(a.probs.address), .ptr(a.targets.address),
                                                                          .i32(Int32(n)), .i32(Int32(vocab)), .f32(lossScale / Float(n))])
        // Head: dlnf = dlogits · wte ; dwte += dlogitsᵀ · lnf.
        try cuda.gemm(m: n, n: c, k: vocab, a: a.probs.address, lda: vocab, b: p[L.wte], ldb: c, c: a.dln.address, ldc: c, precision: precision)
        try cuda.gemm(m: vocab, n: c, k: n, a: a.probs.address, lda: vocab, transA: true, b: a.lnf.address, ldb: c, c: g[L.wte], ldc: c,
                      beta: 1, precision: precision)
        try cuda.zero(a.dres.address, floats: n * c)
        let last = cfg.layers == 0 ? a.encoded.address : a.res3[(cfg.layers - 1) * n * c]
        try layerNormBackward(dinp: a.dres.address, dw: g[L.lnfw], db: opt(L.lnfb), dout: a.dln.address, inp: last, w: p[L.lnfw],
                              mean: a.lnfMean.address, rstd: a.lnfRstd.address, n: n, c: c)
        for l in stride(from: cfg.layers - 1, through: 0, by: -1) {
            let o = L.blocks[l]
            let resIn = l == 0 ? a.encoded.address : a.res3[(l - 1) * n * c]
            let ln1 = a.ln1[l * n * c], qkv = a.qkv[l * n * 3 * c], atty = a.atty[l * n * c]
            let att = a.att[l * b * cfg.heads * t * t], res2 = a.res2[l * n * c]
            let ln2 = a.ln2[l * n * c], fch = a.fch[l * n * 4 * c], fchg = a.fchGelu[l * n * 4 * c]
            var branch = a.dres.address
            if droppedOut {
                try cuda.launch("multiply", grid: blocks(n * c), [.ptr(a.dmasked.address), .ptr(a.dres.address), .ptr(a.mlpMask[l * n * c]), .i64(Int64(n * c))])
                branch = a.dmasked.address
            }
            try linearBackward(dinp: a.dfchGelu.address, dw: g[o.fcpw], db: opt(o.fcpb), dout: branch, inp: fchg, w: p[o.fcpw], n: n, ic: 4 * c, oc: c)
            try cuda.launch("gelu_backward", grid: blocks(n * 4 * c), [.ptr(a.dfch.address), .ptr(fch), .ptr(a.dfchGelu.address), .i64(Int64(n * 4 * c))])
            try linearBackward(dinp: a.dln.address, dw: g[o.fcw], db: opt(o.fcb), dout: a.dfch.address, inp: ln2, w: p[o.fcw], n: n, ic: c, oc: 4 * c)
            try layerNormBackward(dinp: a.dres.address, dw: g[o.ln2w], db: opt(o.ln2b), dout: a.dln.address, inp: res2, w: p[o.ln2w],
                                  mean: a.ln2Mean[l * n], rstd: a.ln2Rstd[l * n], n: n, c: c)
            branch = a.dres.address
            if droppedOut {
                try cuda.launch("multiply", grid: blocks(n * c), [.ptr(a.dmasked.address), .ptr(a.dres.address), .ptr(a.attnMask[l * n * c]), .i64(Int64(n * c))])
                branch = a.dmasked.address
            }
            try linearBackward(dinp: a.datty.address, dw: g[o.projw], db: opt(o.projb), dout: branch, inp: atty, w: p[o.projw], n: n, ic: c, oc: c)
            try attentionBackward(dqkv: a.dqkv.address, dout: a.datty.address, qkv: qkv, att: att, a: a)
            try linearBackward(dinp: a.dln.address, dw: g[o.qkvw], db: opt(o.qkvb), dout: a.dqkv.address, inp: ln1, w: p[o.qkvw], n: n, ic: c, oc: 3 * c)
            try layerNormBackward(dinp: a.dres.address, dw: g[o.ln1w], db: opt(o.ln1b), dout: a.dln.address, inp: resIn, w: p[o.ln1w],
                                  mean: a.ln1Mean[l * n], rstd: a.ln1Rstd[l * n], n: n, c: c)
        }
        if droppedOut {
            try cuda.launch("multiply", grid: blocks(n * c), [.ptr(a.dres.address), .ptr(a.dres.address), .ptr(a.embMask.address), .i64(Int64(n * c))])
        }
        try cuda.launch("embedding_backward", grid: blocks(n * c), [.ptr(g[L.wte]), .ptr(g[L.wpe]), .ptr(a.dres.address), .ptr(a.tokens.address),
                                                                   .i32(Int32(n)), .i32(Int32(t)), .i32(Int32(c))])
    }

    private func linearBackward(dinp: UInt64, dw: UInt64, db: UInt64, dout: UInt64, inp: UInt64, w: UInt64, n: Int, ic: Int, oc: Int) throws(TrainerError) {
        try cuda.gemm(m: n, n: ic, k: oc, a: dout, lda: oc, b: w, ldb: oc, transB: true, c: dinp, ldc: ic, precision: precision)
        try cuda.gemm(m: ic, n: oc, k: n, a: inp, lda: ic, transA: true, b: dout, ldb: oc, c: dw, ldc: oc, beta: 1, precision: precision)
        if db != 0 {
            try cuda.launch("bias_backward", grid: blocks(oc, 32), gridY: min(64, max(1, n / 64)), [.ptr(db), .ptr(dout), .i32(Int32(n)), .i32(Int32(oc))])
        }
    }

    private func layerNormBackward(dinp: UInt64, dw: UInt64, db: UInt64, dout: UInt64, inp: UInt64, w: UInt64, mean: UInt64, rstd: UInt64,
                                   n: Int, c: Int) throws(TrainerError) {
        try cuda.launch("layernorm_backward", grid: min(blocks(n, 8), 2 * cuda.multiprocessors), shared: 2 * c * 4,
                        [.ptr(dinp), .ptr(dw), .ptr(db), .ptr(dout), .ptr(inp), .ptr(w), .ptr(mean), .ptr(rstd), .i32(Int32(n)), .i32(Int32(c))])
    }

    private func attentionBackward(dqkv: UInt64, dout: UInt64, qkv: UInt64, att: UInt64, a: DeviceActivations) throws(TrainerError) {
        let cfg = model.config, b = a.b, t = a.t, nh = cfg.heads, hs = cfg.headSize, bh = b * nh
        let dims: [KernelArg] = [.i32(Int32(b)), .i32(Int32(t)), .i32(Int32(nh)), .i32(Int32(hs))]
        let count = b * t * cfg.width
        try cuda.launch("unpermute_backward", grid: blocks(count), [.ptr(a.y.address), .ptr(dout)] + dims)
        try cuda.launch("permute_qkv", grid: blocks(count), [.ptr(a.q.address), .ptr(a.k.address), .ptr(a.v.address), .ptr(qkv)] + dims)
        // dP = dY · Vᵀ ; dV = Pᵀ · dY
        try cuda.gemm(m: t, n: t, k: hs, a: a.y.address, lda: hs, strideA: t * hs, b: a.v.address, ldb: hs, transB: true, strideB: t * hs,
                      c: a.dp.address, ldc: t, strideC: t * t, batch: bh, precision: precision)
        try cuda.gemm(m: t, n: hs, k: t, a: att, lda: t, transA: true, strideA: t * t, b: a.y.address, ldb: hs, strideB: t * hs,
                      c: a.dv.address, ldc: hs, strideC: t * hs, batch: bh, precision: precision)
        try cuda.launch("softmax_backward", grid: blocks(bh * t, 8), [.ptr(a.dp.address), .ptr(att), .i64(Int64(bh * t)), .i32(Int32(t)),
                                                                     .f32(1 / Float(hs).squareRoot())])
        // dQ = dS · K ; dK = dSᵀ · Q
        try cuda.gemm(m: t, n: hs, k: t, a: a.dp.address, lda: t, strideA: t * t, b: a.k.address, ldb: hs, strideB: t * hs,
                      c: a.dq.address, ldc: hs, strideC: t * hs, batch: bh, precision: precision)
        try cuda.gemm(m: t, n: hs, k: t, a: a.dp.address, lda: t, transA: true, strideA: t * t, b: a.q.address, ldb: hs, strideB: t * hs,
                      c: a.dk.address, ldc: hs, strideC: t * hs, batch: bh, precision: precision)
        try cuda.launch("permute_qkv_backward", grid: blocks(count), [.ptr(dqkv), .ptr(a.dq.address), .ptr(a.dk.address), .ptr(a.dv.address)] + dims)
    }

    // MARK: Optimizer, scores, host copies

    func step(_ adam: AdamW, lr: Double) throws(TrainerError) -> Double {
        let blocksUsed = min(normBlocks, blocks(grads.count))
        try cuda.launch("sum_squares", grid: blocksUsed, [.ptr(normPartial.address), .ptr(grads.address), .i64(Int64(grads.count))])
        let partial = try cuda.download(normPartial.address, count: blocksUsed, zero: 0.0)
        let norm = partial.reduce(0, +).squareRoot()
        // The scalars exactly as AdamW.update computes them.
        adam.step += 1
        let config = adam.config
        let clip = config.gradClip > 0 ? min(1, config.gradClip / (norm + 1e-6)) : 1
        let c1 = Float(1 - pow(config.beta1, Double(adam.step))), c2 = Float(1 - pow(config.beta2, Double(adam.step)))
        let stepSize = Float(lr) / c1, invC2 = 1 / c2
        let decayFactor = Float(1 - lr * config.weightDecay)
        for s in segments {
            try cuda.launch("adamw", grid: blocks(s.count), [.ptr(params[s.offset]), .ptr(grads[s.offset]), .ptr(m[s.offset]), .ptr(v[s.offset]),
                                                          .i64(Int64(s.count)), .f32(Float(config.beta1)), .f32(Float(config.beta2)),
                                                          .f32(Float(config.eps)), .f32(stepSize), .f32(invC2),
                                                          .f32(s.decay ? decayFactor : 1), .f32(Float(clip))])
        }
        return norm
    }

    func rowScores(count n: Int) throws(TrainerError) -> (losses: [Float], best: [Int32]) {
        guard let a = acts else { return ([], []) }
        try cuda.launch("row_argmax", grid: n, [.ptr(a.best.address), .ptr(a.probs.address), .i32(Int32(n)), .i32(Int32(model.config.vocab))])
        return (try cuda.download(a.losses.address, count: n, zero: Float(0)), try cuda.download(a.best.address, count: n, zero: Int32(0)))
    }

    func download(_ adam: AdamW?) throws(TrainerError) {
        let bytes = params.count * 4
        try cuda.download(model.params.p, params.address, bytes: bytes)
        if let adam {
            try cuda.download(adam.m.p, m.address, bytes: bytes)
            try cuda.download(adam.v.p, v.address, bytes: bytes)
        }
    }

    func upload(_ adam: AdamW?) throws(TrainerError) {
        let bytes = params.count * 4
        try cuda.upload(params.address, model.params.p, bytes: bytes)
        if let adam {
            try cuda.upload(m.address, adam.m.p, bytes: bytes)
            try cuda.upload(v.address, adam.v.p, bytes: bytes)
        }
    }

    /// The gradients, copied into the host model's `grads` (for the GPU-against-CPU checks).
    func downloadGradients() throws(TrainerError) {
        try cuda.download(model.grads.p, grads.address, bytes: grads.count * 4)
    }
}

/// The GPU copy of `Activations` for one batch shape, plus attention's head-major scratch.
final class DeviceActivations {
    let b: Int, t: Int
    let tokens, targets, best: DeviceBuffer
    let encoded, ln1, ln1Mean, ln1Rstd, qkv, atty, att, res2, ln2, ln2Mean, ln2Rstd, fch, fchGelu, res3: DeviceBuffer
    let lnf, lnfMean, lnfRstd, probs, losses: DeviceBuffer
    let dres, dln, dqkv, datty, dfch, dfchGelu: DeviceBuffer
    let embMask, attnMask, mlpMask, dmasked: DeviceBuffer
    let q, k, v, y, dq, dk, dv, dp: DeviceBuffer

    init(_ cfg: ModelConfig, b: Int, t: Int) throws(TrainerError) {
        self.b = b; self.t = t
        let n = b * t, c = cfg.width, l = cfg.layers
        tokens = try DeviceBuffer(n); targets = try DeviceBuffer(n); best = try DeviceBuffer(n)
        encoded = try DeviceBuffer(n * c)
        ln1 = try DeviceBuffer(l * n * c); ln1Mean = try DeviceBuffer(l * n); ln1Rstd = try DeviceBuffer(l * n)
        qkv = try DeviceBuffer(l * n * 3 * c); atty = try DeviceBuffer(l * n * c)
        att = try DeviceBuffer(l * b * cfg.heads * t * t); res2 = try DeviceBuffer(l * n * c)
        ln2 = try DeviceBuffer(l * n * c); ln2Mean = try DeviceBuffer(l * n); ln2Rstd = try DeviceBuffer(l * n)
        fch = try DeviceBuffer(l * n * 4 * c); fchGelu = try DeviceBuffer(l * n * 4 * c); res3 = try DeviceBuffer(l * n * c)
        lnf = try DeviceBuffer(n * c); lnfMean = try DeviceBuffer(n); lnfRstd = try DeviceBuffer(n)
        probs = try DeviceBuffer(n * cfg.vocab); losses = try DeviceBuffer(n)
        dres = try DeviceBuffer(n * c); dln = try DeviceBuffer(n * c); dqkv = try DeviceBuffer(n * 3 * c)
        datty = try DeviceBuffer(n * c); dfch = try DeviceBuffer(n * 4 * c); dfchGelu = try DeviceBuffer(n * 4 * c)
        let d = cfg.dropout > 0
        embMask = try DeviceBuffer(d ? n * c : 0); attnMask = try DeviceBuffer(d ? l * n * c : 0)
        mlpMask = try DeviceBuffer(d ? l * n * c : 0); dmasked = try DeviceBuffer(d ? n * c : 0)
        q = try DeviceBuffer(n * c); k = try DeviceBuffer(n * c); v = try DeviceBuffer(n * c); y = try DeviceBuffer(n * c)
        dq = try DeviceBuffer(n * c); dk = try DeviceBuffer(n * c); dv = try DeviceBuffer(n * c)
        dp = try DeviceBuffer(b * cfg.heads * t * t)
    }
}

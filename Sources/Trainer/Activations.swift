/// Forward activations and backward scratch for one micro-batch shape `[b, t]`, allocated once
/// and reused every step (no allocation inside a training step).
final class Activations {
    let b: Int, t: Int
    let encoded: FloatBuffer
    // Per layer, each `layers × …` long.
    let ln1, ln1Mean, ln1Rstd, qkv, atty, att, res2, ln2, ln2Mean, ln2Rstd, fch, fchGelu, res3: FloatBuffer
    let lnf, lnfMean, lnfRstd, probs, losses: FloatBuffer
    // Backward scratch.
    let dres, dln, dqkv, datty, dfch, dfchGelu, attScratch, normScratch: FloatBuffer
    // Dropout masks (empty when dropout is off): embeddings, and per layer the two residual branches.
    let embMask, attnMask, mlpMask, dmasked: FloatBuffer

    init(_ cfg: ModelConfig, b: Int, t: Int, par: Parallel) {
        self.b = b; self.t = t
        let n = b * t, c = cfg.width, l = cfg.layers
        encoded = FloatBuffer(n * c)
        ln1 = FloatBuffer(l * n * c); ln1Mean = FloatBuffer(l * n); ln1Rstd = FloatBuffer(l * n)
        qkv = FloatBuffer(l * n * 3 * c); atty = FloatBuffer(l * n * c)
        att = FloatBuffer(l * b * cfg.heads * t * t)
        res2 = FloatBuffer(l * n * c)
        ln2 = FloatBuffer(l * n * c); ln2Mean = FloatBuffer(l * n); ln2Rstd = FloatBuffer(l * n)
        fch = FloatBuffer(l * n * 4 * c); fchGelu = FloatBuffer(l * n * 4 * c)
        res3 = FloatBuffer(l * n * c)
        lnf = FloatBuffer(n * c); lnfMean = FloatBuffer(n); lnfRstd = FloatBuffer(n)
        probs = FloatBuffer(n * cfg.vocab); losses = FloatBuffer(n)
        dres = FloatBuffer(n * c); dln = FloatBuffer(n * c); dqkv = FloatBuffer(n * 3 * c)
        datty = FloatBuffer(n * c); dfch = FloatBuffer(n * 4 * c); dfchGelu = FloatBuffer(n * 4 * c)
        attScratch = FloatBuffer(par.threads * t * t); normScratch = FloatBuffer(par.maxChunks * 2 * c)
        let d = cfg.dropout > 0
        embMask = FloatBuffer(d ? n * c : 0); attnMask = FloatBuffer(d ? l * n * c : 0)
        mlpMask = FloatBuffer(d ? l * n * c : 0); dmasked = FloatBuffer(d ? n * c : 0)
    }

    /// Bytes held by all buffers.
    var bytes: Int {
        [encoded, ln1, ln1Mean, ln1Rstd, qkv, atty, att, res2, ln2, ln2Mean, ln2Rstd, fch, fchGelu, res3,
         lnf, lnfMean, lnfRstd, probs, losses, dres, dln, dqkv, datty, dfch, dfchGelu, attScratch, normScratch,
         embMask, attnMask, mlpMask, dmasked]
            .reduce(0) { $0 + $1.count * 4 }
    }
}

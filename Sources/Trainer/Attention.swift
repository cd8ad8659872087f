/// Causal multi-head self-attention on a packed `qkv[b, t, 3c]` (queries, keys, values), one
/// (batch, head) pair per parallel item, with the two products of each pair in `sgemm`.
enum Attention {
    /// Writes `out[b, t, c]` and the softmax probabilities `att[b, h, t, t]` (zero above the diagonal).
    static func forward(_ par: Parallel, out: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>,
                        qkv: UnsafePointer<Float>, b bsz: Int, t tl: Int, c: Int, heads: Int) {
        let hs = c / heads, c3 = 3 * c
        let scale = 1 / Float(hs).squareRoot()
        par.forEachItem(bsz * heads) { _, bh in
            let b = bh / heads, h = bh % heads
            let q = qkv + b * tl * c3 + h * hs, k = q + c, v = q + 2 * c
            let p = att + bh * tl * tl
            Parallel.gemm(m: tl, n: tl, k: hs, a: q, lda: c3, b: k, ldb: c3, transB: true, c: p, ldc: tl, alpha: scale)
            for r in 0..<tl { causalSoftmax(p + r * tl, valid: r + 1, width: tl) }
            Parallel.gemm(m: tl, n: hs, k: tl, a: p, lda: tl, b: v, ldb: c3, c: out + b * tl * c + h * hs, ldc: c)
        }
    }

    /// Softmax of the first `valid` entries of a row in place; the rest become zero.
    @inline(__always)
    static func causalSoftmax(_ row: UnsafeMutablePointer<Float>, valid: Int, width: Int) {
        var mx = -Float.infinity
        for j in 0..<valid { mx = max(mx, row[j]) }
        var acc = F16(), j = 0
        while j + 16 <= valid {
            let e = VectorMath.exp(row.load16(j) - mx)
            row.store16(j, e); acc += e; j += 16
        }
        var sum = acc.sum()
        while j < valid { let e = VectorMath.exp(row[j] - mx); row[j] = e; sum += e; j += 1 }
        let inv = 1 / sum
        for j in 0..<valid { row[j] *= inv }
        for j in valid..<width { row[j] = 0 }
    }

    /// Writes `dqkv` (overwrite) from `dout[b, t, c]`. `scratch` holds `par.threads * t * t` floats.
    static func backward(_ par: Parallel, dqkv: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                         qkv: UnsafePointer<Float>, att: UnsafePointer<Float>, b bsz: Int, t tl: Int, c: Int,
                         heads: Int, scratch: UnsafeMutablePointer<Float>) {
        let hs = c / heads, c3 = 3 * c
        let scale = 1 / Float(hs).squareRoot()
        par.forEachItem(bsz * heads) { worker, bh in
            let dp = scratch + worker * tl * tl
            do {
                let b = bh / heads, h = bh % heads
                let q = qkv + b * tl * c3 + h * hs, k = q + c, v = q + 2 * c
                let dq = dqkv + b * tl * c3 + h * hs, dk = dq + c, dv = dq + 2 * c
                let p = att + bh * tl * tl, dy = dout + b * tl * c + h * hs
                // dP = dY · Vᵀ ; dV = Pᵀ · dY
                Parallel.gemm(m: tl, n: tl, k: hs, a: dy, lda: c, b: v, ldb: c3, transB: true, c: dp, ldc: tl)
                Parallel.gemm(m: tl, n: hs, k: tl, a: p, lda: tl, transA: true, b: dy, ldb: c, c: dv, ldc: c3)
                // dS = P ⊙ (dP − rowsum(P ⊙ dP)) · scale, zero above the diagonal.
                for r in 0..<tl {
                    let pr = p + r * tl, dr = dp + r * tl
                    var dot: Float = 0
                    for j in 0...r { dot += pr[j] * dr[j] }
                    for j in 0...r { dr[j] = pr[j] * (dr[j] - dot) * scale }
                    for j in (r + 1)..<tl { dr[j] = 0 }
                }
                // dQ = dS · K ; dK = dSᵀ · Q
                Parallel.gemm(m: tl, n: hs, k: tl, a: dp, lda: tl, b: k, ldb: c3, c: dq, ldc: c3)
                Parallel.gemm(m: tl, n: hs, k: tl, a: dp, lda: tl, transA: true, b: q, ldb: c3, c: dk, ldc: c3)
            }
        }
    }
}

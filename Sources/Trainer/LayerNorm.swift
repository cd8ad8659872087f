/// LayerNorm over the last dimension (eps 1e-5), forward and backward.
enum LayerNorm {
    /// `out[n,:] = (x - mean) * rstd * w + b` for each of `n` rows of width `c`; saves mean and rstd.
    static func forward(_ par: Parallel, out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                        rstd: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                        w: UnsafePointer<Float>, b: UnsafePointer<Float>?, n: Int, c: Int) {
        let cv = c & ~15
        par.forEach(n, grain: 16) { r in
            let x = inp + r * c, y = out + r * c
            var acc = F16(), s: Float = 0
            var i = 0
            while i < cv { acc += x.load16(i); i += 16 }
            s = acc.sum(); while i < c { s += x[i]; i += 1 }
            let m = s / Float(c)
            acc = F16(); i = 0
            while i < cv { let d = x.load16(i) - m; acc += d * d; i += 16 }
            var v = acc.sum(); while i < c { let d = x[i] - m; v += d * d; i += 1 }
            let rs = 1 / (v / Float(c) + 1e-5).squareRoot()
            i = 0
            if let b {
                while i < cv { y.store16(i, (x.load16(i) - m) * rs * w.load16(i) + b.load16(i)); i += 16 }
                while i < c { y[i] = (x[i] - m) * rs * w[i] + b[i]; i += 1 }
            } else {
                while i < cv { y.store16(i, (x.load16(i) - m) * rs * w.load16(i)); i += 16 }
                while i < c { y[i] = (x[i] - m) * rs * w[i]; i += 1 }
            }
            mean[r] = m; rstd[r] = rs
        }
    }

    /// Adds the input gradient into `dinp` and the parameter gradients into `dw`/`db`.
    /// `scratch` holds `par.maxChunks * 2 * c` floats for per-chunk partial sums (summed in order).
    static func backward(_ par: Parallel, dinp: UnsafeMutablePointer<Float>, dw: UnsafeMutablePointer<Float>,
                         db: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>, inp: UnsafePointer<Float>,
                         w: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                         n: Int, c: Int, scratch: UnsafeMutablePointer<Float>) {
        let cv = c & ~15
        scratch.update(repeating: 0, count: par.maxChunks * 2 * c)
        par.forEachChunk(n, grain: 16) { t, rows in
            let pdw = scratch + t * 2 * c, pdb = pdw + c
            for r in rows {
                let x = inp + r * c, g = dout + r * c, dx = dinp + r * c
                let m = mean[r], rs = rstd[r]
                var a1 = F16(), a2 = F16()
                var i = 0
                while i < cv {
                    let nrm = (x.load16(i) - m) * rs, dn = g.load16(i) * w.load16(i)
                    a1 += dn; a2 += dn * nrm; i += 16
                }
                var s1 = a1.sum(), s2 = a2.sum()
                while i < c { let nrm = (x[i] - m) * rs, dn = g[i] * w[i]; s1 += dn; s2 += dn * nrm; i += 1 }
                let m1 = s1 / Float(c), m2 = s2 / Float(c)
                i = 0
                while i < cv {
                    let nrm = (x.load16(i) - m) * rs, gi = g.load16(i), dn = gi * w.load16(i)
                    dx.store16(i, dx.load16(i) + (dn - m1 - nrm * m2) * rs)
                    pdw.store16(i, pdw.load16(i) + gi * nrm)
                    pdb.store16(i, pdb.load16(i) + gi)
                    i += 16
                }
                while i < c {
                    let nrm = (x[i] - m) * rs, dn = g[i] * w[i]
                    dx[i] += (dn - m1 - nrm * m2) * rs
                    pdw[i] += g[i] * nrm; pdb[i] += g[i]
                    i += 1
                }
            }
        }
        for t in 0..<par.maxChunks {
            let pdw = scratch + t * 2 * c, pdb = pdw + c
            for i in 0..<c { dw[i] += pdw[i] }
            if let db { for i in 0..<c { db[i] += pdb[i] } }
        }
    }
}

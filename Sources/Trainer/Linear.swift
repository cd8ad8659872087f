/// A linear layer `out[n, oc] = inp[n, ic] · w[ic, oc] + b[oc]` (GPT-2 `Conv1D` layout).
enum Linear {
    /// Below this many rows a product is split over output columns instead of rows, so each chunk
    /// packs only its slice of the weights (splitting rows would repack all of them per chunk).
    static let rowSplitMinimum = 1024

    static func forward(_ par: Parallel, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                        w: UnsafePointer<Float>, b: UnsafePointer<Float>?, n: Int, ic: Int, oc: Int) {
        if n < rowSplitMinimum && par.threads > 1 {
            par.forEachChunk(oc, grain: 16, chunks: par.gemmChunks) { _, cols in
                guard !cols.isEmpty else { return }
                if let b {
                    for r in 0..<n { (out + r * oc + cols.lowerBound).update(from: b + cols.lowerBound, count: cols.count) }
                }
                Parallel.gemm(m: n, n: cols.count, k: ic, a: inp, lda: ic, b: w + cols.lowerBound, ldb: oc,
                              c: out + cols.lowerBound, ldc: oc, accumulate: b != nil)
            }
            return
        }
        par.forEachChunk(n, grain: 16, chunks: par.gemmChunks) { _, rows in
            guard !rows.isEmpty else { return }
            if let b {
                for r in rows { (out + r * oc).update(from: b, count: oc) }
            }
            Parallel.gemm(m: rows.count, n: oc, k: ic, a: inp + rows.lowerBound * ic, lda: ic,
                          b: w, ldb: oc, c: out + rows.lowerBound * oc, ldc: oc, accumulate: b != nil)
        }
    }

    /// Writes `dinp` (overwrite) when given, and adds into `dw` and `db`.
    static func backward(_ par: Parallel, dinp: UnsafeMutablePointer<Float>?, dw: UnsafeMutablePointer<Float>,
                         db: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>, inp: UnsafePointer<Float>,
                         w: UnsafePointer<Float>, n: Int, ic: Int, oc: Int) {
        if let dinp {
            if n < rowSplitMinimum {
                par.gemmCols(m: n, n: ic, k: oc, a: dout, lda: oc, b: w, ldb: oc, transB: true, c: dinp, ldc: ic)
            } else {
                par.gemmRows(m: n, n: ic, k: oc, a: dout, lda: oc, b: w, ldb: oc, transB: true, c: dinp, ldc: ic)
            }
        }
        // Weight and bias gradients, split over output columns: one writer per element.
        par.forEachChunk(oc, grain: 16, chunks: par.gemmChunks) { _, cols in
            guard !cols.isEmpty else { return }
            Parallel.gemm(m: ic, n: cols.count, k: n, a: inp, lda: ic, transA: true,
                          b: dout + cols.lowerBound, ldb: oc, c: dw + cols.lowerBound, ldc: oc, accumulate: true)
            if let db {
                for r in 0..<n {
                    let g = dout + r * oc
                    for j in cols { db[j] += g[j] }
                }
            }
        }
    }
}

import COpenBLAS

/// Row-major matrix products through `cblas_sgemm`, split across `Parallel` chunks so that each
/// output element is computed by exactly one single-threaded sgemm call (deterministic).
extension Parallel {
    /// `c[m,n] (+)= a[m,k] · b[k,n]` with optional transposes, split over the rows of `c`.
    /// `a` is stored `[m,k]` (or `[k,m]` when `transA`), `b` `[k,n]` (or `[n,k]` when `transB`).
    func gemmRows(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
        b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, accumulate: Bool = false
    ) {
        let ta = transA ? CblasTrans : CblasNoTrans, tb = transB ? CblasTrans : CblasNoTrans
        forEachChunk(m, grain: 32, chunks: gemmChunks) { _, rows in
            guard !rows.isEmpty else { return }
            let aOff = transA ? rows.lowerBound : rows.lowerBound * lda
            cblas_sgemm(CblasRowMajor, ta, tb, Int32(rows.count), Int32(n), Int32(k), alpha,
                        a + aOff, Int32(lda), b, Int32(ldb), accumulate ? 1 : 0,
                        c + rows.lowerBound * ldc, Int32(ldc))
        }
    }

    /// Same product split over the columns of `c` (for weight gradients, whose row count is small).
    func gemmCols(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
        b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, accumulate: Bool = false
    ) {
        let ta = transA ? CblasTrans : CblasNoTrans, tb = transB ? CblasTrans : CblasNoTrans
        forEachChunk(n, grain: 64, chunks: gemmChunks) { _, cols in
            guard !cols.isEmpty else { return }
            let bOff = transB ? cols.lowerBound * ldb : cols.lowerBound
            cblas_sgemm(CblasRowMajor, ta, tb, Int32(m), Int32(cols.count), Int32(k), alpha,
                        a, Int32(lda), b + bOff, Int32(ldb), accumulate ? 1 : 0,
                        c + cols.lowerBound, Int32(ldc))
        }
    }

    /// Single-threaded product for use inside an already parallel loop.
    static func gemm(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
        b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, accumulate: Bool = false
    ) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                    accumulate ? 1 : 0, c, Int32(ldc))
    }
}

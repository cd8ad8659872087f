/// Inverted dropout with counter-based masks: element `i` of site `s` is kept when a hash of
/// (seed, s, i) is at least `p`, and then scaled by 1/(1−p). Masks depend only on the seed the
/// training loop derives from (job seed, step, micro-step), so they are independent of threads and
/// need no saved state for exact resume.
enum Dropout {
    /// Writes the mask (0 or 1/(1−p)) for `count` elements of `site`.
    static func mask(_ par: Parallel, into m: UnsafeMutablePointer<Float>, count: Int, p: Float, seed: UInt64, site: UInt64) {
        let scale = 1 / (1 - p)
        let threshold = UInt64(Double(p) * 0x1p53)
        par.forEachChunk(count, grain: 4096) { _, r in
            for i in r {
                var z = seed &+ site &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(i) &* 0xD1B5_4A32_D192_ED03
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                z ^= z >> 31
                m[i] = (z >> 11) >= threshold ? scale : 0
            }
        }
    }

    /// `x[i] *= m[i]` (or into `out` when given).
    static func apply(_ par: Parallel, _ x: UnsafeMutablePointer<Float>, mask m: UnsafePointer<Float>, count: Int,
                      out: UnsafeMutablePointer<Float>? = nil) {
        let dst = out ?? x
        par.forEachChunk(count, grain: 4096) { _, r in
            var i = r.lowerBound
            while i + 16 <= r.upperBound { dst.store16(i, x.load16(i) * m.load16(i)); i += 16 }
            while i < r.upperBound { dst[i] = x[i] * m[i]; i += 1 }
        }
    }
}
